/**
 * Rolling updates without coordination. When a service's container hash changes,
 * every node computes, from the same heartbeats, which replicas may be
 * replaced right now; each node then replaces only those it owns.
 *
 * - A replica is *available* when some live node reports it healthy, with
 *   any hash; it is *current* when one reports it healthy with the new hash.
 * - At most `available - (replicas - maxUnavailable)` replicas may be taken
 *   down at once, and those are the lowest-index available, not-current
 *   ones. Choosing by index makes all nodes pick the same replicas; a node
 *   whose view is stale picks a replica that is already being replaced, which
 *   is harmless, rather than a fresh one.
 * - A replica that is already down is replaced at once: that costs nothing.
 *
 * `maxUnavailable: 0` is a surge instead (`surges`, and plan.ts): the new
 * copy of one replica at a time starts beside the old one, so nothing goes
 * down; the spec check allows it only without host ports (two copies would
 * both bind them) and for services that may run twice for a moment (not
 * singletons). Here it reads as 1, for callers that do not surge.
 */
import { hostPortKeys } from './filters.js'
import { replicaCount } from './order.js'
import type { ServiceSpec } from '@minga/protocol'
import type { DesiredService, PeerReplica } from './types.js'

const AVAILABLE = 1
const CURRENT = 2

/** whether updates of this service start each new copy before stopping the old (`maxUnavailable: 0`) */
export function surges (spec: ServiceSpec): boolean {
  return spec.update?.maxUnavailable === 0 && !spec.singleton && hostPortKeys(spec).length === 0
}

/** replica indices whose outdated, healthy copy may be replaced now */
export function replaceableNow (service: DesiredService, reports: Iterable<PeerReplica>): Set<number> {
  const replicas = replicaCount(service.spec)
  // above the replica count it means all at once (the spec does not tie it to the count, so scaling leaves it alone)
  const maxUnavailable = Math.min(replicas, Math.max(1, Math.floor(service.spec.update?.maxUnavailable ?? 1)))
  const status = new Uint8Array(replicas)
  for (const report of reports) {
    if (!report.healthy || !Number.isInteger(report.replica) || report.replica < 0 || report.replica >= replicas) continue
    status[report.replica] |= report.hash === service.hash ? AVAILABLE | CURRENT : AVAILABLE
  }
  let budget = -(replicas - maxUnavailable)
  for (const s of status) if (s !== 0) budget++
  const chosen = new Set<number>()
  for (let r = 0; r < replicas && budget > 0; r++) {
    if (status[r] === AVAILABLE) {
      chosen.add(r)
      budget--
    }
  }
  return chosen
}
