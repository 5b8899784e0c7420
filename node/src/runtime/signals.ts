/**
 * One AbortSignal that follows several others and an optional deadline,
 * with a `dispose` that detaches it again. Unlike AbortSignal.any it leaves
 * no listener on long-lived signals (the runtime's close signal) once a call
 * is over.
 */
export interface LinkedSignal {
  signal: AbortSignal
  /** true when the deadline, not a source, aborted it */
  readonly timedOut: boolean
  /** detach from the sources and clear the deadline */
  dispose: () => void
}

/** one signal that aborts when any of `sources` does, or after `timeoutMs`; `dispose()` removes the listeners */
export function linkSignals (sources: Array<AbortSignal | undefined>, timeoutMs?: number): LinkedSignal {
  const controller = new AbortController()
  const cleanups: Array<() => void> = []
  const linked = {
    signal: controller.signal,
    timedOut: false,
    dispose: () => { for (const cleanup of cleanups.splice(0)) cleanup() }
  }
  const abort = (reason: unknown): void => {
    if (!controller.signal.aborted) controller.abort(reason)
    linked.dispose()
  }
  for (const source of sources) {
    if (source === undefined) continue
    if (source.aborted) { abort(source.reason); return linked }
    const onAbort = (): void => { abort(source.reason) }
    source.addEventListener('abort', onAbort, { once: true })
    cleanups.push(() => { source.removeEventListener('abort', onAbort) })
  }
  if (timeoutMs !== undefined) {
    const timer = setTimeout(() => {
      linked.timedOut = true
      abort(new DOMException(`No answer within ${timeoutMs} ms`, 'TimeoutError'))
    }, timeoutMs)
    timer.unref()
    cleanups.push(() => { clearTimeout(timer) })
  }
  return linked
}

/** a promise that rejects with the signal's reason once it aborts */
export async function rejectOnAbort (signal: AbortSignal): Promise<never> {
  return await new Promise<never>((_resolve, reject) => {
    if (signal.aborted) { reject(signal.reason); return }
    signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
  })
}
