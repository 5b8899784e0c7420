/** polling helpers: tests wait for behaviour with generous timeouts, never assert speed */

export interface WaitOptions {
  /** give up after this long (default 45 s: a loaded CI machine is slow, and a test never asserts speed) */
  timeoutMs?: number
  /** poll every this long (default 250 ms) */
  intervalMs?: number
  /** what the failure says, computed when it fails */
  message?: () => string
  /** names the wait in timing output */
  label?: string
}

/**
 * Polls `predicate` until it returns a truthy value and returns that value.
 * A predicate that throws counts as "not yet" (a node still starting);
 * on timeout the error names the last throw, if any.
 */
export async function waitFor<T> (predicate: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 45_000
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  const since = Date.now()
  while (true) {
    try {
      const value = await predicate()
      if (value !== undefined && value !== null && value !== false) {
        timing(`waited for ${options.label ?? 'a condition'}`, since)
        return value as NonNullable<T>
      }
      lastError = undefined
    } catch (err) {
      lastError = err
    }
    if (Date.now() >= deadline) break
    await sleep(options.intervalMs ?? 250)
  }
  const what = options.message?.() ?? 'condition not met'
  const why = lastError === undefined ? '' : ` (last error: ${(lastError as Error)?.message ?? String(lastError)})`
  throw new Error(`Gave up after ${timeoutMs / 1000} s: ${what}${why}`)
}

/** a real pause of `ms` */
export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

const started = Date.now()

/** with MINGA_TEST_TIMING=1, prints how long steps took (to keep the suite fast) */
export function timing (what: string, since: number): void {
  if (process.env.MINGA_TEST_TIMING !== '1') return
  const now = Date.now()
  process.stderr.write(`  [${((now - started) / 1000).toFixed(1)} s] ${what}: ${now - since} ms\n`)
}
