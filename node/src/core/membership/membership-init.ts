/**
 * What a Membership is given (its identity, mesh, clock, and the
 * simulator's shared caches) and what it tells its listeners.
 */
import type { AliveUpdate, Identity, MemberStatus, ReplicasMessage, ReportMessage, WireMessage } from '@minga/protocol'
import type { Clock } from '../clock.js'
import type { Mesh } from '../mesh.js'
import type { MembershipConfig } from './config.js'
import type { Member, RowStore } from './table.js'

export type MembershipMesh = Pick<Mesh, 'request' | 'handle' | 'onPeer' | 'connections' | 'probe' | 'probePort'>

/** what an answered probe (or a received one) says about a peer: its clock and its state digest */
export interface ProbeInfo {
  /** the peer's clock when it sent the message, ms since the epoch */
  time: number
  digest: string
  /** our clock when the message arrived */
  at: number
  /** our clock when our ping left, for an ack (round trip known) */
  sentAt?: number
}

export interface MembershipInit extends MembershipSharing {
  identity: Identity
  meshId: string
  mesh: MembershipMesh
  clock: Clock
  random: () => number
  /** the admitted, not removed members, this node included, sorted; the same array until they change */
  members: () => readonly string[]
  /** this node's state digest, sent on every probe */
  digest: () => string
  config?: Partial<MembershipConfig>
  /** told of every status change, with the reason in words */
  onStatus?: (peer: string, status: MemberStatus, reason: string) => void
  /** told of every probe answered and every ping received */
  heard?: (peer: string, info: ProbeInfo) => void
  /** told when a member's process start is first known, or a newer one (it restarted) */
  booted?: (peer: string, boot: number) => void
  /** answers `replicas` requests (replica-records.ts) */
  replicas?: (message: ReplicasMessage, from: string) => ReplicasMessage
  /** answers `report-request`s: this node's report, for views */
  report?: () => ReportMessage
}

/** what the simulator shares between its nodes: caches of decoded messages and signature verdicts, the rows of tables that agree */
export interface MembershipSharing {
  decode?: (data: Uint8Array) => WireMessage
  /** the simulator's encode remembers each message's checked copy for its `decode` (no parse of what it just wrote) */
  encode?: (message: WireMessage) => Uint8Array
  verifyAlive?: (meshId: string, update: AliveUpdate) => boolean
  store?: RowStore<Member>
}

export interface MembershipChange {
  /**
   * the live set changed, or whether the confirmed members make a majority
   * of the members (and, while they do not, their count): `quorum()` names
   * what a listener saw
   */
  status: boolean
}

export type MembershipListener = (change: MembershipChange) => void
