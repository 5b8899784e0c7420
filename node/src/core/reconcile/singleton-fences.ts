/**
 * Singletons never run twice, even across a partition. A node cut off from
 * most of the mesh stops its singletons as soon as it stops hearing from the
 * others (see Liveness.confirmed), but the others cannot see that happen: a
 * new owner must not start a singleton until the old owner has had time to
 * notice and to stop its copy. So for `singletonFence` ms after the old owner
 * is declared dead, its copy counts as running: from its last report, or,
 * when that report never arrived (it started the singleton just before the
 * cut), from the assignment that placed the singleton there.
 */
import type { Assignment, DesiredService, PeerReplica } from '@minga/scheduler'
import type { Clock } from '../clock.js'
import type { LiveSet } from '../components.js'
import { setOfList } from '../membership/shared-lists.js'

export interface SingletonFencesInit {
  liveness: Pick<LiveSet, 'diedAt'>
  clock: Clock
  /** ms after the old owner's death */
  fence: number
  /** asks for a reconcile pass when a fence ends */
  passAt: (at: number) => void
}

const singletonLists = new WeakMap<readonly DesiredService[], readonly DesiredService[]>()

/** the singletons among the services, found once per services array (desiredServices keeps one per state digest) */
function singletonsOf (services: readonly DesiredService[]): readonly DesiredService[] {
  let found = singletonLists.get(services)
  if (found === undefined) singletonLists.set(services, found = services.filter(s => s.spec.singleton))
  return found
}

/** Fences for singletons whose owner died (see above): its last copy counts as running for `fence` ms after its death */
export class SingletonFences {
  /** singleton id → its dead owner, and until when that owner's copy counts as running */
  private readonly fences = new Map<string, { peer: string, until: number }>()

  constructor (private readonly init: SingletonFencesInit) {}

  /** a new placement: a singleton whose owner died and that now goes elsewhere is fenced */
  moved (before: Assignment, after: Assignment, services: readonly DesiredService[], live: readonly string[]): void {
    // every live-set change comes here on every node: the live list's set and the singletons are derived once per list, not per call
    const liveSet = setOfList(live)
    for (const s of singletonsOf(services)) {
      const owner = before.services[s.id]?.[0] ?? null
      if (owner === null || liveSet.has(owner) || owner === (after.services[s.id]?.[0] ?? null)) continue
      const diedAt = this.init.liveness.diedAt(owner) ?? this.init.clock.now()
      this.fences.set(s.id, { peer: owner, until: diedAt + this.init.fence })
    }
  }

  /** true while a dead peer's reports of singletons still count */
  holds (peer: string): boolean {
    const diedAt = this.init.liveness.diedAt(peer)
    if (diedAt === undefined) return false
    const until = diedAt + this.init.fence
    if (until <= this.init.clock.now()) return false
    this.init.passAt(until)
    return true
  }

  /** adds to `peers` a report of each fenced singleton from its dead owner, as if still running there */
  addCopies (peers: Map<string, PeerReplica[]>, singletons: ReadonlySet<string>, live: ReadonlySet<string>): void {
    const now = this.init.clock.now()
    for (const [service, fence] of this.fences) {
      if (fence.until <= now || live.has(fence.peer)) { this.fences.delete(service); continue }
      if (!singletons.has(service)) continue
      this.init.passAt(fence.until)
      const reports = peers.get(fence.peer) ?? []
      if (!reports.some(r => r.service === service)) peers.set(fence.peer, [...reports, { service, replica: 0, hash: '', healthy: true }])
    }
  }
}
