/**
 * Time, as the node core sees it. Production binds it to Date.now and
 * timers; the simulator binds it to a virtual clock, so one core runs in
 * both worlds.
 */

export interface Timer { cancel (): void }

export interface Clock {
  /** ms since epoch */
  now (): number
  /** run `fn` once after `ms` */
  after (ms: number, fn: () => void): Timer
  /** run `fn` every `ms`, first after `ms` */
  every (ms: number, fn: () => void): Timer
  /** a promise that resolves after `ms` (rejects when the signal aborts) */
  sleep (ms: number, signal?: AbortSignal): Promise<void>
  /**
   * A step that costs the process CPU is about to run: resolves once the
   * node's modelled CPU has done it (the simulator's CPU model, cpu-model.ts).
   * A real process spends the CPU anyway, so the system clock has none.
   */
  work?: (step: WorkStep) => Promise<void>
}

/**
 * steps whose CPU the simulator charges: a request or answer read, a gossip message checked and merged, a
 * connection's close (libp2p's teardown of its streams and the peer's verdict), a connection's life from a dial
 * (Noise's handshake, identify, gossipsub's and membership's streams, and the close when the trim ends it; each end
 * pays it), a reconcile pass, an API write
 */
export type WorkStep = 'message' | 'gossip' | 'close' | 'dial' | 'pass' | 'write'

export const systemClock: Clock = {
  now: () => Date.now(),
  after (ms, fn) {
    const handle = setTimeout(fn, ms)
    handle.unref?.()
    return { cancel: () => clearTimeout(handle) }
  },
  every (ms, fn) {
    const handle = setInterval(fn, ms)
    handle.unref?.()
    return { cancel: () => clearInterval(handle) }
  },
  async sleep (ms, signal) {
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) { reject(signal.reason); return }
      const handle = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
      const onAbort = (): void => { clearTimeout(handle); reject(signal?.reason) }
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }
}
