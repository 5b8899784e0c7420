/**
 * A push-based async iterable for one consumer: producers `push`, the
 * consumer iterates with `for await`. It ends on `end()`, when the signal
 * aborts, or when the consumer stops iterating; `onClose` then runs once so
 * the producer can unsubscribe. Items queued before the end are still
 * delivered.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = []
  private wake?: () => void
  private ended = false
  private failure?: { error: unknown }
  private readonly onAbort = (): void => { this.end() }

  constructor (private readonly options: { signal?: AbortSignal, onClose?: () => void } = {}) {
    if (options.signal?.aborted === true) this.ended = true
    else options.signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  /** true once the queue takes no more items: a producer should not subscribe it */
  get done (): boolean { return this.ended }

  push (item: T): void {
    if (this.ended) return
    this.items.push(item)
    this.wake?.()
  }

  /** finish after the queued items; with an error, the consumer's loop throws it */
  end (error?: unknown): void {
    if (this.ended) return
    this.ended = true
    if (error !== undefined) this.failure = { error }
    this.options.signal?.removeEventListener('abort', this.onAbort)
    this.options.onClose?.()
    this.wake?.()
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<T> {
    try {
      while (true) {
        if (this.items.length > 0) { yield this.items.shift() as T; continue }
        if (this.ended) break
        await new Promise<void>(resolve => { this.wake = resolve })
        this.wake = undefined
      }
      if (this.failure !== undefined) throw this.failure.error
    } finally {
      this.end()
      this.items.length = 0
    }
  }
}
