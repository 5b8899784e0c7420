/**
 * Placement is a pure function of (services, live nodes), and both are
 * fixed by the state digest and the live set. The reconciler keys its last
 * assignment by them and skips the work when nothing changed; the simulator
 * shares one larger cache between its thousands of nodes, which mostly see
 * the same inputs.
 */
import type { Assignment } from '@minga/scheduler'

export interface PlacementCache {
  get (fingerprint: string): Assignment | undefined
  set (fingerprint: string, assignment: Assignment): void
}

/** the last `capacity` assignments by fingerprint, least recently used dropped first */
export class LruPlacementCache implements PlacementCache {
  private readonly items = new Map<string, Assignment>()

  constructor (private readonly capacity = 1) {}

  get (fingerprint: string): Assignment | undefined {
    const hit = this.items.get(fingerprint)
    if (hit !== undefined) {
      this.items.delete(fingerprint)
      this.items.set(fingerprint, hit)
    }
    return hit
  }

  set (fingerprint: string, assignment: Assignment): void {
    this.items.set(fingerprint, assignment)
    if (this.items.size > this.capacity) this.items.delete(this.items.keys().next().value as string)
  }
}
