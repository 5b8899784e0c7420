/**
 * The core's timing (membership's own is core/membership/config.ts).
 * Anti-entropy every 3 s, a reconcile pass every 5 s and on every relevant
 * change (debounced 50 ms); a singleton's new owner waits 15 s after its
 * node is declared dead. Meshes over 100 nodes stretch the sync period
 * (`scaledTiming`): the idle checks send a node's marks of every author.
 */

export interface Timing {
  syncInterval: number
  reconcileInterval: number
  reconcileDebounce: number
  /**
   * How long a singleton's new owner waits, after the node that ran it is
   * declared dead, before starting it: time for that node, if it is only cut
   * off, to notice it lost the majority (its requests to most members go
   * unanswered within seconds, and it counts them out: Membership.confirmed)
   * and to stop its copy (Docker's stop grace is 10 s)
   */
  singletonFence: number
}

export const DEFAULT_TIMING: Timing = {
  syncInterval: 3000,
  reconcileInterval: 5000,
  reconcileDebounce: 50,
  singletonFence: 15_000
}

const MEMBERS_PER_SYNC_STEP = 100

/**
 * `base` stretched for a mesh of `members` nodes: above 100 members the sync
 * period grows with the mesh (a round's marks grow with it too)
 */
export function scaledTiming (base: Timing, members: number): Timing {
  const factor = Math.max(1, Math.ceil(members / MEMBERS_PER_SYNC_STEP))
  if (factor === 1) return base
  return { ...base, syncInterval: base.syncInterval * factor }
}
