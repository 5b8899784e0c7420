/**
 * The membership room wired for the core: SWIM over the mesh's connections
 * (membership.ts), replica records for the planner (replica-records.ts),
 * clock offsets from probe round trips, peers' state digests from probes
 * (whom to sync with), and reports on demand for the views. What the rest
 * of the core reads of it is the narrow `LiveSet` (who is live, since when
 * dead, a majority, changes) and `reportsFor` (what the nodes concerned
 * with a service run of it).
 */
import { setMaxListeners } from 'node:events'
import { encodeMessage, decodeMessage, protocols, type Identity, type ReportMessage, type State } from '@minga/protocol'
import type { Clock } from '../clock.js'
import type { EventSink, LiveSet, LivenessChange, LivenessListener, NodeReports, PeerReplicaReport, PeerStatus, ReplicaReports } from '../components.js'
import { ClockOffsets } from './clock-offset.js'
import type { Mesh } from '../mesh.js'
import type { MembershipConfig } from './config.js'
import { Membership } from './membership.js'
import { ReplicaRecords } from './replica-records.js'
import { memberList, setOfList } from './shared-lists.js'
import { countingMesh, WireBytes } from './wire-bytes.js'
import type { MembershipSharing } from './membership-init.js'

export interface MembershipServiceInit extends MembershipSharing {
  identity: Identity
  state: State
  mesh: Mesh
  clock: Clock
  events: EventSink
  random: () => number
  config?: Partial<MembershipConfig>
  /** this node's report, for the views that ask (`report-request`) */
  report: () => Omit<ReportMessage, 'type' | 'node' | 'time' | 'digest'>
  /** the live nodes that should hear this node's replica record of a service (the reconciler knows the assignment) */
  audience: (service: string) => Iterable<string>
}

export interface MembershipFigures {
  probes: number
  failed: number
  indirect: number
  refused: number
  /** failed probes held back instead of accusing: the member's port accepts connections (a stall), or this node lagged itself */
  stalled: number
  /** of those, held back because this node's own timers fired late meanwhile */
  lagged: number
  pushPulls: number
  gossips: number
  /** requests refused: from strangers, or not membership messages */
  dropped: number
  /** alive updates refused for a bad signature, and accusations of an impossible incarnation */
  forged: number
  /** alive updates left unchecked: their sender exceeded its share of signature checks */
  throttled: number
  /** Lifeguard's local health score, 0 (healthy) and up */
  health: number
  /** members under suspicion now */
  suspects: number
  records: { sent: number, received: number, failed: number }
  /** bytes of membership messages sent, by message type (wire-bytes.ts) */
  sentBytes: ReadonlyMap<string, number>
}

/** peers whose last state digest and clock samples are kept: enough to pick a sync peer and a median clock */
const PEERS_KEPT = 64
/** reports gathered for one view serve the next ones for this long (`ls` then `ps`, a dashboard refresh), ms */
const REPORTS_FRESH_MS = 1000
/** a peer that has not answered a report request by then is left out of the view, ms */
const REPORT_TIMEOUT_MS = 3000
const NO_SERVICES: ReadonlySet<string> = new Set()

export class MembershipService implements LiveSet, ReplicaReports, NodeReports {
  readonly membership: Membership
  readonly records: ReplicaRecords
  readonly clockOffsets = new ClockOffsets()
  private readonly digests = new Map<string, string>()
  /** when each digest of `digests` was heard, ms */
  private readonly digestTimes = new Map<string, number>()
  /** the member list replica records were last pruned to */
  private retained?: readonly string[]
  private readonly listeners = new Set<LivenessListener>()
  private gathered?: { at: number, reports: Promise<ReadonlyMap<string, ReportMessage>> }
  private readonly unsubscribe: Array<() => void> = []
  private readonly wireBytes = new WireBytes()
  /** the mesh, with the membership messages this node sends counted */
  private readonly mesh: Mesh

  constructor (private readonly init: MembershipServiceInit) {
    const { identity, state, clock } = init
    const mesh = countingMesh(init.mesh, protocols.membership(state.meshId), this.wireBytes)
    this.mesh = mesh
    const self = identity.peerId
    const decode = init.decode === undefined ? undefined : (data: Uint8Array) => init.decode!(data) as any
    this.membership = new Membership({
      identity,
      meshId: state.meshId,
      mesh,
      clock,
      random: init.random,
      members: () => memberList(state),
      digest: () => state.digest(),
      config: init.config,
      decode,
      encode: init.encode,
      verifyAlive: init.verifyAlive,
      store: init.store,
      onStatus: (peer, status, reason) => {
        const kind = status === 'alive' ? 'node-up' : status === 'suspect' ? 'node-suspect' : 'node-dead'
        init.events.emit({ time: clock.now(), node: self, kind, subject: peer, reason })
      },
      heard: (peer, info) => {
        // the times follow the digests' keys (evicted with them); only the digests keep the order heard
        const evicted = this.keep(this.digests, peer, info.digest)
        this.digestTimes.set(peer, info.at)
        if (evicted !== undefined) this.digestTimes.delete(evicted)
        // a round trip halves into the offset (NTP); a one-way ping only bounds it
        if (info.sentAt !== undefined) this.clockOffsets.sample(peer, info.time, info.sentAt, info.at)
      },
      booted: (peer, boot) => this.records.peerBoot(peer, boot),
      replicas: (message, from) => this.records.answer(message, from),
      report: () => this.ownReport()
    })
    this.records = new ReplicaRecords({
      self,
      meshId: state.meshId,
      mesh,
      clock,
      boot: this.membership.own().boot,
      audience: init.audience,
      decode,
      encode: init.encode
    })
  }

