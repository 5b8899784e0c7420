/**
 * Heartbeats and the failure detector. Every node publishes a signed
 * heartbeat each period with its capacity, allocation, labels and the
 * replicas it runs and their health. A peer is alive while its heartbeats
 * come, suspect after `suspectAfter` without one, dead after `deadAfter`.
 * A closed connection speeds this up: the node that saw it publishes a
 * `down` report, and a peer with a report and no newer heartbeat is dead
 * after `downConfirm`. Liveness is soft state, never entries.
 */
import { decodeMessage, encodeMessage, signHeartbeat, topics, verifyHeartbeat, type HeartbeatMessage, type Identity, type PeerIdString, type Resources, type State, type WireMessage } from '@minga/protocol'
import type { Clock, Timer } from './clock.js'
import type { EventLog } from './events.js'
import type { Mesh } from './mesh.js'
import type { Timing } from './timing.js'


export type PeerStatus = 'alive' | 'suspect' | 'dead'

export interface LocalReport {
  capacity: Resources
  allocated: Resources
  labels: Record<string, string>
  replicas: HeartbeatMessage['replicas']
  addrs: string[]
}

export interface PeerLiveness {
  id: string
  status: PeerStatus
  /** the last heartbeat accepted from it */
  heartbeat?: HeartbeatMessage
  /** local clock when that heartbeat arrived */
  seenAt?: number
  /** local clock when a disconnect report about it arrived, if no heartbeat came since */
  downSince?: number
}

export interface LivenessInit {
  identity: Identity
  state: State
  mesh: Mesh
  clock: Clock
  timing: Timing
  events: EventLog
  version: string
  report: () => LocalReport
  /** the simulator shares caches of decoded messages and heartbeat verdicts between its nodes */
  decode?: (data: Uint8Array) => WireMessage
  verifyHeartbeat?: (meshId: string, heartbeat: HeartbeatMessage) => boolean
}

/** heartbeats from one peer faster than this share of the period are dropped */
const RATE_LIMIT_SHARE = 0.25

export class Liveness {
  private readonly peers = new Map<string, PeerLiveness>()
  private readonly listeners = new Set<LivenessListener>()
  private readonly timers: Timer[] = []
  private readonly unsubscribe: Array<() => void> = []
  private readonly bootedAt: number
  private seq: number
  private latest?: HeartbeatMessage
  private wasInBootGrace = true
  /** heartbeats refused, by reason */
  readonly dropped = { rate: 0, invalid: 0, stranger: 0, replay: 0 }
  private readonly lastDownFrom = new Map<string, number>()
  private lastRefuted = -Infinity

  constructor (private readonly init: LivenessInit) {
    this.bootedAt = init.clock.now()
    // seq starts from the clock so a restarted node's heartbeats are newer than its old ones
    this.seq = this.bootedAt
  }

  start (): void {
    const { mesh, clock, timing } = this.init
    this.unsubscribe.push(mesh.subscribe(topics.heartbeat(this.init.state.meshId), (data, from) => this.onHeartbeat(data, from)))
    this.unsubscribe.push(mesh.subscribe(topics.down(this.init.state.meshId), (data, from) => this.onDownReport(data, from)))
    this.unsubscribe.push(mesh.onPeer(({ type, peer }) => { if (type === 'disconnect') this.onDisconnect(peer) }))
    this.timers.push(clock.every(timing.heartbeatInterval, () => this.beat()))
    this.timers.push(clock.every(Math.max(100, timing.heartbeatInterval / 2), () => this.evaluate()))
    this.beat()
  }

  stop (): void {
    for (const timer of this.timers.splice(0)) timer.cancel()
    for (const off of this.unsubscribe.splice(0)) off()
  }

