/**
 * Heartbeats: each node's periodic, signed report of its liveness, capacity
 * and replicas, published on gossipsub. Soft state, not entries. The node
 * signs the canonical JSON of `['minga/heartbeat/1', meshId, body]`, so a
 * heartbeat cannot be replayed into another mesh or altered on the way.
 */
import { canonicalJson } from './canonical.js'
import { InvalidMessageError } from './errors.js'
import { verifySignature, type Identity, type PeerIdString } from './identity.js'
import { SPEC_LIMITS } from './spec-rules.js'
import type { ServiceId } from './spec.js'
import { addrs, bool, capacity, fail, labels, list, name, object, pattern, peerId, signature, text, token, whole, type Capacity } from './wire-check.js'

export const REPLICA_STATES = ['pending', 'starting', 'running', 'stopping', 'stopped', 'failed'] as const
export type ReplicaState = typeof REPLICA_STATES[number]

export interface ReplicaReport {
  service: ServiceId
  /** 0-based replica index */
  replica: number
  /** `containerHash` of the spec the replica was made from */
  hash: string
  state: ReplicaState
  healthy: boolean
}

/**
 * a replica this node should run but cannot (e.g. its image is missing), or
 * runs but fails its health check, so every node's `minga ps` shows why
 */
export interface ReplicaProblemReport {
  service: ServiceId
  replica: number
  /** what is wrong, in words an operator can act on */
  error: string
  /** the last health check of a replica that fails it: the probe's exit code (-1 when it timed out) and output */
  probe?: HealthProbe
}

export interface HealthProbe {
  exitCode: number
  /** the probe's output, whitespace collapsed, at most MAX_PROBE_OUTPUT characters */
  output: string
}

export interface HeartbeatMessage {
  type: 'heartbeat'
  node: PeerIdString
  /** increases with every heartbeat of this node */
  seq: number
  /** the node's clock, ms since the epoch */
  time: number
  org: string
  capacity: Capacity
  allocated: Capacity
  labels: Record<string, string>
  replicas: ReplicaReport[]
  /** the node's software version */
  version: string
  /** the node's state digest, to spot disagreement without a sync */
  digest: string
  addrs?: string[]
  /** replicas it cannot run, and why; absent when there are none */
  problems?: ReplicaProblemReport[]
  /** base64 Ed25519 signature by `node` */
  sig: string
}

export type HeartbeatBody = Omit<HeartbeatMessage, 'type' | 'sig'>

export const MAX_HEARTBEAT_REPLICAS = 10_000
export const MAX_HEARTBEAT_PROBLEMS = 100
export const MAX_PROBLEM_LENGTH = 500
export const MAX_PROBE_OUTPUT = 200
/** 10,000 replica reports of about 90 bytes each fit */
export const MAX_HEARTBEAT_BYTES = 1024 * 1024

