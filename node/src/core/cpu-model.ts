/**
 * The simulator's model of a node process's CPU. Every step of the core is
 * instant in virtual time unless something charges it: with a model, a
 * node pays a fixed cost for each step that costs a real process CPU (a
 * request or answer read, a gossip message checked and merged, a
 * connection's close, a reconcile pass, an API write), runs the step when
 * that work is done, and handles nothing else meanwhile (one event loop).
 * Nodes on one machine share its cores (`CorePool`): ten processes on two
 * cores queue behind each other, as the sim-vs-real bench's ten real
 * processes do. The costs come from `npm run bench -- cpu-costs`, which
 * measures each on real processes (bench/cpu-costs.mjs says how).
 *
 * A core is taken first come, first served and held for the whole step
 * (the kernel would share it in time slices: the same total, the steps'
 * ends spread differently). Deterministic: no wall clock is read.
 */
import type { WorkStep } from './clock.js'

/** ms of one core each step costs (a missing step costs nothing) */
export type WorkCosts = Partial<Record<WorkStep, number>>

/** the cores of one machine, each free from some virtual time on */
export class CorePool {
  private readonly freeAt: Float64Array

  /** `cores`: how many the machine has (1 or more) */
  constructor (readonly cores: number) {
    if (!Number.isInteger(cores) || cores < 1) throw new RangeError(`a machine has 1 or more cores, not ${cores}`)
    this.freeAt = new Float64Array(cores)
  }

  /** `ms` of work that may start at `from` (virtual ms), on the core free first: when it ends */
  reserve (from: number, ms: number): number {
    let best = 0
    for (let i = 1; i < this.freeAt.length; i++) if (this.freeAt[i] < this.freeAt[best]) best = i
    const end = Math.max(from, this.freeAt[best]) + ms
    this.freeAt[best] = end
    return end
  }
}

/** one node process's CPU: what its steps cost and the cores it runs on */
export interface CpuModel {
  costs: WorkCosts
  /** the machine's cores; a node alone on its machine has a pool of its own */
  cores: CorePool
}
