/**
 * A debounced, single-flight task: the reconcile pass, the trust upkeep,
 * the re-sealing of secrets. `schedule()` runs it once, `debounceMs` after
 * the first call of a burst; a run asked for while one runs happens right
 * after it (once, however often it was asked); two runs never overlap.
 * Runs only between `start()` and `stop()`; `run()` may be called directly
 * (a test, an operator's command) and follows the same rules.
 */
import type { Clock, Timer } from './clock.js'

/** a debounced, single-flight task (see above): schedule(), run(), start(), stop() */
export class SerialTask<T> {
  private pending?: Timer
  private running = false
  private again = false
  private stopped = true

  /** `idle` is what `run()` answers when it only marks a run for after the current one */
  constructor (
    private readonly clock: Pick<Clock, 'after'>,
    private readonly debounceMs: number,
    private readonly task: () => Promise<T>,
    private readonly idle: () => T
  ) {}

  start (): void {
    this.stopped = false
  }

  /** no run starts after this; one under way finishes */
  stop (): void {
    this.stopped = true
    this.pending?.cancel()
  }

  /** a run `debounceMs` from now, unless one is already due */
  schedule (): void {
    if (this.stopped || this.pending !== undefined) return
    this.pending = this.clock.after(this.debounceMs, () => {
      this.pending = undefined
      void this.run()
    })
  }

  /** one run now; while one runs, one more right after it (and `idle()` now) */
  async run (): Promise<T> {
    if (this.running) {
      this.again = true
      return this.idle()
    }
    this.running = true
    try {
      return await this.task()
    } finally {
      this.running = false
      if (this.again) {
        this.again = false
        this.schedule()
      }
    }
  }
}
