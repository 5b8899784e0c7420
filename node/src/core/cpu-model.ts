/**
 * The simulator's model of a node process's CPU. Every step of the core is
 * instant in virtual time unless something charges it: with a model, a
 * node pays a fixed cost for each step that costs a real process CPU (a
 * request or answer read, a gossip message checked and merged, a
 * connection's close, a connection's life from a dial, paid by both ends,
 * a reconcile pass, an API write), runs the step when
 * that work is done, and handles nothing else meanwhile (one event loop).
 * Nodes on one machine share its cores (`CorePool`): ten processes on two
 * cores queue behind each other, as the sim-vs-real bench's ten real
 * processes do. The costs come from `npm run bench -- cpu-costs`, which
 * measures each on real processes (bench/cpu-costs.mjs says how), and
 * what an idle process spends beyond them (`idle`), which slows every step
 * on its machine by the share of the cores it takes.
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
  /** ms of one core a second the processes on this machine spend in the background (`CpuModel.idle`), together */
  private background = 0

  /** `cores`: how many the machine has (1 or more) */
  constructor (readonly cores: number) {
    if (!Number.isInteger(cores) || cores < 1) throw new RangeError(`a machine has 1 or more cores, not ${cores}`)
    this.freeAt = new Float64Array(cores)
  }

  /**
   * `ms` of work that may start at `from` (virtual ms), on the core free first: when it ends. While the
   * machine's processes spend a share of its cores in the background, a step gets the rest, so it takes
   * `ms / (1 − share)` (the kernel shares a core in time slices; the share is capped at 0.9)
   */
  reserve (from: number, ms: number): number {
    let best = 0
    for (let i = 1; i < this.freeAt.length; i++) if (this.freeAt[i] < this.freeAt[best]) best = i
    const share = Math.min(0.9, this.background / 1000 / this.cores)
    const end = Math.max(from, this.freeAt[best]) + ms / (1 - share)
    this.freeAt[best] = end
    return end
  }

  /** a process that spends `msPerSecond` of one core a second in the background runs here; call the result when it dies */
  occupy (msPerSecond: number): () => void {
    if (!(msPerSecond >= 0 && msPerSecond <= 1000)) throw new RangeError(`a process spends 0 to 1000 ms of a core a second, not ${msPerSecond}`)
    this.background += msPerSecond
    let released = false
    return () => { if (!released) { released = true; this.background -= msPerSecond } }
  }
}

/** one node process's CPU: what its steps cost and the cores it runs on */
export interface CpuModel {
  costs: WorkCosts
  /** the machine's cores; a node alone on its machine has a pool of its own */
  cores: CorePool
  /**
   * ms of one core a second the process spends beyond the steps charged (a real one's gossipsub heartbeats,
   * libp2p's timers, its collector) for as long as it lives: the machine's steps get the rest (`CorePool.reserve`)
   */
  idle?: number
}