  onChange (listener: LivenessListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** the heartbeat this node sent last */
  own (): HeartbeatMessage | undefined {
    return this.latest
  }

  status (peer: string): PeerStatus {
    if (peer === this.init.identity.peerId) return 'alive'
    return this.peers.get(peer)?.status ?? (this.inBootGrace() ? 'suspect' : 'dead')
  }

  /** members that are alive or suspect, this node included */
  live (): string[] {
    const out: string[] = []
    for (const [peer] of this.init.state.members()) {
      if (this.isRevoked(peer)) continue
      if (this.status(peer) !== 'dead') out.push(peer)
    }
    return out
  }

  peer (id: string): PeerLiveness | undefined {
    return this.peers.get(id)
  }

  all (): PeerLiveness[] {
    return [...this.peers.values()]
  }

  /** publish a heartbeat now (also used to refute a false down report) */
  beat (): void {
    const report = this.init.report()
    const { identity, state } = this.init
    this.latest = signHeartbeat(identity, state.meshId, {
      node: identity.peerId,
      seq: ++this.seq,
      time: this.init.clock.now(),
      org: state.memberOrg(identity.peerId) ?? '',
      capacity: report.capacity,
      allocated: report.allocated,
      labels: report.labels,
      replicas: report.replicas,
      version: this.init.version,
      digest: state.digest(),
      addrs: report.addrs
    })
    this.init.mesh.publish(topics.heartbeat(state.meshId), encodeMessage(this.latest))
  }

  private onHeartbeat (data: Uint8Array, from: string): void {
    const { state, clock, timing } = this.init
    if (from === this.init.identity.peerId) return
    if (state.memberOrg(from) === undefined || this.isRevoked(from)) { this.dropped.stranger++; return }
    // a flood costs a map lookup per message, before any parsing or signature check
    const seenAt = this.peers.get(from)?.seenAt
    if (seenAt !== undefined && clock.now() - seenAt < timing.heartbeatInterval * RATE_LIMIT_SHARE) { this.dropped.rate++; return }
    let heartbeat: HeartbeatMessage
    try {
      const message = (this.init.decode ?? decodeMessage)(data)
      if (message.type !== 'heartbeat' || message.node !== from || !(this.init.verifyHeartbeat ?? verifyHeartbeat)(state.meshId, message)) throw new Error('not a valid heartbeat')
      heartbeat = message
    } catch {
      this.dropped.invalid++
      return
    }
    const now = clock.now()
    const previous = this.peers.get(from)
    if (previous?.heartbeat !== undefined) {
      if (heartbeat.seq <= previous.heartbeat.seq) { this.dropped.replay++; return }
    }
    const services = changedServices(previous?.heartbeat, heartbeat)
    const entry: PeerLiveness = { id: from, status: 'alive', heartbeat, seenAt: now }
    this.peers.set(from, entry)
    if (previous?.status !== 'alive') this.emitStatus(from, 'alive', previous === undefined ? 'first heartbeat' : 'heartbeat resumed')
    if (previous?.status !== 'alive' || services.size > 0) this.notify({ status: previous?.status !== 'alive', services })
  }

  private onDisconnect (peer: string): void {
    const known = this.peers.get(peer)
    if (known === undefined || known.status === 'dead') return
    if (this.init.mesh.connections().includes(peer)) return
    this.init.mesh.publish(topics.down(this.init.state.meshId), encodeMessage({ type: 'down', node: peer as PeerIdString, seq: known.heartbeat?.seq ?? 0 }))
    this.markDown(known)
  }

  private onDownReport (data: Uint8Array, from: string): void {
    if (this.init.state.memberOrg(from) === undefined || this.isRevoked(from)) { this.dropped.stranger++; return }
    const now = this.init.clock.now()
    const minGap = this.init.timing.heartbeatInterval * RATE_LIMIT_SHARE
    if (now - (this.lastDownFrom.get(from) ?? -Infinity) < minGap) { this.dropped.rate++; return }
    this.lastDownFrom.set(from, now)
    let report
    try {
      report = (this.init.decode ?? decodeMessage)(data)
    } catch {
      return
    }
    if (report.type !== 'down') return
    if (report.node === this.init.identity.peerId) {
      // refute, but a stream of false reports from many peers gets one extra heartbeat per gap, not one each
      if (now - this.lastRefuted >= minGap) {
        this.lastRefuted = now
        this.beat()
      }
      return
    }
    const known = this.peers.get(report.node)
    if (known === undefined || (known.heartbeat?.seq ?? 0) > report.seq) return
    this.markDown(known)
  }

  private markDown (peer: PeerLiveness): void {
    if (peer.downSince !== undefined) return
    peer.downSince = this.init.clock.now()
    this.evaluate()
  }

  private evaluate (): void {
    const now = this.init.clock.now()
    const { suspectAfter, deadAfter, downConfirm } = this.init.timing
    let changed = false
    for (const peer of this.peers.values()) {
      const age = now - (peer.seenAt ?? 0)
      let status: PeerStatus = 'alive'
      if (age >= deadAfter || (peer.downSince !== undefined && now - peer.downSince >= downConfirm)) status = 'dead'
      else if (age >= suspectAfter || peer.downSince !== undefined) status = 'suspect'
      if (status !== peer.status) {
        const reason = peer.downSince !== undefined ? 'connection closed and no heartbeat since' : `no heartbeat for ${Math.round(age / 100) / 10} s`
        peer.status = status
        this.emitStatus(peer.id, status, reason)
        changed = true
      }
    }
    if (this.wasInBootGrace && !this.inBootGrace()) {
      this.wasInBootGrace = false
      changed = true
    }
    if (changed) this.notify({ status: true, services: NO_SERVICES })
  }

  private inBootGrace (): boolean {
    return this.init.clock.now() - this.bootedAt < this.init.timing.deadAfter
  }

  private isRevoked (peer: string): boolean {
    return this.init.state.revoked(peer) !== undefined
  }

  private emitStatus (peer: string, status: PeerStatus, reason: string): void {
    const kind = status === 'alive' ? 'node-up' : status === 'suspect' ? 'node-suspect' : 'node-dead'
    this.init.events.emit({ time: this.init.clock.now(), node: this.init.identity.peerId, kind, subject: peer, reason })
  }

  private notify (change: LivenessChange): void {
    for (const listener of this.listeners) listener(change)
  }
}

/** what changed: the live set (`status`), and the services whose replicas a peer now reports differently */
export interface LivenessChange {
  status: boolean
  services: ReadonlySet<string>
}

export type LivenessListener = (change: LivenessChange) => void

const NO_SERVICES: ReadonlySet<string> = new Set()

/** per service, the replicas a heartbeat reports, as one comparable string */
function reportsByService (heartbeat: HeartbeatMessage | undefined): Map<string, string> {
  const out = new Map<string, string>()
  for (const r of heartbeat?.replicas ?? []) out.set(r.service, `${out.get(r.service) ?? ''}${r.replica}@${r.hash}:${r.healthy ? 1 : 0},`)
  return out
}

function changedServices (before: HeartbeatMessage | undefined, after: HeartbeatMessage): Set<string> {
  const old = reportsByService(before)
  const now = reportsByService(after)
  const changed = new Set<string>()
  for (const [service, text] of now) if (old.get(service) !== text) changed.add(service)
  for (const service of old.keys()) if (!now.has(service)) changed.add(service)
  return changed
}
