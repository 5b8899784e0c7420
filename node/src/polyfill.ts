/**
 * libp2p v3 calls Promise.withResolvers, which Node 22 has and Node 20 does
 * not; without it a node crashes on stop. Every entry point imports this
 * file before anything that imports libp2p.
 */
if (typeof (Promise as any).withResolvers !== 'function') {
  (Promise as any).withResolvers = function withResolvers<T> () {
    let resolve!: (value: T | PromiseLike<T>) => void
    let reject!: (reason?: unknown) => void
    const promise = new Promise<T>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
    return { promise, resolve, reject }
  }
}

export {}
