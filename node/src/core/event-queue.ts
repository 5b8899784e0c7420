/**
 * The event queue, ordered by (time, insertion order), so events at the
 * same virtual millisecond run in the order they were scheduled, every run
 * alike. Times are whole milliseconds and a busy simulation schedules tens
 * of events in each: the queue keeps one bucket (a list in insertion
 * order) per distinct time, and a binary min-heap of the buckets' times. A
 * push is an append (and a heap push for a time not yet held), a pop takes
 * the next event of the earliest bucket: the heap holds the distinct times
 * only (at 1,000 nodes ~1,000 a virtual second against ~35,000 events),
 * where a heap of every event cost a sift through ~17 levels per push and
 * per pop. Cancelled events stay in their bucket and are skipped when they
 * come up (lazy deletion), but a cancelled event lets go of its function
 * at once (`cancelEvent`): a request's 10 s timeout, cancelled when the answer
 * comes a few ms later, would otherwise hold the request's closures for
 * 10 virtual seconds, long enough for the collector to promote them to the
 * old generation. An event taken is released from its bucket at once, so
 * its closure can be collected.
 */

export interface SimEvent {
  time: number
  seq: number
  fn: () => void
  cancelled: boolean
}

const released = (): void => {}

/** marks `event` cancelled and drops its function (see above) */
export function cancelEvent (event: SimEvent): void {
  event.cancelled = true
  event.fn = released
}

/** the events of one virtual millisecond, in insertion order; `next`: the first not yet taken */
interface Bucket {
  time: number
  events: Array<SimEvent | undefined>
  next: number
}

/** the virtual clock's events: push(time, fn), peekTime(), pop(), ordered by (time, insertion) */
export class EventQueue {
  /** the buckets, a min-heap by time */
  private readonly heap: Bucket[] = []
  private readonly byTime = new Map<number, Bucket>()
  private seq = 0
  private count = 0

  /** events held, cancelled ones included until they come up */
  get size (): number {
    return this.count
  }

  push (time: number, fn: () => void): SimEvent {
    const event: SimEvent = { time, seq: this.seq++, fn, cancelled: false }
    let bucket = this.byTime.get(time)
    if (bucket === undefined) {
      bucket = { time, events: [], next: 0 }
      this.byTime.set(time, bucket)
      this.heapPush(bucket)
    }
    bucket.events.push(event)
    this.count++
    return event
  }

  /** the time of the earliest live event, or Infinity */
  peekTime (): number {
    this.dropCancelled()
    return this.heap.length === 0 ? Infinity : this.heap[0].time
  }

  pop (): SimEvent | undefined {
    this.dropCancelled()
    const bucket = this.heap[0]
    if (bucket === undefined) return undefined
    const event = bucket.events[bucket.next]
    bucket.events[bucket.next++] = undefined
    this.count--
    return event
  }

  /** skips cancelled events at the front, and drops buckets left empty */
  private dropCancelled (): void {
    for (;;) {
      const bucket = this.heap[0]
      if (bucket === undefined) return
      const { events } = bucket
      while (bucket.next < events.length && events[bucket.next]!.cancelled) {
        events[bucket.next++] = undefined
        this.count--
      }
      if (bucket.next < events.length) return
      this.byTime.delete(bucket.time)
      this.heapTake()
    }
  }

  private heapPush (bucket: Bucket): void {
    const heap = this.heap
    heap.push(bucket)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent].time <= bucket.time) break
      heap[i] = heap[parent]
      i = parent
    }
    heap[i] = bucket
  }

  private heapTake (): void {
    const heap = this.heap
    const last = heap.pop()
    if (heap.length === 0 || last === undefined) return
    let i = 0
    const n = heap.length
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const child = r < n && heap[r].time < heap[l].time ? r : l
      if (heap[child].time >= last.time) break
      heap[i] = heap[child]
      i = child
    }
    heap[i] = last
  }
}
