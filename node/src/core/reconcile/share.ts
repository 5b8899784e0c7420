/**
 * What a reconcile pass reads of the mesh for this node's own share, so that
 * a live-set change that touches none of it starts no pass. Membership
 * tells the reconciler of every live-set change (a member dead, suspected,
 * back), and each used to start a pass on every node: at 1,000 nodes with
 * churn most passes of most nodes planned exactly what the last one had. A
 * pass plans from the services this node runs or is assigned, their slots
 * and standbys in the assignment (now and before the last change), the
 * reports of the peers concerned with them (filtered by the live set), the
 * singleton holds (pending records, the boot grace) and this node's own
 * containers and standbys. After a live-set change the pass can plan
 * something new only if one of these moved: the assignment gave this node
 * another share or standbys, a slot of one of its services changed, a peer
 * among those services' nodes or reporters came or went, a record is
 * pending, or the boot grace ended. Otherwise it plans, announces and warms
 * what the last pass did, and is skipped (the periodic pass still runs).
 */
import type { Assignment } from '@minga/scheduler'
import type { LiveSet, ReplicaReports } from '../components.js'
import { setOfList } from '../membership/shared-lists.js'
import { servicesOn, standbysOn } from './assignment-index.js'

/** what one pass read: the view it planned from and the services it planned for */
export interface Share {
  assignment: Assignment
  previous?: Assignment
  live: readonly string[]
  /** the services this node ran or was assigned */
  mine: ReadonlySet<string>
  booting: boolean
}

/** the view a pass would read now */
export interface ShareView {
  assignment: Assignment
  previous?: Assignment
  live: readonly string[]
}

/**
 * true when a pass on `now` could plan otherwise than the one that read `last` (see above); `observed`: the services
 * of this node's containers now
 */
export function shareTouched (self: string, last: Share, now: ShareView, observed: Iterable<string>, liveness: Pick<LiveSet, 'booting'> & Pick<ReplicaReports, 'reportsFor' | 'pending'>): boolean {
  if (last.booting !== liveness.booting()) return true
  if (now.assignment === last.assignment && now.live === last.live) return false
  const assigned = servicesOn(now.assignment, self)
  if (!sameSet(assigned, servicesOn(last.assignment, self))) return true
  for (const service of observed) if (!last.mine.has(service)) return true
  if (!sameStandbys(standbysOn(now.assignment, self), standbysOn(last.assignment, self))) return true
  const liveNow = setOfList(now.live)
  const liveThen = setOfList(last.live)
  const moved = (peer: string | null): boolean => peer !== null && liveNow.has(peer) !== liveThen.has(peer)
  for (const service of last.mine) {
    if (liveness.pending(service)) return true
    const slots = [now.assignment.services[service], last.assignment.services[service], now.assignment.standby?.[service], last.assignment.standby?.[service]]
    if (!sameSlots(slots[0], slots[1]) || !sameSlots(slots[2], slots[3])) return true
    for (const list of [...slots, now.previous?.services[service], last.previous?.services[service]]) if (list?.some(moved) === true) return true
    for (const peer of liveness.reportsFor(service).keys()) if (moved(peer)) return true
  }
  return false
}

function sameSet (a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a === b) return true
  if (a.size !== b.size) return false
  for (const x of a) if (!b.has(x)) return false
  return true
}

function sameSlots (a: ReadonlyArray<string | null> | undefined, b: ReadonlyArray<string | null> | undefined): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function sameStandbys (a: ReadonlyArray<{ service: string, replica: number }>, b: ReadonlyArray<{ service: string, replica: number }>): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i].service !== b[i].service || a[i].replica !== b[i].replica) return false
  return true
}
