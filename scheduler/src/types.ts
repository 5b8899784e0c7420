import type { Resources, ServiceSpec } from '@minga/protocol'

/** A service as the scheduler sees it: the replicated record plus its id and container hash */
export interface DesiredService {
  /** `org/name` */
  id: string
  spec: ServiceSpec
  /** HLC of the first deploy; sorts in time order. Older services are placed first */
  created: string
  /** the container hash (what a container is made of, not how many or where), opaque; a change means a rolling update */
  hash: string
}

/** A live node and its policy, as gossiped in heartbeats and entries */
export interface NodeInfo {
  id: string
  org: string
  capacity: Resources
  labels: Record<string, string>
  cordoned: boolean
  /** organizations whose services this node runs; absent means all */
  acceptOrgs?: string[]
  /** fraction (0..1) of this node's capacity that services of other organizations may use in total; absent means 1 */
  shareForOthers?: number
}

/** which filter left no node: for programs (the planner, the CLI's colours); `reason` is for people */
export type UnplacedCause = 'no-majority' | 'no-nodes' | 'orgs' | 'accept' | 'constraints' | 'cordoned' | 'capacity' | 'share' | 'ports'

export interface Unplaced {
  service: string
  replica: number
  cause: UnplacedCause
  /** human reason, e.g. `no node has 2000m cpu free (largest free: 1500m)` */
  reason: string
}

export interface Assignment {
  /** service id → node id per replica index; null means unplaced */
  services: Record<string, Array<string | null>>
  unplaced: Unplaced[]
  /**
   * with `PlaceOptions.standby`: per replica, the live node that would take
   * it if its owner were gone (the next in its rendezvous order among the
   * live nodes that fit, spread against its siblings where they stand), or
   * null
   */
  standby?: Record<string, Array<string | null>>
}

export interface PlaceOptions {
  /**
   * Number of member nodes in the mesh, live or not. A `singleton` service is
   * placed only when the live nodes passed to `place` are a strict majority of
   * it. Default: the number of live nodes (a caller that sees everyone)
   */
  memberCount?: number
  /**
   * How many of the live nodes the caller heard from recently, not merely
   * suspects it still counts as live. Singletons need these to be a strict
   * majority too, so that a side that is losing sight of the mesh gives its
   * singletons up before the other side declares it dead. Default: all of them
   */
  confirmed?: number
  /** also name each replica's standby node (`Assignment.standby`); costs a second scan per replica */
  standby?: boolean
  /**
   * Members that are not live now (dead, or not heard from), with their node
   * records. The mesh is placed as if they were live, then the replicas they
   * would hold go to live nodes, so that a loss moves only the lost node's
   * replicas (see place.ts). They count towards the default `memberCount`.
   * Default: none (the live nodes alone are placed)
   */
  absent?: readonly NodeInfo[]
}

/** A container observed on this node */
export interface LocalReplica {
  containerId: string
  service: string
  replica: number
  hash: string
  state: 'created' | 'running' | 'exited' | 'starting'
  health: 'healthy' | 'unhealthy' | 'starting' | 'none'
}

/** A replica as a peer reports it in its heartbeat */
export interface PeerReplica {
  service: string
  replica: number
  hash: string
  healthy: boolean
}

export interface PlanInput {
  /** this node's id */
  self: string
  services: DesiredService[]
  assignment: Assignment
  /** containers on this node */
  observed: LocalReplica[]
  /** live peers' heartbeats by node id; may include self (ignored: `observed` is fresher) */
  peers: Map<string, PeerReplica[]>
}

export interface StartAction { type: 'start', service: string, replica: number, hash: string, reason: string }
/**
 * Why a container stops: the service was `deleted`, `scaled-down`, it is a
 * `duplicate`, it makes way for its `update`, it `moved` to another node,
 * its side of a partition has `no-majority` (a singleton), or it holds host
 * `ports` a replica assigned here needs, or (the volumes room asks, not the
 * planner) its volume must be `restore`d to a snapshot chosen elsewhere.
 * What follows a stop depends on it (a singleton's volumes get a final
 * snapshot when it moves on)
 */
export type StopCause = 'deleted' | 'scaled-down' | 'duplicate' | 'update' | 'moved' | 'no-majority' | 'ports' | 'restore'
/** stop and remove the container */
export interface StopAction { type: 'stop', containerId: string, service: string, replica: number, reason: string, cause: StopCause }
/** start the same container again, whether it exited or runs unhealthy */
export interface RestartAction { type: 'restart', containerId: string, service: string, replica: number, reason: string }

export type Action = StartAction | StopAction | RestartAction
