/**
 * Membership timing and its scaling with the mesh's size. The defaults suit
 * 3–200 servers across the internet; the formulas follow HashiCorp
 * memberlist (`util.go`: suspicionTimeout, retransmitLimit, pushPullScale)
 * and Lifeguard (arXiv 1707.00788: the local health multiplier's bound and
 * the confirmations that shorten a suspicion).
 */

export interface MembershipConfig {
  /** one member is probed per period (stretched by the local health multiplier), ms */
  probeInterval: number
  /** a direct probe's ack must come within this (stretched likewise), ms */
  probeTimeout: number
  /**
   * A member that answers no probe, direct or indirect, while its host still
   * accepts TCP connections on its port (`Mesh.probePort`: its process
   * holds the port, its event loop stalls) is accused only once it has been
   * silent this long since its first missed probe: a loaded machine stalls a
   * process for seconds, and a suspicion's few seconds would declare it dead.
   * A host that answers nothing is accused at once, so a vanished host's
   * detection is not slowed; a hung process is declared dead this much later, ms
   */
  stallAllowance: number
  /** members asked to probe a silent target for us */
  indirectChecks: number
  /**
   * the shortest suspicion: `suspicionMult × max(1, log10 n) × probeInterval`;
   * it starts at `suspicionMaxMult` times that and shrinks as independent
   * confirmations arrive (Lifeguard's dogpile)
   */
  suspicionMult: number
  suspicionMaxMult: number
  /** confirmations from other members that take a suspicion down to its shortest */
  suspicionConfirmations: number
  /** an update is sent `retransmitMult × ceil(log10(n + 1))` times by each member that learns it */
  retransmitMult: number
  /** while updates wait, they are sent every `gossipInterval` to `gossipNodes` members, ms */
  gossipInterval: number
  gossipNodes: number
  /** members declared dead are still gossiped to for this long, so they can refute, ms */
  gossipToTheDead: number
  /** a full table exchange with one member, stretched above 32 members (pushPullScale), ms */
  pushPullInterval: number
  /** Lifeguard's local health multiplier: probe interval and timeout stretch up to this factor */
  awarenessMax: number
  /** bytes of updates piggy-backed on one message, at most */
  piggybackBytes: number
  /**
   * after a start, members not heard of yet hold back what depends on them
   * (`booting`: a singleton one of them may run) for at most this long; the
   * join's push-pull usually ends it within a round trip, ms
   */
  bootGrace: number
  /**
   * a member admitted while this node runs that nobody has heard from yet
   * is not accused for this long: between its admission and its own node's
   * start (seconds on a loaded machine) a probe finds it silent or refusing.
   * One that never starts is declared dead after it, ms
   */
  joinGrace: number
}

export const DEFAULT_MEMBERSHIP: MembershipConfig = {
  probeInterval: 500,
  probeTimeout: 500,
  stallAllowance: 5000,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionMaxMult: 6,
  suspicionConfirmations: 2,
  retransmitMult: 4,
  gossipInterval: 200,
  gossipNodes: 3,
  gossipToTheDead: 30_000,
  pushPullInterval: 30_000,
  awarenessMax: 8,
  piggybackBytes: 4096,
  bootGrace: 5000,
  joinGrace: 30_000
}

/** `pushPullScale` starts above this many members */
const PUSH_PULL_SCALE_THRESHOLD = 32

/** the shortest suspicion for `n` members, ms */
export function suspicionTimeout (config: MembershipConfig, n: number): number {
  return Math.round(config.suspicionMult * Math.max(1, Math.log10(Math.max(1, n))) * config.probeInterval)
}

/** how many times each member sends an update on, for `n` members */
export function retransmitLimit (config: MembershipConfig, n: number): number {
  return config.retransmitMult * Math.ceil(Math.log10(n + 1))
}

/** the push-pull period for `n` members: longer as the mesh grows, so its cost per node stays flat, ms */
export function pushPullInterval (config: MembershipConfig, n: number): number {
  if (n <= PUSH_PULL_SCALE_THRESHOLD) return config.pushPullInterval
  return (Math.ceil(Math.log2(n) - Math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1) * config.pushPullInterval
}

/**
 * Lifeguard's remaining suspicion time after `confirmations` of the `wanted`
 * ones: from `max` down to `min` on a log scale (memberlist
 * remainingSuspicionTime), less the time `elapsed` since it began; may be
 * negative (expired). With none `wanted` (nobody else could confirm), `max`
 */
export function remainingSuspicion (confirmations: number, wanted: number, elapsed: number, min: number, max: number): number {
  if (wanted < 1) return max - elapsed
  const fraction = Math.log(confirmations + 1) / Math.log(wanted + 1)
  const timeout = Math.max(min, Math.floor(max - fraction * (max - min)))
  return timeout - elapsed
}
