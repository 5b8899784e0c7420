/**
 * The core's timing. Defaults suit meshes of a few to a hundred nodes:
 * heartbeats every second, suspect after 3 s, dead after 5 s, dead after
 * 1.5 s once a peer's connections close with no newer heartbeat (at once
 * if a dial to it is refused: see Liveness.probe); a
 * singleton waits 15 s after its node is declared dead. Larger
 * meshes stretch the heartbeat period (`scaledTiming`) so that a node never
 * receives more than ~100 heartbeats a second; disconnect reports keep
 * failure detection fast regardless.
 */

export interface Timing {
  heartbeatInterval: number
  suspectAfter: number
  deadAfter: number
  /** after a disconnect report, how long without a newer heartbeat before dead */
  downConfirm: number
  syncInterval: number
  reconcileInterval: number
  reconcileDebounce: number
  /**
   * How long a singleton's new owner waits, after the node that ran it is
   * declared dead, before starting it: time for that node, if it is only cut
   * off, to notice it lost the majority (it stops hearing from most nodes at
   * about the moment they stop hearing from it, and counts them out once they
   * are suspect) and to stop its copy (Docker's stop grace is 10 s)
   */
  singletonFence: number
}

export const DEFAULT_TIMING: Timing = {
  heartbeatInterval: 1000,
  suspectAfter: 3000,
  deadAfter: 5000,
  downConfirm: 1500,
  syncInterval: 3000,
  reconcileInterval: 5000,
  reconcileDebounce: 50,
  singletonFence: 15_000
}

const MAX_HEARTBEATS_PER_SECOND = 100

/**
 * `base` stretched for a mesh of `members` nodes: above 100 members, heartbeat and sync periods grow so each node hears at most ~100 heartbeats a second
 */
export function scaledTiming (base: Timing, members: number): Timing {
  const factor = Math.max(1, Math.ceil(members / MAX_HEARTBEATS_PER_SECOND))
  if (factor === 1) return base
  return {
    ...base,
    heartbeatInterval: base.heartbeatInterval * factor,
    suspectAfter: base.suspectAfter * factor,
    deadAfter: base.deadAfter * factor,
    syncInterval: base.syncInterval * factor,
    singletonFence: base.singletonFence + base.suspectAfter * (factor - 1)
  }
}
