/**
 * Playing the core's VirtualClock in tests of the membership protocol:
 * `advance` runs a stretch of virtual time, `until` runs it instant by
 * instant until a condition holds and says how long that took (exact to
 * the millisecond, however loaded the machine).
 */
import type { VirtualClock } from '../src/core/index.js'

/** run `ms` of virtual time */
export async function advance (clock: VirtualClock, ms: number): Promise<void> {
  await clock.run(clock.now() + ms)
}

/** run until `done()` holds, looking after every instant; the virtual ms it took. Throws after `limit` ms */
export async function until (clock: VirtualClock, done: () => boolean, limit: number, what = 'the condition'): Promise<number> {
  const start = clock.now()
  for (;;) {
    await clock.run(clock.now())
    if (done()) return clock.now() - start
    const next = clock.queue.peekTime()
    if (next === Infinity || next - start > limit) throw new Error(`${what} did not hold within ${limit} ms of virtual time`)
    await clock.run(next)
  }
}
