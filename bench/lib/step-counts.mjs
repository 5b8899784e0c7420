// Counts the steps the simulator's CPU model charges (node/src/core/cpu-model.ts), by virtual-time window.

/**
 * `costs` (a scenario's `cpu.costs`) wrapped so that every step charged while `windowAt(elapsed)` names a window is
 * counted there: `{ costs, counts }`, counts[window][step] = steps charged; `elapsed()` is the run's virtual ms
 * (the cluster's clock, known once the run has started: 0 before)
 */
export function countSteps (costs, elapsed, windowAt) {
  const counts = {}
  const counted = new Proxy(costs, {
    get (target, step) {
      const window = windowAt(elapsed())
      if (window !== undefined) (counts[window] ??= {})[step] = (counts[window][step] ?? 0) + 1
      return target[step]
    }
  })
  return { costs: counted, counts }
}
