/**
 * Heartbeats and the failure detector. Every node publishes a signed
 * heartbeat each period with its capacity, allocation, labels and the
 * replicas it runs and their health. A peer is alive while its heartbeats
 * come, suspect after `suspectAfter` without one, dead after `deadAfter`.
 * A closed connection speeds this up: the node that saw it publishes a
 * `down` report, and a peer with a report and no newer heartbeat is dead
 * after `downConfirm`. Liveness is soft state, never entries.
 */
import { decodeMessage, encodeMessage, signHeartbeat, topics, verifyHeartbeat, type HeartbeatMessage, type ReplicaProblemReport, type PeerIdString, type Resources, type WireMessage } from '@minga/protocol'
import type { Timer } from '../clock.js'
import type { CoreComponents, HeartbeatSender, LiveSet, LivenessChange, LivenessListener, PeerLiveness, PeerReplicaReport, PeerReports, PeerStatus } from '../components.js'
import type { Mesh } from '../mesh.js'
import { errorText, type Logger } from '../logger.js'
import { changedServices, reportsOf } from './replica-reports.js'

export type { PeerStatus, PeerLiveness, LivenessChange, LivenessListener, PeerReplicaReport } from '../components.js'

export interface LocalReport {
  capacity: Resources
  allocated: Resources
  labels: Record<string, string>
  replicas: HeartbeatMessage['replicas']
  addrs: string[]
  /** replicas assigned here that cannot run, and why; within the heartbeat's bounds */
  problems?: ReplicaProblemReport[]
}

export interface LivenessComponents extends CoreComponents {
  mesh: Mesh
  version: string
  report: () => LocalReport
  /** told of every heartbeat accepted, with the local time it arrived (the clock offset estimate) */
  heard?: (peer: string, heartbeat: HeartbeatMessage, at: number) => void
  /** the simulator shares caches of decoded messages and heartbeat verdicts between its nodes */
  decode?: (data: Uint8Array) => WireMessage
  verifyHeartbeat?: (meshId: string, heartbeat: HeartbeatMessage) => boolean
}

/** heartbeats from one peer faster than this share of the period are dropped */
const RATE_LIMIT_SHARE = 0.25

/**
 * Heartbeats and the failure detector (see above): publishes this node's signed heartbeat every
 * `heartbeatInterval` ms, judges peers alive, suspect or dead, and tells listeners (`onChange`) when the live set
 * or a peer's replicas change. Drops heartbeats from strangers, replays, floods and bad signatures (`dropped` counts them)
 */
export class Liveness implements LiveSet, PeerReports, HeartbeatSender {
  private readonly peers = new Map<string, PeerLiveness>()
  private readonly listeners = new Set<LivenessListener>()
  private readonly timers: Timer[] = []
  private readonly confirmTimers = new Set<Timer>()
  /** service → peer → the replicas of it that the peer last reported */
  private readonly holders = new Map<string, Map<string, PeerReplicaReport[]>>()
  private readonly unsubscribe: Array<() => void> = []
  private readonly bootedAt: number
  private seq: number
  private latest?: HeartbeatMessage
  private wasInBootGrace = true
  /** bumped whenever a peer enters or leaves the live set (alive or suspect ↔ dead) */
  private liveVersion = 0
  private liveCache?: { key: string, live: string[] }
  /** heartbeats refused, by reason */
  readonly dropped = { rate: 0, invalid: 0, stranger: 0, replay: 0 }
  private readonly lastDownFrom = new Map<string, number>()
  private lastRefuted = -Infinity
  /** members heard from recently (alive, not suspect), this node included: see `confirmed()` */
  private confirmedCount = 1
  private quorum = false
  private quorumDirty = true
  private countedMembers = ''

  private readonly log: Logger

  constructor (private readonly init: LivenessComponents) {
    this.log = init.logger.forComponent('liveness')
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
    this.recount()
    this.beat()
  }

