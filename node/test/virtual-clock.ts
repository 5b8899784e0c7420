/**
 * A virtual clock for core tests: timers run in (time, order) order, and
 * between two instants every pending promise settles (one macrotask), so a
 * test of minutes of protocol runs in milliseconds and the same way every
 * time. `stall(until)` freezes one node's timers as a stalled process's
 * are: they run late, all at once, when it resumes.
 */
import type { Clock, Timer } from '../src/index.js'

interface Event { time: number, seq: number, fn: () => void, cancelled: boolean }

export class VirtualClock implements Clock {
  private readonly heap: Event[] = []
  private seq = 0
  private time: number

  constructor (start = 1_800_000_000_000) {
    this.time = start
  }

  now (): number {
    return this.time
  }

  at (time: number, fn: () => void): Event {
    const event: Event = { time: Math.max(this.time, Math.ceil(time)), seq: this.seq++, fn, cancelled: false }
    this.heap.push(event)
    this.up(this.heap.length - 1)
    return event
  }

  after (ms: number, fn: () => void): Timer {
    const event = this.at(this.time + Math.max(0, ms), fn)
    return { cancel: () => { event.cancelled = true } }
  }

  every (ms: number, fn: () => void): Timer {
    let cancelled = false
    let event: Event
    const tick = (): void => {
      if (cancelled) return
      event = this.at(this.time + Math.max(1, ms), tick)
      fn()
    }
    event = this.at(this.time + Math.max(1, ms), tick)
    return { cancel: () => { cancelled = true; event.cancelled = true } }
  }

  async sleep (ms: number, signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) { reject(signal.reason); return }
      const onAbort = (): void => { event.cancelled = true; reject(signal?.reason) }
      const event = this.at(this.time + Math.max(0, ms), () => { signal?.removeEventListener('abort', onAbort); resolve() })
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** run for `ms` of virtual time */
  async advance (ms: number): Promise<void> {
    const until = this.time + ms
    for (;;) {
      await settle()
      const next = this.peek()
      if (next === undefined || next.time > until) break
      this.pop()
      this.time = next.time
      next.fn()
    }
    this.time = until
    await settle()
  }

  /** run until `done()` holds, checking after every instant; throws after `limit` ms of virtual time */
  async until (done: () => boolean, limit: number, what = 'the condition'): Promise<number> {
    const start = this.time
    for (;;) {
      await settle()
      if (done()) return this.time - start
      const next = this.peek()
      if (next === undefined || next.time - start > limit) throw new Error(`${what} did not hold within ${limit} ms of virtual time`)
      this.pop()
      this.time = next.time
      next.fn()
    }
  }

  private peek (): Event | undefined {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.pop()
    return this.heap[0]
  }

  private pop (): Event | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last
      this.down(0)
    }
    return top
  }

  private up (i: number): void {
    const heap = this.heap
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(heap[i], heap[parent])) break
      [heap[i], heap[parent]] = [heap[parent], heap[i]]
      i = parent
    }
  }

  private down (i: number): void {
    const heap = this.heap
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let best = i
      if (l < heap.length && before(heap[l], heap[best])) best = l
      if (r < heap.length && before(heap[r], heap[best])) best = r
      if (best === i) return
      [heap[i], heap[best]] = [heap[best], heap[i]]
      i = best
    }
  }
}

function before (a: Event, b: Event): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq)
}

const settle = async (): Promise<void> => { await new Promise<void>(resolve => setImmediate(resolve)) }

/**
 * One node's view of a VirtualClock: while stalled, its timers wait; when
 * it resumes they all run, late, before anything that arrived meanwhile
 * (an event loop runs due timers before it reads its sockets)
 */
export class StallableClock implements Clock {
  private stalledUntil = -Infinity
  private readonly lateTimers: Array<() => void> = []
  private readonly lateIo: Array<() => void> = []

  constructor (private readonly clock: VirtualClock) {}

  now (): number {
    return this.clock.now()
  }

  get stalled (): boolean {
    return this.clock.now() < this.stalledUntil
  }

  /** freeze this node until `ms` from now */
  stall (ms: number): void {
    this.stalledUntil = this.clock.now() + ms
    this.clock.after(ms, () => {
      for (const fn of this.lateTimers.splice(0)) fn()
      for (const fn of this.lateIo.splice(0)) fn()
    })
  }

  /** deliver something that arrived: now, or when the stall ends, after the late timers */
  io (fn: () => void): void {
    if (this.stalled) this.lateIo.push(fn)
    else fn()
  }

  after (ms: number, fn: () => void): Timer {
    let cancelled = false
    const run = (): void => { if (!cancelled) fn() }
    const timer = this.clock.after(ms, () => { if (this.stalled) this.lateTimers.push(run); else run() })
    return { cancel: () => { cancelled = true; timer.cancel() } }
  }

  every (ms: number, fn: () => void): Timer {
    return this.clock.every(ms, () => { if (!this.stalled) fn() })
  }

  async sleep (ms: number, signal?: AbortSignal): Promise<void> {
    await this.clock.sleep(ms, signal)
  }
}
