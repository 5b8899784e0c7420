/**
 * Which starts wait. The planner starts a replica assigned here that this
 * node does not run whatever the peers report, except a singleton while a
 * live peer reports a copy; so only a singleton's start needs the records of
 * the nodes concerned, and it waits for them: while they have not answered
 * (`pending`, 2 s at most), and while this node, restarted, has not heard of
 * every member yet (`booting`, the boot grace at most), for one of them may
 * run it. Other services start at once: holding them for those records only
 * delayed a failover (0.5–0.8 s of the taker's start on ten real nodes at a
 * load of 15, sim-vs-real).
 */
import type { LiveSet, ReplicaReports } from '../components.js'

/** the services of `singletons` whose starts wait now */
export function heldStarts (singletons: ReadonlySet<string>, liveness: Pick<LiveSet, 'booting'> & Pick<ReplicaReports, 'pending'>): ReadonlySet<string> {
  if (singletons.size === 0 || liveness.booting()) return singletons
  return new Set([...singletons].filter(service => liveness.pending(service)))
}
