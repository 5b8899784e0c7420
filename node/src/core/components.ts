/**
 * What the core's services read of one another: small interfaces in
 * js-libp2p's components style. A service names in its `…Components` only
 * what it uses (`{ state, clock, liveness: LiveSet }`), never the whole
 * NodeCore, so each room can be tested, simulated and replaced alone.
 * Membership (membership/) implements `LiveSet`, `ReplicaReports` and
 * `NodeReports`; the reconcile loop (reconcile/) implements
 * `ReconcileView`; the event log (events/) is an `EventSink` to all.
 *
 * A new subsystem (volumes/, ingress/, membership/) takes these as its
 * components, and offers what others read of it as an interface here.
 */
import type { HealthProbe, Identity, ReportMessage, ServiceSpec, State } from '@minga/protocol'
import type { Assignment, DesiredService, StopCause } from '@minga/scheduler'
import type { RuntimeContainer } from '../runtime/types.js'
import type { Clock } from './clock.js'
import type { ComponentLogger } from './logger.js'
import type { MeshEvent } from './mesh-event.js'
import type { Timing } from './timing.js'

/** a member's liveness as this node judges it */
export type PeerStatus = 'alive' | 'suspect' | 'dead'

/** a replica as a peer reports it, in the form the planner reads */
export interface PeerReplicaReport { service: string, replica: number, hash: string, healthy: boolean }

/** what changed: the live set or the majority count (`status`), and the services whose replicas a peer now reports differently */
export interface LivenessChange {
  status: boolean
  services: ReadonlySet<string>
}

export type LivenessListener = (change: LivenessChange) => void

/** membership's verdicts (core/membership): who is live, since when a peer is dead, a majority, and when that changes */
export interface LiveSet {
  /** this node is always alive; a member not heard of yet is assumed alive until probes tell */
  status: (peer: string) => PeerStatus
  /** members that are alive or suspect, this node included, sorted by peer id; the same array until it changes */
  live: () => readonly string[]
  /** names `live()`: equal on nodes that agree on it (placements are shared by it in the simulator), changed whenever it is */
  liveKey: () => string
  /** members alive (not suspect) and reachable from here, this node included: singletons need a majority of them */
  confirmed: () => number
  /** local ms when the peer was declared dead, if it is dead */
  diedAt: (peer: string) => number | undefined
  /** in the boot grace, with a member not heard from yet: what runs there (a singleton) is not known here */
  booting: () => boolean
  onChange: (listener: LivenessListener) => () => void
}

/**
 * What the nodes concerned with a service run of it (membership's replica
 * records): the reconcile loop's inputs, and where it tells what this node runs
 */
export interface ReplicaReports {
  /** per peer, its last record of `service` (dead peers included: filter by `live()`) */
  reportsFor: (service: string) => ReadonlyMap<string, readonly PeerReplicaReport[]>
  /** true while a member of the service's audience has yet to answer what it runs of it */
  pending: (service: string) => boolean
  /** what this node runs now: changed records go to their audiences */
  update: (replicas: ReadonlyArray<{ service: string, replica: number, hash: string, healthy: boolean }>) => void
  /** the services this node runs or is assigned now (after each placement): audiences change, new ones are asked */
  refresh: (concerned: ReadonlySet<string>) => void
}

/** the peers' own reports, asked for when shown (`minga ps`, `ls`, `nodes`, the dashboard) */
export interface NodeReports {
  /** the reports of the live members (this node's own included); those that do not answer in time are left out */
  gather: (options?: { signal?: AbortSignal }) => Promise<ReadonlyMap<string, ReportMessage>>
  /** the last state digest each recently probed peer gave */
  peerDigests: () => ReadonlyMap<string, string>
  /** when that digest was heard (this node's clock, ms); undefined for a peer not in `peerDigests` */
  digestHeardAt: (peer: string) => number | undefined
}

/** what `minga ps` and `status` say is wrong with a replica on this node, as it stands now */
export interface ReplicaNote {
  service: string
  replica: number
  /** in words an operator can act on */
  error: string
  /** local ms when this became true */
  at: number
  /** the last health check, for a copy that fails it */
  probe?: HealthProbe
}

/** what the reconcile loop knows: the desired services, the mesh's assignment, this node's containers */
export interface ReconcileView {
  /** the desired services of the current state (a deploy shows at once) */
  desired: () => DesiredService[]
  /** the assignment of the whole mesh for the current state and live set */
  currentAssignment: () => Assignment
  /** this node's containers as of the last pass (no I/O) */
  containers: () => RuntimeContainer[]
  replicaProblems: () => ReplicaNote[]
  /** `listener` runs when `containers()` may say something new; returns its remover */
  onContainers: (listener: () => void) => () => void
}

/**
 * What the reconcile loop asks of the volumes room (volumes/keeper.ts)
 * around a replica's start and stop, so that data follows its service
 */
export interface VolumeHooks {
  /** before the runtime starts a replica: its volumes brought to the latest snapshot (it may wait for a previous holder; throws when it cannot now) */
  prepare: (spec: ServiceSpec, replica: number) => Promise<void>
  /** runs the stop (`doStop`), then a singleton's final snapshot when the stop moves it on */
  stopReplica: (spec: ServiceSpec | undefined, replica: number, cause: StopCause, doStop: () => Promise<void>) => Promise<void>
  /** what the loop sees running, after each list of the runtime */
  observe: (containers: readonly RuntimeContainer[], desired: (id: string) => DesiredService | undefined) => void
  /** restores and handoff waits under way, for `minga ps` */
  restoreNotes: () => Array<{ service: string, replica: number, text: string }>
}

/** where services tell what they did and saw */
export interface EventSink {
  emit: (event: MeshEvent) => void
}

/** what nearly every service of the core takes */
export interface CoreComponents {
  identity: Identity
  state: State
  clock: Clock
  timing: Timing
  events: EventSink
  /** `logger.forComponent('sync')`: where a service says what it does and what failed (logger.ts) */
  logger: ComponentLogger
}
