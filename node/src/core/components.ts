/**
 * What the core's services read of one another: small interfaces in
 * js-libp2p's components style. A service names in its `…Components` only
 * what it uses (`{ state, clock, liveness: LiveSet }`), never the whole
 * NodeCore, so each room can be tested, simulated and replaced alone. The
 * failure detector (liveness/) implements `LiveSet`, `PeerReports` and
 * `HeartbeatSender`; the reconcile loop (reconcile/) implements
 * `ReconcileView`; the event log (events/) is an `EventSink` to all.
 *
 * A new subsystem (volumes/, ingress/, membership/) takes these as its
 * components, and offers what others read of it as an interface here.
 */
import type { HealthProbe, HeartbeatMessage, Identity, ServiceSpec, State } from '@minga/protocol'
import type { Assignment, DesiredService, StopCause } from '@minga/scheduler'
import type { RuntimeContainer } from '../runtime/types.js'
import type { Clock } from './clock.js'
import type { ComponentLogger } from './logger.js'
import type { MeshEvent } from './mesh-event.js'
import type { Timing } from './timing.js'

/** a member's liveness as this node judges it */
export type PeerStatus = 'alive' | 'suspect' | 'dead'

/** one peer as the failure detector knows it; local times are ms since epoch by this node's clock */
export interface PeerLiveness {
  id: string
  status: PeerStatus
  /** the last heartbeat accepted from it */
  heartbeat?: HeartbeatMessage
  /** local clock when that heartbeat arrived */
  seenAt?: number
  /** local clock when a disconnect report about it arrived, if no heartbeat came since */
  downSince?: number
  /** local clock when it was last declared dead */
  deadAt?: number
  /** since the disconnect, a probe found its address refusing connections: the process is gone */
  refused?: boolean
}

/** a replica as a peer reports it, in the form the planner reads */
export interface PeerReplicaReport { service: string, replica: number, hash: string, healthy: boolean }

/** what changed: the live set (`status`), and the services whose replicas a peer now reports differently */
export interface LivenessChange {
  status: boolean
  services: ReadonlySet<string>
}

export type LivenessListener = (change: LivenessChange) => void

/** the failure detector's verdicts: who is live, since when a peer is dead, and when that changes */
export interface LiveSet {
  /** this node is always alive; a member never heard from is suspect during the boot grace, then dead */
  status: (peer: string) => PeerStatus
  /** members that are alive or suspect, this node included, sorted by peer id */
  live: () => string[]
  /** changes exactly when `live()` or `confirmed()` may answer something else: key caches by it */
  liveKey: () => string
  /** members heard from recently (alive, not suspect), this node included: singletons need a majority of them */
  confirmed: () => number
  /** local ms when the peer was declared dead, if it is dead */
  diedAt: (peer: string) => number | undefined
  /** in the boot grace, with a member not heard from yet: what runs there (a singleton) is not known here */
  booting: () => boolean
  onChange: (listener: LivenessListener) => () => void
}

/** what peers last said of themselves in their heartbeats */
export interface PeerReports {
  peer: (id: string) => PeerLiveness | undefined
  all: () => PeerLiveness[]
  /** the heartbeat this node sent last */
  own: () => HeartbeatMessage | undefined
  /** per peer, its last reported replicas of `service` (dead peers included: filter by `live()`) */
  reportsFor: (service: string) => ReadonlyMap<string, readonly PeerReplicaReport[]>
}

/** tells the mesh at once what this node runs (a heartbeat now) */
export interface HeartbeatSender {
  own: () => HeartbeatMessage | undefined
  beat: () => void
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
