/**
 * Placement is a pure function of (services, live nodes), and both are
 * fixed by the state digest and the live set. The reconciler keys its last
 * assignment by them and skips the work when nothing changed; the simulator
 * shares one larger cache between its thousands of nodes, which mostly see
 * the same inputs.
 *
 * Below the assignments sits the placement of every member as if live
 * (`MemberPlacement`): it depends on the state alone, not on who is live,
 * so it is keyed by the state digest, and a new live set of the same state
 * (a death, a return) costs only the move of the absent members' replicas.
 */
import type { Assignment, MemberPlacement } from '@minga/scheduler'

export interface PlacementCache {
  get (fingerprint: string): Assignment | undefined
  set (fingerprint: string, assignment: Assignment): void
  /** the members' placement for a state digest, built by `build` when not held */
  members (digest: string, build: () => MemberPlacement): MemberPlacement
}

/** the last `capacity` assignments by fingerprint and `membersCapacity` members' placements by digest, least recently used dropped first */
export class LruPlacementCache implements PlacementCache {
  private readonly items: Lru<Assignment>
  private readonly placements: Lru<MemberPlacement>

  constructor (capacity = 1, membersCapacity = 1) {
    this.items = new Lru(capacity)
    this.placements = new Lru(membersCapacity)
  }

  get (fingerprint: string): Assignment | undefined { return this.items.get(fingerprint) }

  set (fingerprint: string, assignment: Assignment): void { this.items.set(fingerprint, assignment) }

  members (digest: string, build: () => MemberPlacement): MemberPlacement {
    let placement = this.placements.get(digest)
    if (placement === undefined) this.placements.set(digest, placement = build())
    return placement
  }
}

class Lru<T> {
  private readonly items = new Map<string, T>()

  constructor (private readonly capacity: number) {}

  get (key: string): T | undefined {
    const hit = this.items.get(key)
    if (hit !== undefined) {
      this.items.delete(key)
      this.items.set(key, hit)
    }
    return hit
  }

  set (key: string, value: T): void {
    this.items.set(key, value)
    if (this.items.size > this.capacity) this.items.delete(this.items.keys().next().value as string)
  }
}
