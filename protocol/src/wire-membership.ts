/**
 * Membership (SWIM with Lifeguard, see node/src/core/membership): the
 * messages of one request/response protocol between members, over the
 * mesh's authenticated connections.
 *
 * - `ping` → `ack`: a probe; both carry the sender's clock (clock offsets)
 *   and state digest (which peer to sync with), and piggy-back updates.
 * - `ping-req` → `ack` | `nack`: probe `target` for me (an indirect probe).
 * - `gossip` → `ack`: updates only, sent while there are updates to spread.
 * - `push-pull` → `push-pull`: the whole member table, first as a digest;
 *   the answer carries the table when the digests differ.
 * - `replicas` → `replicas`: a node's replica reports of some services, sent
 *   straight to the nodes that run or are assigned those services (never
 *   relayed, so `from` authenticates them); the answer is the receiver's own.
 *
 * An update says that a member is alive (signed by that member: nobody can
 * keep a dead node alive), suspect, or dead, at an incarnation.
 */
import { canonicalJson } from './canonical.js'
import { verifySignature, type Identity, type PeerIdString } from './identity.js'
import { SPEC_LIMITS } from './spec-rules.js'
import type { ServiceId } from './spec.js'
import { bool, fail, list, object, pattern, peerId, signature, token, whole } from './wire-check.js'

export interface AliveUpdate {
  kind: 'alive'
  node: PeerIdString
  /** raised by the node itself to refute a suspicion; starts at `boot` */
  inc: number
  /** when this process of the node started (ms since the epoch): a new one drops what the last one reported */
  boot: number
  /** base64 Ed25519 signature by `node` over (mesh, node, inc, boot) */
  sig: string
}

/** `from` suspects `node` at incarnation `inc` (a probe and its indirect probes went unanswered) */
export interface SuspectUpdate {
  kind: 'suspect'
  node: PeerIdString
  inc: number
  from: PeerIdString
}

/** `from` declares `node` dead at `inc`; `from === node` means it left */
export interface DeadUpdate {
  kind: 'dead'
  node: PeerIdString
  inc: number
  from: PeerIdString
}

export type MemberUpdate = AliveUpdate | SuspectUpdate | DeadUpdate

export const MEMBER_STATUSES = ['alive', 'suspect', 'dead', 'left'] as const
export type MemberStatus = typeof MEMBER_STATUSES[number]

/** one row of a push-pull table: the status at `inc`, with the newest alive proof held */
export interface MemberRow {
  node: PeerIdString
  status: MemberStatus
  inc: number
  /** the last alive update held for the node, when one is */
  alive?: { inc: number, boot: number, sig: string }
}

export interface PingMessage {
  type: 'ping'
  /** the sender's clock, ms since the epoch */
  time: number
  /** the sender's state digest */
  digest: string
  updates: MemberUpdate[]
}

export interface AckMessage {
  type: 'ack'
  time: number
  digest: string
  updates: MemberUpdate[]
}

export interface PingReqMessage {
  type: 'ping-req'
  target: PeerIdString
  updates: MemberUpdate[]
}

/** the helper of a ping-req got no ack in time: the requester is not the one cut off */
export interface NackMessage {
  type: 'nack'
}

export interface GossipMessage {
  type: 'gossip'
  updates: MemberUpdate[]
}

export interface PushPullMessage {
  type: 'push-pull'
  /** the sender's member table digest */
  digest: string
  /** the table, absent when only the digest is offered */
  members?: MemberRow[]
}

/** a copy of a replica as the planner reads it (its run state travels only in on-demand reports) */
export interface ReplicaItem {
  replica: number
  /** `containerHash` of the spec the copy was made from */
  hash: string
  healthy: boolean
}

/** what a node runs of one service, version `ver` of its reports (a newer one replaces it; no replicas: it runs none) */
export interface ReplicaRecord {
  service: ServiceId
  ver: number
  replicas: ReplicaItem[]
}

export interface ReplicasMessage {
  type: 'replicas'
  /** the sender's `boot` (see AliveUpdate): records of an older process are dropped */
  boot: number
  records: ReplicaRecord[]
  /** services whose records the sender asks for (besides those it sends) */
  want?: ServiceId[]
}

export type MembershipMessage = PingMessage | AckMessage | PingReqMessage | NackMessage | GossipMessage | PushPullMessage | ReplicasMessage

export const MAX_UPDATES = 64
/** a probe or gossip message, updates included */
export const MAX_PROBE_BYTES = 32 * 1024
export const MAX_TABLE_MEMBERS = 20_000
export const MAX_PUSH_PULL_BYTES = 4 * 1024 * 1024
export const MAX_RECORDS = 2_000
export const MAX_REPLICAS_BYTES = 2 * 1024 * 1024