  start (): void {
    this.unsubscribe.push(this.membership.onChange(() => {
      // members removed from the mesh: nothing more is kept of them
      const members = memberList(this.init.state)
      if (members !== this.retained) { this.retained = members; this.records.retain(setOfList(members)) }
      this.emit({ status: true, services: NO_SERVICES })
    }))
    this.unsubscribe.push(this.records.onChange((services) => this.emit({ status: false, services })))
    this.membership.start()
  }

  stop (): void {
    for (const off of this.unsubscribe.splice(0)) off()
    this.records.stop()
    this.membership.stop()
  }

  /** tell a few members this node leaves, then stop */
  async leave (): Promise<void> {
    this.records.stop()
    await this.membership.leave()
    for (const off of this.unsubscribe.splice(0)) off()
  }

  /** the replicated membership changed (a join, a removal) */
  membersChanged (): void {
    this.membership.followMembers()
  }

  // --- LiveSet --------------------------------------------------------------

  status (peer: string): PeerStatus {
    const status = this.membership.status(peer)
    return status === 'left' ? 'dead' : status
  }

  live (): readonly string[] {
    return this.membership.live()
  }

  liveKey (): string {
    return this.membership.liveKey()
  }

  confirmed (): number {
    return this.membership.confirmed()
  }

  diedAt (peer: string): number | undefined {
    return this.membership.diedAt(peer)
  }

  booting (): boolean {
    return this.membership.booting()
  }

  onChange (listener: LivenessListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  // --- what peers run and say ------------------------------------------------

  /** per peer, its record of `service` (dead peers included: filter by `live()`) */
  reportsFor (service: string): ReadonlyMap<string, readonly PeerReplicaReport[]> {
    return this.records.reportsFor(service)
  }

  pending (service: string): boolean {
    return this.records.pending(service)
  }

  update (replicas: ReadonlyArray<{ service: string, replica: number, hash: string, healthy: boolean }>): void {
    this.records.update(replicas)
  }

  refresh (concerned: ReadonlySet<string>): void {
    this.records.refresh(concerned)
  }

  /** what membership did and sees, for metrics: probes and their outcomes, refusals, local health, suspects, replica records */
  figures (): MembershipFigures {
    const m = this.membership
    let suspects = 0
    for (const _ of m.members.suspects()) suspects++
    return { ...m.stats, forged: m.members.forged, throttled: m.members.throttled, health: m.awareness.score, suspects, records: { ...this.records.stats }, sentBytes: this.wireBytes.totals() }
  }

  /** the last state digest each recently probed peer gave */
  peerDigests (): ReadonlyMap<string, string> {
    return this.digests
  }

  /** this node's report, as views ask for it */
  ownReport (): ReportMessage {
    return { type: 'report', node: this.init.identity.peerId as ReportMessage['node'], time: this.init.clock.now(), digest: this.init.state.digest(), ...this.init.report() }
  }

  /** the reports of the live members, this node's own included, gathered at most once a second */
  async gather (options: { signal?: AbortSignal } = {}): Promise<ReadonlyMap<string, ReportMessage>> {
    const now = this.init.clock.now()
    if (this.gathered === undefined || now - this.gathered.at > REPORTS_FRESH_MS) {
      this.gathered = { at: now, reports: this.ask(this.live(), options.signal) }
    }
    return await this.gathered.reports
  }

  /** the reports of these peers, asked for at once; those that do not answer within the time limit are left out */
  private async ask (peers: Iterable<string>, signal?: AbortSignal): Promise<ReadonlyMap<string, ReportMessage>> {
    const { identity, state, clock } = this.init
    const mesh = this.mesh
    const out = new Map<string, ReportMessage>()
    const request = encodeMessage({ type: 'report-request' })
    const controller = new AbortController()
    // every live member's request listens on it: no "possible EventTarget memory leak" warning from 11 members on
    setMaxListeners(0, controller.signal)
    const timer = clock.after(REPORT_TIMEOUT_MS, () => controller.abort(new Error('Report requests timed out')))
    const onAbort = (): void => controller.abort(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      await Promise.all([...peers].map(async (peer) => {
        if (peer === identity.peerId) { out.set(peer, this.ownReport()); return }
        try {
          // on the shared stream: a report is a few KB at most meshes (up to 1 MiB). With a stream of its own per report,
          // `minga status` under load (a CI run on 2 cores) missed every peer's report at once in 3 of ~20 runs
          const data = await mesh.request(peer, protocols.membership(state.meshId), request, { signal: controller.signal })
          const report = (this.init.decode ?? ((bytes) => decodeMessage(bytes, { types: ['report'] })))(data)
          if (report.type === 'report' && report.node === peer) out.set(peer, report)
        } catch {
          // a peer that does not answer is left out of the view
        }
      }))
    } finally {
      timer.cancel()
      signal?.removeEventListener('abort', onAbort)
    }
    return out
  }

  digestHeardAt (peer: string): number | undefined {
    return this.digestTimes.get(peer)
  }

  /** `peer`'s value, now the most recent; returns the least recent peer if it was dropped to keep PEERS_KEPT */
  private keep<T> (map: Map<string, T>, peer: string, value: T): string | undefined {
    map.delete(peer)
    map.set(peer, value)
    if (map.size <= PEERS_KEPT) return undefined
    const oldest = map.keys().next().value as string
    map.delete(oldest)
    return oldest
  }

  private emit (change: LivenessChange): void {
    for (const listener of this.listeners) listener(change)
  }
}
