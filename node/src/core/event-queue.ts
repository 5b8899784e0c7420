/**
 * The event queue: a binary min-heap ordered by (time, insertion order), so
 * events at the same virtual millisecond run in the order they were
 * scheduled, every run alike. Cancelled events stay in the heap and are
 * skipped when they surface (lazy deletion).
 */

export interface SimEvent {
  time: number
  seq: number
  fn: () => void
  cancelled: boolean
}

/** the virtual clock's events: push(time, fn), peekTime(), pop(), ordered by (time, insertion) */
export class EventQueue {
  private readonly heap: SimEvent[] = []
  private seq = 0

  get size (): number {
    return this.heap.length
  }

  push (time: number, fn: () => void): SimEvent {
    const event: SimEvent = { time, seq: this.seq++, fn, cancelled: false }
    const heap = this.heap
    heap.push(event)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(event, heap[parent])) break
      heap[i] = heap[parent]
      i = parent
    }
    heap[i] = event
    return event
  }

  /** the time of the earliest live event, or Infinity */
  peekTime (): number {
    this.dropCancelled()
    return this.heap.length === 0 ? Infinity : this.heap[0].time
  }

  pop (): SimEvent | undefined {
    this.dropCancelled()
    return this.take()
  }

  private dropCancelled (): void {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.take()
  }

  private take (): SimEvent | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (heap.length === 0 || last === undefined) return top
    let i = 0
    const n = heap.length
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const child = r < n && before(heap[r], heap[l]) ? r : l
      if (!before(heap[child], last)) break
      heap[i] = heap[child]
      i = child
    }
    heap[i] = last
    return top
  }
}

function before (a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq)
}
