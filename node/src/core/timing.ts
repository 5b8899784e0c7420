/**
 * The core's timing (membership's own is core/membership/config.ts).
 * Anti-entropy every 3 s, a reconcile pass every 5 s and on every relevant
 * change (debounced 50 ms); a singleton's new owner waits 15 s after its
 * node is declared dead (`singletonFenceFor`: the arithmetic). Meshes over
 * 100 nodes stretch the sync period (`scaledTiming`): the idle checks send
 * a node's marks of every author.
 */
import { STOP_GRACE_MS } from '../runtime/constants.js'
import { DEFAULT_MEMBERSHIP, suspicionTimeout, type MembershipConfig } from './membership/config.js'
import { DEFAULT_SUPERVISOR_BUDGET, hangBoundMs, supervisorBoundMs, type SupervisorBudget } from './supervision/budget.js'

export interface Timing {
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

/** timers fire late on a loaded host; the fence leaves this much to spare */
export const FENCE_SLACK_MS = 1000

/**
 * The singleton fence, from the three ways a holder can vanish while its
 * copy may still run (docs/ARCHITECTURE.md, "One copy means one copy"), and
 * membership's timing (`membership`, core/membership/config.ts). A silent
 * member is declared dead no sooner than a failed probe (`probeTimeout`)
 * plus the shortest suspicion (`suspicionMult × probeInterval`, Lifeguard's
 * floor with every confirmation in): 2.5 s by default.
 *
 * - cut off (its process runs, the others cannot reach it): it counts the
 *   others out of its majority as its requests go unanswered
 *   (Membership.confirmed): its next probe fails (`probeInterval +
 *   probeTimeout`), the suspicion it then gossips goes to `gossipNodes`
 *   members every `gossipInterval`, each miss known after `2 × probeTimeout`;
 *   four rounds reach a majority of 20 (2.8 s). Then it stops its copy
 *   (Docker's stop grace `STOP_GRACE_MS`, plus the supervisor's kill margin
 *   for the engine). 2.8 + 10 + 2 − 2.5 = 12.3 s
 * - its daemon died (kill -9, OOM, crash, a stop): its supervisor stops its
 *   containers within `supervisorBoundMs` of the death, and no node declares
 *   it dead before it died. 13.5 s
 * - its daemon hangs: the supervisor stops its containers within
 *   `hangBoundMs` of its last ping, which came no sooner than the hang; the
 *   others declare it dead at the earliest 2.5 s after the hang (a hung
 *   process's port still accepts connections, so `stallAllowance` more, 5 s,
 *   where its port can be dialled; not counted, as a relayed peer's cannot).
 *   16 − 2.5 = 13.5 s
 *
 * The fence is the longest of the three plus `FENCE_SLACK_MS`, rounded up to
 * a whole second: 15 s. All figures are ms
 */
export function singletonFenceFor (membership: MembershipConfig = DEFAULT_MEMBERSHIP, budget: SupervisorBudget = DEFAULT_SUPERVISOR_BUDGET): number {
  const { probeInterval, probeTimeout, gossipInterval } = membership
  const earliestDead = probeTimeout + suspicionTimeout(membership, 1)
  const countOut = probeInterval + probeTimeout + 2 * probeTimeout + MAJORITY_ROUNDS * gossipInterval
  const cutOff = countOut + STOP_GRACE_MS + budget.killMarginMs - earliestDead
  const died = supervisorBoundMs(budget)
  const hung = hangBoundMs(budget) - earliestDead
  return Math.ceil((Math.max(cutOff, died, hung) + FENCE_SLACK_MS) / 1000) * 1000
}

/** gossip rounds for a cut-off node's misses to reach a majority of 20 members (3 a round) */
const MAJORITY_ROUNDS = 4

export const DEFAULT_TIMING: Timing = {
  syncInterval: 3000,
  reconcileInterval: 5000,
  reconcileDebounce: 50,
  singletonFence: singletonFenceFor()
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
