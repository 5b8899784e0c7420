/**
 * A node's report of itself, asked for on demand (`report-request` →
 * `report`) by the views that show the whole mesh (`minga ps`, `ls`,
 * `nodes`, the dashboard): what it runs, how each copy is doing and what is
 * wrong (a failing health check's exit code and output), its capacity,
 * allocation, software version and state digest. Nothing pushes it: a
 * node's placement inputs travel as membership and replica records
 * (wire-membership.ts); this is for people, read when they look. It comes
 * straight from its node over the authenticated connection.
 */
import type { PeerIdString } from './identity.js'
import { SPEC_LIMITS } from './spec-rules.js'
import type { ServiceId } from './spec.js'
import { bool, capacity, fail, list, object, pattern, peerId, text, token, whole, type Capacity } from './wire-check.js'

export const REPLICA_STATES = ['pending', 'starting', 'running', 'stopping', 'stopped', 'failed'] as const
export type ReplicaState = typeof REPLICA_STATES[number]

/** a copy of a replica on the reporting node */
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

export const MAX_REPORT_REPLICAS = 10_000
export const MAX_REPORT_PROBLEMS = 100
export const MAX_PROBLEM_LENGTH = 500
export const MAX_PROBE_OUTPUT = 200
/** 10,000 replica reports of about 90 bytes each fit */
export const MAX_REPORT_BYTES = 1024 * 1024

const PROBLEM_FIELDS = new Set(['service', 'replica', 'error', 'probe'])
const PROBE_FIELDS = new Set(['exitCode', 'output'])
const REPLICA_FIELDS = new Set(['service', 'replica', 'hash', 'state', 'healthy'])
const SERVICE_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\/[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const HASH_PATTERN = /^[0-9a-f]{8,64}$/
const STATES = new Set<string>(REPLICA_STATES)

export interface ReportRequestMessage {
  type: 'report-request'
}

export interface ReportMessage {
  type: 'report'
  node: PeerIdString
  /** the node's clock, ms since the epoch */
  time: number
  /** the node's software version */
  version: string
  capacity: Capacity
  allocated: Capacity
  /** the node's state digest */
  digest: string
  replicas: ReplicaReport[]
  /** replicas it cannot run or that fail their health check, and why; absent when there are none */
  problems?: ReplicaProblemReport[]
}

export type ReportMessages = ReportRequestMessage | ReportMessage

export const REPORT_BYTES: Readonly<Record<ReportMessages['type'], number>> = {
  'report-request': 64,
  report: MAX_REPORT_BYTES
}

export const reportCheckers: Record<ReportMessages['type'], (value: unknown) => ReportMessages> = {
  'report-request': (value) => {
    object(value, 'report-request', new Set(['type']))
    return { type: 'report-request' }
  },
  report: (value) => {
    const r = object(value, 'report', new Set(['type', 'node', 'time', 'version', 'capacity', 'allocated', 'digest', 'replicas', 'problems']))
    const message: ReportMessage = {
      type: 'report',
      node: peerId(r.node, 'report.node'),
      time: whole(r.time, 'report.time'),
      version: token(r.version, 'report.version', 1, 64),
      capacity: capacity(r.capacity, 'report.capacity'),
      allocated: capacity(r.allocated, 'report.allocated'),
      digest: token(r.digest, 'report.digest', 0, 128),
      replicas: list(r.replicas, 'report.replicas', MAX_REPORT_REPLICAS).map((item, i) => replicaReport(item, `report.replicas[${i}]`))
    }
    if (r.problems !== undefined) message.problems = list(r.problems, 'report.problems', MAX_REPORT_PROBLEMS).map((item, i) => problemReport(item, `report.problems[${i}]`))
    return message
  }
}

/** one problem, checked field by field */
export function problemReport (value: unknown, path: string): ReplicaProblemReport {
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

/** one replica copy, checked field by field */
export function replicaReport (value: unknown, path: string): ReplicaReport {
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