  stop (): void {
    for (const timer of this.timers.splice(0)) timer.cancel()
    for (const timer of this.confirmTimers) timer.cancel()
    this.confirmTimers.clear()
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

  /**
   * Names the current live set: it changes exactly when `live()` may
   * return something else (a status change, the end of the boot grace, or a
   * state change that admits or removes members), so callers key caches by it
   */
  liveKey (): string {
    return `${this.init.state.digest()}|${this.liveVersion}|${this.inBootGrace() ? 1 : 0}`
  }

  /**
   * Members heard from recently (alive, not merely suspect), this node
   * included; during the boot grace, members not heard from yet count too, so
   * a restarted node keeps what it runs until it knows better. Singletons need
   * these to be a majority: a node cut off from most of the mesh counts them
   * out as soon as they are suspect, before the others declare it dead.
   * Recounted on the failure detector's tick; a change of the majority
   * changes `liveKey()`
   */
  confirmed (): number {
    return this.confirmedCount
  }

  booting (): boolean {
    if (!this.inBootGrace()) return false
    const self = this.init.identity.peerId
    for (const id of this.init.state.memberIds()) {
      if (id !== self && !this.peers.has(id) && !this.isRevoked(id)) return true
    }
    return false
  }

  /** when the peer was declared dead, if it is dead */
  diedAt (peer: string): number | undefined {
    const known = this.peers.get(peer)
    return known?.status === 'dead' ? known.deadAt : undefined
  }

  /** members that are alive or suspect, this node included, sorted by peer id */
  live (): string[] {
    const key = this.liveKey()
    if (this.liveCache?.key !== key) {
      const out: string[] = []
      for (const peer of this.init.state.memberIds()) {
        if (this.isRevoked(peer)) continue
        if (this.status(peer) !== 'dead') out.push(peer)
      }
      this.liveCache = { key, live: out.sort() }
    }
    return this.liveCache.live.slice()
  }

  /** per peer, its last reported replicas of `service` (dead peers included: filter by `live()`) */
  reportsFor (service: string): ReadonlyMap<string, readonly PeerReplicaReport[]> {
    return this.holders.get(service) ?? NO_HOLDERS
  }

  private indexReports (peer: string, heartbeat: HeartbeatMessage, changed: ReadonlySet<string>): void {
    const byService = reportsOf(heartbeat)
    for (const service of changed) {
      const reports = byService.get(service)
      let holders = this.holders.get(service)
      if (reports !== undefined) {
        if (holders === undefined) this.holders.set(service, holders = new Map())
        holders.set(peer, reports)
      } else if (holders !== undefined) {
        holders.delete(peer)
        if (holders.size === 0) this.holders.delete(service)
      }
    }
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
      addrs: report.addrs,
      ...(report.problems === undefined || report.problems.length === 0 ? {} : { problems: report.problems })
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
    } catch (err) {
      this.dropped.invalid++
      this.log.trace('dropped a heartbeat from %s: %s', from, errorText(err))
      return
    }
    const now = clock.now()
    const previous = this.peers.get(from)
    if (previous?.heartbeat !== undefined) {
      if (heartbeat.seq <= previous.heartbeat.seq) { this.dropped.replay++; return }
    }
    const services = changedServices(previous?.heartbeat, heartbeat)
    this.init.heard?.(from, heartbeat, now)
    const entry: PeerLiveness = { id: from, status: 'alive', heartbeat, seenAt: now }
    this.peers.set(from, entry)
    this.indexReports(from, heartbeat, services)
    // a peer never heard from counts as live during the boot grace (see status())
    const wasLive = previous === undefined ? this.inBootGrace() : previous.status !== 'dead'
    if (!wasLive) this.liveVersion++
    if (previous?.status !== 'alive') {
      this.quorumDirty = true
      this.emitStatus(from, 'alive', previous === undefined ? 'first heartbeat' : 'heartbeat resumed')
    }
    if (!wasLive || services.size > 0) this.notify({ status: !wasLive, services })
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
    } catch (err) {
      this.log.trace('dropped a down report from %s: %s', from, errorText(err))
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
    this.probe(peer)
    // judge it the moment the confirmation window ends, not at the next tick
    const timer = this.init.clock.after(this.init.timing.downConfirm, () => {
      this.confirmTimers.delete(timer)
      this.evaluate()
    })
    this.confirmTimers.add(timer)
  }

  /**
   * A peer reported down is dialled: if its host refuses the connection, its
   * process is gone (kill -9, a crash) and it is dead now, not after the
   * confirmation window. A heartbeat since, or any other answer, changes nothing
   */
  private probe (peer: PeerLiveness): void {
    const { mesh } = this.init
    if (mesh.probe === undefined || mesh.connections().includes(peer.id)) return
    const since = peer.downSince
    mesh.probe(peer.id).then((result) => {
      if (result !== 'refused' || this.peers.get(peer.id) !== peer || peer.downSince !== since || peer.status === 'dead') return
      peer.refused = true
      this.evaluate()
    }, (err) => { this.log.trace('probe of %s failed: %s', peer.id, errorText(err)) })
  }

  private evaluate (): void {
    const now = this.init.clock.now()
    const { suspectAfter, deadAfter, downConfirm } = this.init.timing
    let changed = false
    for (const peer of this.peers.values()) {
      const age = now - (peer.seenAt ?? 0)
      let status: PeerStatus = 'alive'
      if (age >= deadAfter || (peer.downSince !== undefined && (peer.refused === true || now - peer.downSince >= downConfirm))) status = 'dead'
      else if (age >= suspectAfter || peer.downSince !== undefined) status = 'suspect'
      if (status !== peer.status) {
        const reason = peer.refused === true
          ? 'connection closed and its address refuses connections'
          : peer.downSince !== undefined ? 'connection closed and no heartbeat since' : `no heartbeat for ${Math.round(age / 100) / 10} s`
        if ((peer.status === 'dead') !== (status === 'dead')) {
          this.liveVersion++
          changed = true
        }
        if (status === 'dead') peer.deadAt = now
        peer.status = status
        this.quorumDirty = true
        this.emitStatus(peer.id, status, reason)
      }
    }
    if (this.wasInBootGrace && !this.inBootGrace()) {
      this.wasInBootGrace = false
      this.quorumDirty = true
      changed = true
    }
    const members = `${this.init.state.memberCount}/${this.init.state.revocations}`
    if (members !== this.countedMembers) { this.countedMembers = members; this.quorumDirty = true }
    if (this.quorumDirty && this.recount()) changed = true
    if (changed) this.notify({ status: true, services: NO_SERVICES })
  }

  /** recounts `confirmed()`; true when the majority came or went (the live key then changes) */
  private recount (): boolean {
    this.quorumDirty = false
    const grace = this.inBootGrace()
    const self = this.init.identity.peerId
    let members = 0
    let confirmed = 0
    for (const id of this.init.state.memberIds()) {
      if (this.isRevoked(id)) continue
      members++
      const peer = this.peers.get(id)
      if (id === self || peer?.status === 'alive' || (peer === undefined && grace)) confirmed++
    }
    const before = this.confirmedCount
    this.confirmedCount = Math.max(1, confirmed)
    const quorum = this.confirmedCount * 2 > members
    // without the majority, the count is in the reason a singleton gives for not running
    if (quorum === this.quorum && (quorum || before === this.confirmedCount)) return false
    this.quorum = quorum
    this.liveVersion++
    return true
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

const NO_SERVICES: ReadonlySet<string> = new Set()
const NO_HOLDERS: ReadonlyMap<string, readonly PeerReplicaReport[]> = new Map()
