/**
 * @packageDocumentation
 *
 * minga's scheduler: the deterministic placement function and the reconcile
 * planner. Pure and synchronous — no I/O, no clock, no randomness — so every
 * node that sees the same services and the same live nodes computes the same
 * assignment, and the mesh needs no leader to agree on who runs what.
 *
 * - {@link place} maps every replica of every service to a node by weighted
 *   rendezvous hashing, under hard limits (capacity, shares, host ports,
 *   constraints, orgs, cordons) and a spread preference (orgs, then nodes).
 *   Older services are placed first; a member that is lost (passed as
 *   `absent`) moves exactly its own replicas, one joining or removed close
 *   to the 1/N of replicas it must. {@link MemberPlacement} gives `place()`'s
 *   result for many live sets of one mesh, placing the members once.
 * - {@link plan} turns the assignment, the desired services, this node's
 *   containers and the peers' heartbeats into start/stop/restart actions:
 *   make before break when a replica moves, stop at once on delete and
 *   scale-down, rolling updates within `update.maxUnavailable`.
 *
 * @example
 * ```ts
 * import { place, plan, replicasOn } from '@minga/scheduler'
 *
 * const assignment = place(services, liveNodes, { memberCount: members.length })
 * for (const u of assignment.unplaced) console.warn(`${u.service}#${u.replica}: ${u.reason}`)
 * console.log(replicasOn(assignment, selfId)) // [{ service: 'acme/web', replica: 0 }, …]
 *
 * const actions = plan({ self: selfId, services, assignment, observed: await runtime.list(), peers: heartbeats })
 * for (const action of actions) await runtime.apply(action) // stops, then restarts, then starts
 * ```
 */
export type {
  Action,
  Assignment,
  DesiredService,
  LocalReplica,
  NodeInfo,
  PeerReplica,
  PlaceOptions,
  PlanInput,
  RestartAction,
  StartAction,
  StopAction,
  StopCause,
  Unplaced,
  UnplacedCause
} from './types.js'
export { place } from './place.js'
export { MemberPlacement, type LiveSetOptions } from './member-placement.js'
export { plan } from './plan.js'
export { replaceableNow } from './rolling.js'
export { isDown, isHealthy, reportOf } from './health.js'
export { loadByNode, movedReplicas, nodeOf, replicasOn } from './assignment.js'
export type { ReplicaRef } from './assignment.js'
export { replicaCount } from './order.js'
export { fmix32 } from './hash.js'
export { matchesConstraints } from './filters.js'
export { DuplicateNodeError, DuplicateServiceError, SchedulerError } from './errors.js'
export { rendezvousChoice, rendezvousOrder } from './rendezvous.js'
export { DEFAULT_BACKUP_COPIES, chooseHolders, rankHolders } from './holders.js'
export type { HolderCandidate, HolderOptions } from './holders.js'
