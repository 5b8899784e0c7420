/**
 * Events: every scheduling decision, failure detection, join, drain,
 * rejected entry and container crash, with time, node and reason. Kept in a
 * bounded ring and handed to subscribers (the control API, `minga events`).
 */

import type { MeshEvent } from '../mesh-event.js'

export type { EventKind, MeshEvent } from '../mesh-event.js'

export type EventListener = (event: MeshEvent) => void

const DEFAULT_CAPACITY = 2000

/**
 * This node's events in a bounded ring (`capacity`, default 2000), each stamped with a seq from 1 at each start;
 * `after(seq)` and `recent({ since })` read it, `subscribe` hears each as it is emitted
 */
export class EventLog {
  private readonly ring: MeshEvent[] = []
  private readonly listeners = new Set<EventListener>()
  private seq = 0

  constructor (private readonly capacity = DEFAULT_CAPACITY) {}

  emit (event: MeshEvent): void {
    const stamped = { ...event, seq: ++this.seq }
    this.ring.push(stamped)
    if (this.ring.length > this.capacity) this.ring.shift()
    for (const listener of this.listeners) listener(stamped)
  }

  /** the seq of the last event kept */
  get lastSeq (): number {
    return this.seq
  }

  /** events after `seq`, oldest first, at most `limit` */
  after (seq: number, limit = this.capacity): MeshEvent[] {
    const out: MeshEvent[] = []
    for (let i = this.ring.length - 1; i >= 0 && (this.ring[i].seq ?? 0) > seq; i--) out.push(this.ring[i])
    out.reverse()
    return out.length > limit ? out.slice(0, limit) : out
  }

  recent (options: { since?: number, limit?: number } = {}): MeshEvent[] {
    const since = options.since ?? 0
    const out = this.ring.filter(e => e.time >= since)
    return options.limit === undefined ? out : out.slice(-options.limit)
  }

  subscribe (listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
