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
 *
 * A peer's changed replicas are news only for services whose plan reads
 * them (`readsReports`): plan() reads the peers' reports of a service only
 * for a singleton (it starts only once no live peer runs a copy), for a
 * copy here of an outdated hash (rolling updates, a healed partition's
 * newer copy) and for a copy here of a replica assigned elsewhere (it stops
 * once the new owner serves). A node whose copies are current and its own
 * plans nothing new when a sibling starts, stops or turns healthy: while a
 * mesh of 1,000 booted, such reports started ~25 of each node's ~30 passes
 * in its first 5 virtual s.
 */
import type { Assignment, DesiredService } from '@minga/scheduler'
import type { RuntimeContainer } from '../../runtime/types.js'
import type { LiveSet, ReplicaReports } from '../components.js'
import { setOfList } from '../membership/shared-lists.js'
import { servicesOn, standbysOn } from './assignment-index.js'
import { servicesById } from './replicas.js'

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

type ShareLiveness = Pick<LiveSet, 'booting'> & Pick<ReplicaReports, 'reportsFor' | 'pending'>

/**
 * Whether a pass is due: `due()` for a change that needs one whatever it touches (state, runtime, a peer's report
 * that `readsReports`, the periodic pass), else only a live-set change that touches the share the last pass read
 */
export class ShareWatch {
  private last?: Share
  private full = false
  /** live-set changes that touched none of this node's share (no pass) */
  skips = 0

  constructor (private readonly self: string, private readonly liveness: ShareLiveness) {}

  /** the next pass runs whatever it would read */
  due (): void { this.full = true }

  /** true when the pass about to start could plan otherwise than the last one; clears `due()`. `observed`: the services of this node's containers */
  passNeeded (now: () => ShareView, observed: () => Iterable<string>): boolean {
    const needed = this.full || this.last === undefined || shareTouched(this.self, this.last, now(), observed(), this.liveness)
    this.full = false
    if (!needed) this.skips++
    return needed
  }

  /** what a pass planned from */
  read (share: Share): void { this.last = share }
}

/**
 * true when what peers report of `service` can change this node's plan (see above): a singleton it runs or is
 * assigned, or a copy here of an outdated hash or assigned elsewhere. Unknown services and no view yet: true when it
 * runs a copy
 */
export function readsReports (service: string, self: string, view: { assignment: Assignment, services: DesiredService[] } | undefined, observed: readonly RuntimeContainer[]): boolean {
  const desired = view === undefined ? undefined : servicesById(view.services).get(service)
  const here = observed.filter(c => c.service === service)
  if (view === undefined || desired === undefined) return here.length > 0 || view === undefined
  if (desired.spec.singleton) return here.length > 0 || servicesOn(view.assignment, self).has(service)
  const slots = view.assignment.services[service]
  return here.some(c => c.hash !== desired.hash || slots?.[c.replica] !== self)
}

/**
 * true when a pass on `now` could plan otherwise than the one that read `last` (see above); `observed`: the services
 * of this node's containers now
 */
export function shareTouched (self: string, last: Share, now: ShareView, observed: Iterable<string>, liveness: ShareLiveness): boolean {
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