const SIGNING_DOMAIN = 'minga/heartbeat/1'
const HEARTBEAT_FIELDS = new Set(['type', 'node', 'seq', 'time', 'org', 'capacity', 'allocated', 'labels', 'replicas', 'version', 'digest', 'addrs', 'problems', 'sig'])
const PROBLEM_FIELDS = new Set(['service', 'replica', 'error', 'probe'])
const PROBE_FIELDS = new Set(['exitCode', 'output'])
const REPLICA_FIELDS = new Set(['service', 'replica', 'hash', 'state', 'healthy'])
const SERVICE_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\/[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const HASH_PATTERN = /^[0-9a-f]{8,64}$/
const STATES = new Set<string>(REPLICA_STATES)
const encoder = new TextEncoder()

/** the bytes a heartbeat's signature covers: canonical JSON of the domain, the mesh id and the body */
export function heartbeatSigningBytes (meshId: string, body: HeartbeatBody): Uint8Array {
  return encoder.encode(canonicalJson([SIGNING_DOMAIN, meshId, body]))
}

/** a heartbeat of `body` signed by `identity` for `meshId`; peers verify it with verifyHeartbeat */
export function signHeartbeat (identity: Identity, meshId: string, body: HeartbeatBody): HeartbeatMessage {
  if (body.node !== identity.peerId) throw new InvalidMessageError('A heartbeat must be signed by its own node')
  const clean = checkHeartbeatBody(body)
  const sig = Buffer.from(identity.sign(heartbeatSigningBytes(meshId, clean))).toString('base64')
  return { type: 'heartbeat', ...clean, sig }
}

/** true when `node` signed this heartbeat for this mesh; false (never a throw) otherwise */
export function verifyHeartbeat (meshId: string, heartbeat: HeartbeatMessage): boolean {
  const { type, sig, ...body } = heartbeat
  try {
    return type === 'heartbeat' && verifySignature(body.node, heartbeatSigningBytes(meshId, body), Buffer.from(sig, 'base64'))
  } catch {
    return false
  }
}

/**
 * a heartbeat from the wire, every field checked within its bounds; InvalidMessageError naming the field (the signature is verified separately)
 */
export function checkHeartbeat (value: unknown): HeartbeatMessage {
  const record = object(value, 'heartbeat', HEARTBEAT_FIELDS)
  const { type, sig, ...body } = record
  if (type !== 'heartbeat') fail('heartbeat.type', 'must be "heartbeat"')
  return { type: 'heartbeat', ...checkHeartbeatBody(body), sig: signature(sig, 'heartbeat.sig') }
}

/** a clean copy of a heartbeat's body, in field order, without extra fields */
function checkHeartbeatBody (value: unknown): HeartbeatBody {
  const record = object(value, 'heartbeat', HEARTBEAT_FIELDS)
  const body: HeartbeatBody = {
    node: peerId(record.node, 'heartbeat.node'),
    seq: whole(record.seq, 'heartbeat.seq'),
    time: whole(record.time, 'heartbeat.time'),
    org: name(record.org, 'heartbeat.org'),
    capacity: capacity(record.capacity, 'heartbeat.capacity'),
    allocated: capacity(record.allocated, 'heartbeat.allocated'),
    labels: labels(record.labels, 'heartbeat.labels'),
    replicas: list(record.replicas, 'heartbeat.replicas', MAX_HEARTBEAT_REPLICAS).map((item, i) => replicaReport(item, `heartbeat.replicas[${i}]`)),
    version: token(record.version, 'heartbeat.version', 1, 64),
    digest: token(record.digest, 'heartbeat.digest', 0, 128)
  }
  if (record.addrs !== undefined) body.addrs = addrs(record.addrs, 'heartbeat.addrs')
  if (record.problems !== undefined) body.problems = list(record.problems, 'heartbeat.problems', MAX_HEARTBEAT_PROBLEMS).map((item, i) => problemReport(item, `heartbeat.problems[${i}]`))
  return body
}

function problemReport (value: unknown, path: string): ReplicaProblemReport {
  const record = object(value, path, PROBLEM_FIELDS)
  const problem: ReplicaProblemReport = {
    service: pattern(record.service, `${path}.service`, SERVICE_ID_PATTERN, 'must be a service id org/name') as ServiceId,
    replica: whole(record.replica, `${path}.replica`, 0, SPEC_LIMITS.maxReplicas - 1),
    error: text(record.error, `${path}.error`, MAX_PROBLEM_LENGTH)
  }
  if (record.probe !== undefined) {
    const probe = object(record.probe, `${path}.probe`, PROBE_FIELDS)
    problem.probe = { exitCode: whole(probe.exitCode, `${path}.probe.exitCode`, -1, 255), output: text(probe.output, `${path}.probe.output`, MAX_PROBE_OUTPUT) }
  }
  return problem
}

/** a probe's output as it travels: control characters and runs of whitespace become one space, at most MAX_PROBE_OUTPUT characters */
export function probeOutput (raw: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = raw.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim()
  return flat.length <= MAX_PROBE_OUTPUT ? flat : `${flat.slice(0, MAX_PROBE_OUTPUT - 1)}…`
}

function replicaReport (value: unknown, path: string): ReplicaReport {
  const record = object(value, path, REPLICA_FIELDS)
  const state = record.state
  if (typeof state !== 'string' || !STATES.has(state)) fail(`${path}.state`, `must be one of ${REPLICA_STATES.join(', ')}`)
  return {
    service: pattern(record.service, `${path}.service`, SERVICE_ID_PATTERN, 'must be a service id org/name') as ServiceId,
    replica: whole(record.replica, `${path}.replica`, 0, SPEC_LIMITS.maxReplicas - 1),
    hash: pattern(record.hash, `${path}.hash`, HASH_PATTERN, 'must be a container hash (hex)'),
    state: state as ReplicaState,
    healthy: bool(record.healthy, `${path}.healthy`)
  }
}