const SIGNING_DOMAIN = 'minga/alive/1'
const SERVICE_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\/[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const HASH_PATTERN = /^[0-9a-f]{8,64}$/
const STATUSES = new Set<string>(MEMBER_STATUSES)
const encoder = new TextEncoder()

export function aliveSigningBytes (meshId: string, update: Pick<AliveUpdate, 'node' | 'inc' | 'boot'>): Uint8Array {
  return encoder.encode(canonicalJson([SIGNING_DOMAIN, meshId, update.node, update.inc, update.boot]))
}

/** this node's alive update at `inc`, signed */
export function signAlive (identity: Identity, meshId: string, inc: number, boot: number): AliveUpdate {
  const update = { node: identity.peerId, inc: whole(inc, 'alive.inc'), boot: whole(boot, 'alive.boot') }
  return memberUpdate({ kind: 'alive', ...update, sig: Buffer.from(identity.sign(aliveSigningBytes(meshId, update))).toString('base64') }, 'alive') as AliveUpdate
}

/** true when `node` signed this alive update for this mesh; false (never a throw) otherwise */
export function verifyAlive (meshId: string, update: Pick<AliveUpdate, 'node' | 'inc' | 'boot' | 'sig'>): boolean {
  try {
    return verifySignature(update.node, aliveSigningBytes(meshId, update), Buffer.from(update.sig, 'base64'))
  } catch {
    return false
  }
}

const UPDATE_FIELDS = {
  alive: new Set(['kind', 'node', 'inc', 'boot', 'sig']),
  suspect: new Set(['kind', 'node', 'inc', 'from']),
  dead: new Set(['kind', 'node', 'inc', 'from'])
}

/** the fields each part of a membership message may have: one set each, not one per message checked (every probe and its ack) */
const FIELDS = {
  row: new Set(['node', 'status', 'inc', 'alive']),
  rowAlive: new Set(['inc', 'boot', 'sig']),
  record: new Set(['service', 'ver', 'replicas']),
  replica: new Set(['replica', 'hash', 'healthy']),
  ping: new Set(['type', 'time', 'digest', 'updates']),
  ack: new Set(['type', 'time', 'digest', 'updates']),
  'ping-req': new Set(['type', 'target', 'updates']),
  nack: new Set(['type']),
  gossip: new Set(['type', 'updates']),
  'push-pull': new Set(['type', 'digest', 'members']),
  replicas: new Set(['type', 'boot', 'records', 'want'])
}

/**
 * The brand of an update that passed `memberUpdate()`, which returns it frozen. An update is forwarded many times
 * (piggy-backed until its retransmit limit) and every encode checks its message again: a frozen, branded one cannot
 * have changed since it passed, so it is not checked again. Decoded updates and this node's own alive update
 * (`signAlive`) carry it, with their JSON once it was written (`updateJson`: the simulator's nodes share one update
 * object, so its JSON is written once for all). A symbol: JSON and the field checks never see it
 */
const CHECKED = Symbol('checked member update')

interface Checked { json?: string }
type Branded = MemberUpdate & { readonly [CHECKED]?: Checked }

function memberUpdate (value: unknown, path: string): MemberUpdate {
  if (typeof (value as Branded | null)?.[CHECKED] === 'object' && Object.isFrozen(value)) return value as MemberUpdate
  const kind = (value as Record<string, unknown> | null)?.kind
  if (kind !== 'alive' && kind !== 'suspect' && kind !== 'dead') return fail(`${path}.kind`, 'must be alive, suspect or dead')
  const record = object(value, path, UPDATE_FIELDS[kind])
  const node = peerId(record.node, `${path}.node`)
  const inc = whole(record.inc, `${path}.inc`)
  return Object.freeze(kind === 'alive'
    ? { kind, node, inc, boot: whole(record.boot, `${path}.boot`), sig: signature(record.sig, `${path}.sig`), [CHECKED]: {} }
    : { kind, node, inc, from: peerId(record.from, `${path}.from`), [CHECKED]: {} })
}

/** an update's JSON, written once per checked update */
function updateJson (update: MemberUpdate): string {
  const box = (update as Branded)[CHECKED]
  if (box === undefined) return JSON.stringify(update)
  return (box.json ??= JSON.stringify(update))
}

const UPDATES_TAIL = '"updates":[]}'

/**
 * `JSON.stringify` of a checked ping, ack, ping-req or gossip (`updates` is their last field, as their checkers build
 * them), with each update's JSON written once (`updateJson`) instead of once per message that carries it
 */
export function membershipJson (message: PingMessage | AckMessage | PingReqMessage | GossipMessage): string {
  const head = JSON.stringify({ ...message, updates: [] })
  if (!head.endsWith(UPDATES_TAIL)) return JSON.stringify(message)
  return `${head.slice(0, -2)}${message.updates.map(updateJson).join(',')}]}`
}

function updates (value: unknown, path: string): MemberUpdate[] {
  return list(value, path, MAX_UPDATES).map((item, i) => memberUpdate(item, `${path}[${i}]`))
}

function row (value: unknown, path: string): MemberRow {
  const record = object(value, path, FIELDS.row)
  const status = record.status
  if (typeof status !== 'string' || !STATUSES.has(status)) fail(`${path}.status`, `must be one of ${MEMBER_STATUSES.join(', ')}`)
  const out: MemberRow = { node: peerId(record.node, `${path}.node`), status: status as MemberStatus, inc: whole(record.inc, `${path}.inc`) }
  if (record.alive !== undefined) {
    const alive = object(record.alive, `${path}.alive`, FIELDS.rowAlive)
    out.alive = { inc: whole(alive.inc, `${path}.alive.inc`), boot: whole(alive.boot, `${path}.alive.boot`), sig: signature(alive.sig, `${path}.alive.sig`) }
    if (out.alive.inc > out.inc) fail(`${path}.alive.inc`, 'must not be above the row\'s inc')
  }
  return out
}

function replicaRecord (value: unknown, path: string): ReplicaRecord {
  const record = object(value, path, FIELDS.record)
  const seen = new Set<number>()
  return {
    service: pattern(record.service, `${path}.service`, SERVICE_ID_PATTERN, 'must be a service id org/name') as ServiceId,
    ver: whole(record.ver, `${path}.ver`),
    replicas: list(record.replicas, `${path}.replicas`, SPEC_LIMITS.maxReplicas).map((item, i) => {
      const at = `${path}.replicas[${i}]`
      const r = object(item, at, FIELDS.replica)
      const replica = whole(r.replica, `${at}.replica`, 0, SPEC_LIMITS.maxReplicas - 1)
      if (seen.has(replica)) fail(`${at}.replica`, 'is listed twice')
      seen.add(replica)
      return { replica, hash: pattern(r.hash, `${at}.hash`, HASH_PATTERN, 'must be a container hash (hex)'), healthy: bool(r.healthy, `${at}.healthy`) }
    })
  }
}

const digest = (value: unknown, path: string): string => token(value, path, 0, 128)

/** field checks of each membership message type; each builds its result with `type` first */
export const membershipCheckers: Record<MembershipMessage['type'], (value: unknown) => MembershipMessage> = {
  ping: (value) => {
    const r = object(value, 'ping', FIELDS.ping)
    return { type: 'ping', time: whole(r.time, 'ping.time'), digest: digest(r.digest, 'ping.digest'), updates: updates(r.updates, 'ping.updates') }
  },
  ack: (value) => {
    const r = object(value, 'ack', FIELDS.ack)
    return { type: 'ack', time: whole(r.time, 'ack.time'), digest: digest(r.digest, 'ack.digest'), updates: updates(r.updates, 'ack.updates') }
  },
  'ping-req': (value) => {
    const r = object(value, 'ping-req', FIELDS['ping-req'])
    return { type: 'ping-req', target: peerId(r.target, 'ping-req.target'), updates: updates(r.updates, 'ping-req.updates') }
  },
  nack: (value) => {
    object(value, 'nack', FIELDS.nack)
    return { type: 'nack' }
  },
  gossip: (value) => {
    const r = object(value, 'gossip', FIELDS.gossip)
    return { type: 'gossip', updates: updates(r.updates, 'gossip.updates') }
  },
  'push-pull': (value) => {
    const r = object(value, 'push-pull', FIELDS['push-pull'])
    const message: PushPullMessage = { type: 'push-pull', digest: digest(r.digest, 'push-pull.digest') }
    if (r.members !== undefined) {
      const seen = new Set<string>()
      message.members = list(r.members, 'push-pull.members', MAX_TABLE_MEMBERS).map((item, i) => {
        const member = row(item, `push-pull.members[${i}]`)
        if (seen.has(member.node)) fail(`push-pull.members[${i}].node`, 'is listed twice')
        seen.add(member.node)
        return member
      })
    }
    return message
  },
  replicas: (value) => {
    const r = object(value, 'replicas', FIELDS.replicas)
    const seen = new Set<string>()
    const message: ReplicasMessage = {
      type: 'replicas',
      boot: whole(r.boot, 'replicas.boot'),
      records: list(r.records, 'replicas.records', MAX_RECORDS).map((item, i) => {
        const record = replicaRecord(item, `replicas.records[${i}]`)
        if (seen.has(record.service)) fail(`replicas.records[${i}].service`, 'is listed twice')
        seen.add(record.service)
        return record
      })
    }
    if (r.want !== undefined) message.want = list(r.want, 'replicas.want', MAX_RECORDS).map((item, i) => pattern(item, `replicas.want[${i}]`, SERVICE_ID_PATTERN, 'must be a service id org/name') as ServiceId)
    return message
  }
}

export const MEMBERSHIP_BYTES: Readonly<Record<MembershipMessage['type'], number>> = {
  ping: MAX_PROBE_BYTES,
  ack: MAX_PROBE_BYTES,
  'ping-req': MAX_PROBE_BYTES,
  nack: 64,
  gossip: MAX_PROBE_BYTES,
  'push-pull': MAX_PUSH_PULL_BYTES,
  replicas: MAX_REPLICAS_BYTES
}

/** the bytes an update takes in a message, for piggy-back budgets: its JSON plus a separator */
export function updateBytes (value: MemberUpdate): number {
  return updateJson(value).length + 1
}
