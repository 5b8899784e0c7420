/**
 * The membership room wired for the core: SWIM over the mesh's connections
 * (membership.ts), replica records for the planner (replica-records.ts),
 * clock offsets from probe round trips, peers' state digests from probes
 * (whom to sync with), and reports on demand for the views. What the rest
 * of the core reads of it is the narrow `LiveSet` (who is live, since when
 * dead, a majority, changes) and `reportsFor` (what the nodes concerned
 * with a service run of it).
 */
import { encodeMessage, decodeMessage, protocols, type AliveUpdate, type Identity, type ReportMessage, type State, type WireMessage } from '@minga/protocol'
import type { Clock } from '../clock.js'
import type { EventSink, PeerReplicaReport, PeerStatus } from '../components.js'
import { ClockOffsets } from '../liveness/clock-offset.js'
import type { Mesh } from '../mesh.js'
import type { MembershipConfig } from './config.js'
import { Membership } from './membership.js'
import { ReplicaRecords } from './replica-records.js'
import { memberList } from './shared-lists.js'
import type { Member, RowStore } from './table.js'

export interface MembershipChangeEvent {
  /** the live set or the majority count changed */
  status: boolean
  /** services whose replica records from peers changed */
  services: ReadonlySet<string>
}

export interface MembershipServiceInit {
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
  /** the simulator shares decoded messages, signature verdicts and table chunks between its nodes */
  decode?: (data: Uint8Array) => WireMessage
  verifyAlive?: (meshId: string, update: AliveUpdate) => boolean
  store?: RowStore<Member>
}

/** peers whose last state digest and clock samples are kept: enough to pick a sync peer and a median clock */
const PEERS_KEPT = 64
const NO_SERVICES: ReadonlySet<string> = new Set()

export class MembershipService {
  readonly membership: Membership
  readonly records: ReplicaRecords
  readonly clockOffsets = new ClockOffsets()
  private readonly digests = new Map<string, string>()
  private readonly listeners = new Set<(change: MembershipChangeEvent) => void>()
  private readonly unsubscribe: Array<() => void> = []

  constructor (private readonly init: MembershipServiceInit) {
    const { identity, state, mesh, clock } = init
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
      verifyAlive: init.verifyAlive,
      store: init.store,
      onStatus: (peer, status, reason) => {
        const kind = status === 'alive' ? 'node-up' : status === 'suspect' ? 'node-suspect' : 'node-dead'
        init.events.emit({ time: clock.now(), node: self, kind, subject: peer, reason })
      },
      heard: (peer, info) => {
        this.keep(this.digests, peer, info.digest)
        // a round trip halves into the offset (NTP); a one-way ping only bounds it
        if (info.sentAt !== undefined) this.clockOffsets.sample(peer, info.time, (info.sentAt + info.at) / 2)
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
      decode
    })
  }

  start (): void {
    this.unsubscribe.push(this.membership.onChange(() => this.emit({ status: true, services: NO_SERVICES })))
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

  live (): string[] {
    return this.membership.live() as string[]
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

  onChange (listener: (change: MembershipChangeEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  // --- what peers run and say ------------------------------------------------

  /** per peer, its record of `service` (dead peers included: filter by `live()`) */
  reportsFor (service: string): ReadonlyMap<string, readonly PeerReplicaReport[]> {
    return this.records.reportsFor(service)
  }

  /** the last state digest each recently probed peer gave */
  peerDigests (): ReadonlyMap<string, string> {
    return this.digests
  }

  /** this node's report, as views ask for it */
  ownReport (): ReportMessage {
    return { type: 'report', node: this.init.identity.peerId as ReportMessage['node'], time: this.init.clock.now(), digest: this.init.state.digest(), ...this.init.report() }
  }

  /** the reports of these peers, asked for at once (those that do not answer within the signal are left out) */
  async gather (peers: Iterable<string>, options: { signal?: AbortSignal } = {}): Promise<Map<string, ReportMessage>> {
    const self = this.init.identity.peerId
    const out = new Map<string, ReportMessage>()
    const request = encodeMessage({ type: 'report-request' })
    await Promise.all([...peers].map(async (peer) => {
      if (peer === self) { out.set(peer, this.ownReport()); return }
      try {
        const data = await this.init.mesh.request(peer, protocols.membership(this.init.state.meshId), request, options)
        const report = (this.init.decode ?? ((bytes) => decodeMessage(bytes, { types: ['report'] })))(data)
        if (report.type === 'report' && report.node === peer) out.set(peer, report)
      } catch {}
    }))
    return out
  }

  private keep (map: Map<string, string>, peer: string, value: string): void {
    map.delete(peer)
    map.set(peer, value)
    if (map.size > PEERS_KEPT) map.delete(map.keys().next().value as string)
  }

  private emit (change: MembershipChangeEvent): void {
    for (const listener of this.listeners) listener(change)
  }
}
