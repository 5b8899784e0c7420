/**
 * The core's timing. Defaults suit meshes of a few to a hundred nodes:
 * heartbeats every second, suspect after 3 s, dead after 5 s, dead after
 * 1.5 s once a peer's connections close with no newer heartbeat (at once
 * if a dial to it is refused: see Liveness.probe); a
 * singleton waits 15 s after its node is declared dead (`singletonFenceFor`:
 * the arithmetic). Larger
 * meshes stretch the heartbeat period (`scaledTiming`) so that a node never
 * receives more than ~100 heartbeats a second; disconnect reports keep
 * failure detection fast regardless.
 */
import { STOP_GRACE_MS } from '../runtime/constants.js'
import { DEFAULT_SUPERVISOR_BUDGET, hangBoundMs, supervisorBoundMs, type SupervisorBudget } from './supervision/budget.js'

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
   * declared dead, before starting it: long enough for the old copy to be
   * stopped, whichever way its node vanished (`singletonFenceFor`)
   */
  singletonFence: number
}

const BASE_TIMING = {
  heartbeatInterval: 1000,
  suspectAfter: 3000,
  deadAfter: 5000,
  downConfirm: 1500,
  syncInterval: 3000,
  reconcileInterval: 5000,
  reconcileDebounce: 50
}

/** timers fire late on a loaded host; the fence leaves this much to spare */
export const FENCE_SLACK_MS = 1000

/**
 * The singleton fence, from the three ways a holder can vanish while its
 * copy may still run (docs/ARCHITECTURE.md, "One copy means one copy"):
 *
 * - cut off (its process runs, the others cannot reach it): it counts the
 *   others out once they are suspect (`suspectAfter`, plus half a heartbeat
 *   for the failure detector's tick) and stops its copy (Docker's stop
 *   grace `STOP_GRACE_MS`, plus the supervisor's kill margin for the
 *   engine); the others declare it dead `downConfirm` after the cut at the
 *   earliest. 3 + 0.5 + 10 + 2 − 1.5 = 14 s
 * - its daemon died (kill -9, OOM, crash, a stop): its supervisor stops its
 *   containers within `supervisorBoundMs` of the death, and no node declares
 *   it dead before it died. 13.5 s
 * - its daemon hangs: the supervisor stops its containers within
 *   `hangBoundMs` of its last ping; the others declare it dead `deadAfter`
 *   after its last heartbeat (which is at most a heartbeat before its last
 *   ping) at the earliest. 16 − (5 − 1) = 12 s
 *
 * The fence is the longest of the three plus `FENCE_SLACK_MS`: 15 s
 */
export function singletonFenceFor (timing: typeof BASE_TIMING, budget: SupervisorBudget = DEFAULT_SUPERVISOR_BUDGET): number {
  const cutOff = timing.suspectAfter + timing.heartbeatInterval / 2 + STOP_GRACE_MS + budget.killMarginMs - timing.downConfirm
  const died = supervisorBoundMs(budget)
  const hung = hangBoundMs(budget) - (timing.deadAfter - timing.heartbeatInterval)
  return Math.max(cutOff, died, hung) + FENCE_SLACK_MS
}

export const DEFAULT_TIMING: Timing = {
  ...BASE_TIMING,
  singletonFence: singletonFenceFor(BASE_TIMING)
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
