/**
 * Mesh-wide events: `minga events` shows what every live node observed and
 * did, merged by time.
 *
 * Gathered on demand, not gossiped. Each node keeps its own events in a
 * bounded ring (EventLog) and serves them over a request/response protocol
 * (protocols.events): "events after seq N (or since time T), at most L;
 * hold the answer up to W ms while there are none" — stateless on the
 * server, and a follower simply long-polls. Gossiping every event to every
 * node would cost bandwidth on all nodes all the time for something read
 * now and then; gathering costs only while someone looks, and a node's
 * events die with it only if nobody read them (they are in its log too).
 *
 * Several nodes observe the same liveness change (every survivor sees a
 * node die); a one-shot read collapses those into one event with
 * `observers`, a follower shows the first and skips the echoes.
 */
import { randomUUID } from 'node:crypto'
import {
  decodeEventsRequest, decodeEventsResponse, encodeMessage, errorMessage, MAX_EVENTS_BATCH_BYTES, MAX_EVENTS_LIMIT, messageOf, protocols, wireEventOf,
  type ErrorMessage, type EventsBatchMessage, type EventsPollMessage
} from '@minga/protocol'
import { linkSignals } from '../../runtime/signals.js'
import type { Clock } from '../clock.js'
import type { Mesh } from '../mesh.js'
import type { EventLog, MeshEvent } from './event-log.js'

/** a request for a node's events (protocol's wire-events.ts) */
export type EventsRequest = EventsPollMessage
/** a node's events, as it answers */
export type EventsBatch = Omit<EventsBatchMessage, 'events'> & { events: MeshEvent[] }

export type EventItem = ({ type: 'event', observers?: number } & MeshEvent) | { type: 'notice', time: number, node?: string, text: string }

export interface MeshEventsInit {
  self: string
  meshId: string
  mesh: Mesh
  clock: Clock
  events: EventLog
  /** may this peer read events (a member, not removed) */
  isMember: (peer: string) => boolean
  /** live member nodes, this one included */
  live: () => readonly string[]
}

const MAX_LIMIT = MAX_EVENTS_LIMIT
const REQUEST_MARGIN_MS = 5000
const FAN_OUT = 16
const ECHO_WINDOW_MS = 10_000
const LIVENESS_KINDS = new Set(['node-up', 'node-suspect', 'node-dead'])
/** a batch leaves room for the message around its events */
const BATCH_EVENT_BYTES = MAX_EVENTS_BATCH_BYTES - 64 * 1024

/**
 * Serves this node's events to members (protocols.events) and reads every live node's: `gather` (one shot,
 * echoes collapsed) and `follow` (until the signal aborts). Peers that fail become notices, never errors
 */
export class MeshEvents {
  readonly epoch = randomUUID()
  private readonly waiting = new Set<() => void>()
  private unsubscribe?: () => void

  constructor (private readonly init: MeshEventsInit) {}

  start (): void {
    this.init.mesh.handle(protocols.events(this.init.meshId), async (data, from) => encodeMessage(await this.answer(data, from)))
    this.unsubscribe = this.init.events.subscribe(() => { for (const wake of [...this.waiting]) wake() })
  }

  stop (): void {
    this.unsubscribe?.()
    for (const wake of [...this.waiting]) wake()
  }

  /** one request from `from`: this node's events it asked for */
  async answer (data: Uint8Array, from: string): Promise<EventsBatchMessage | ErrorMessage> {
    if (!this.init.isMember(from)) return errorMessage('not-member', 'Only members of the mesh may read its events')
    let request: EventsRequest
    try {
      request = decodeEventsRequest(data)
    } catch (err) {
      return errorMessage('bad-request', messageOf(err))
    }
    return await this.select(request)
  }

  /** this node's events a checked request asks for, within what one batch carries */
  private async select (request: EventsRequest): Promise<EventsBatchMessage> {
    const { events, clock } = this.init
    const select = (): MeshEvent[] => {
      if (request.after !== undefined && request.epoch === this.epoch) return fitting(events.after(request.after, request.limit), 'oldest')
      const since = request.since ?? 0
      return fitting(events.after(0).filter(e => e.time >= since).slice(-request.limit), 'newest')
    }
    let out = select()
    if (out.length === 0 && request.wait > 0) {
      await new Promise<void>(resolve => {
        const done = (): void => { timer.cancel(); this.waiting.delete(done); resolve() }
        const timer = clock.after(request.wait, done)
        this.waiting.add(done)
      })
      out = select()
    }
    return { type: 'events-batch', node: this.init.self, epoch: this.epoch, events: out, next: out.at(-1)?.seq ?? (request.epoch === this.epoch ? request.after ?? 0 : events.lastSeq) }
  }

  /** every live node's events since `since`, merged by time: the last `limit` of them */
  async gather (options: { since?: number, limit?: number, signal?: AbortSignal } = {}): Promise<EventItem[]> {
    const limit = Math.min(options.limit ?? 200, MAX_LIMIT)
    const peers = this.init.live()
    const notices: EventItem[] = []
    const all: MeshEvent[] = []
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < peers.length) {
        const peer = peers[next++]
        try {
          const batch = await this.call(peer, { type: 'events-poll', since: options.since, limit, wait: 0 }, options.signal)
          all.push(...batch.events)
        } catch (err) {
          notices.push({ type: 'notice', time: this.init.clock.now(), node: peer, text: `${peer.slice(-8)}: ${messageOf(err)}; its events are missing` })
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(FAN_OUT, peers.length) }, worker))
    all.sort(byTime)
    return [...notices, ...collapseEchoes(all).slice(-limit)]
  }

  /** recent events (since `since`) of every live node, then new ones as they happen, until the signal aborts */
  async * follow (options: { since?: number, signal?: AbortSignal } = {}): AsyncGenerator<EventItem> {
    const controller = new AbortController()
    const linked = linkSignals([options.signal, controller.signal])
    const queue: EventItem[] = []
    let wake: (() => void) | undefined
    const push = (items: EventItem[]): void => { queue.push(...items); wake?.() }
    const echoes = new Map<string, number>()
    const readers = new Map<string, Promise<void>>()
    const read = async (peer: string): Promise<void> => {
      let epoch: string | undefined
      let after: number | undefined
      let failed = false
      while (!linked.signal.aborted) {
        try {
          const batch = await this.call(peer, { type: 'events-poll', epoch, after, since: options.since, limit: MAX_LIMIT, wait: 5000 }, linked.signal)
          if (failed) push([{ type: 'notice', time: this.init.clock.now(), node: peer, text: `${peer.slice(-8)}: reachable again` }])
          failed = false
          epoch = batch.epoch
          after = batch.next
          const fresh = batch.events.filter(e => !isEcho(e, echoes))
          if (fresh.length > 0) push(fresh.map(e => ({ type: 'event' as const, ...e })))
        } catch (err) {
          if (linked.signal.aborted) return
          if (!failed) push([{ type: 'notice', time: this.init.clock.now(), node: peer, text: `${peer.slice(-8)}: ${messageOf(err)}` }])
          failed = true
          if (!this.init.live().includes(peer)) return
          await this.init.clock.sleep(2000, linked.signal).catch(() => {})
        }
      }
    }
    const resolve = (): void => {
      for (const peer of this.init.live()) {
        if (readers.has(peer)) continue
        readers.set(peer, read(peer).finally(() => readers.delete(peer)))
      }
    }
    resolve()
    const timer = this.init.clock.every(2000, resolve)
    try {
      while (!linked.signal.aborted) {
        const item = queue.shift()
        if (item !== undefined) { yield item; continue }
        await new Promise<void>(resolve => {
          wake = resolve
          linked.signal.addEventListener('abort', () => resolve(), { once: true })
        })
        wake = undefined
      }
    } finally {
      timer.cancel()
      controller.abort()
      linked.dispose()
    }
  }

  private async call (peer: string, request: EventsRequest, signal?: AbortSignal): Promise<EventsBatch> {
    let answer: EventsBatchMessage
    if (peer === this.init.self) {
      const own = await this.answer(encodeMessage(request), this.init.self)
      if (own.type === 'error') throw new Error(own.message)
      answer = own
    } else {
      const linked = linkSignals([signal], request.wait + REQUEST_MARGIN_MS)
      try {
        answer = decodeEventsResponse(await this.init.mesh.request(peer, protocols.events(this.init.meshId), encodeMessage(request), { signal: linked.signal }))
      } finally {
        linked.dispose()
      }
    }
    return { ...answer, events: answer.events.map(asMeshEvent) }
  }
}

/**
 * the events that fit one batch, each cut to what the wire carries: from
 * the oldest (a follower goes on after the last) or from the newest (a
 * one-shot read shows the latest)
 */
function fitting (events: MeshEvent[], keep: 'oldest' | 'newest'): MeshEvent[] {
  const out: MeshEvent[] = []
  let bytes = 0
  const ordered = keep === 'oldest' ? events : [...events].reverse()
  for (const event of ordered) {
    const sent = wireEventOf(event)
    bytes += JSON.stringify(sent).length * 3
    if (bytes > BATCH_EVENT_BYTES && out.length > 0) break
    out.push(sent)
  }
  return keep === 'oldest' ? out : out.reverse()
}

/** an event from another node: its kind is one this node may not know yet */
function asMeshEvent (event: EventsBatchMessage['events'][number]): MeshEvent {
  return event as MeshEvent
}

function byTime (a: MeshEvent, b: MeshEvent): number {
  return a.time - b.time || a.node.localeCompare(b.node) || (a.seq ?? 0) - (b.seq ?? 0)
}

/**
 * one event per liveness change however many nodes observed it, counting the observers: a node's event joins the
 * first one of its kind and subject within the echo window unless that node is already among its observers (then
 * it saw a second change, a new event)
 */
export function collapseEchoes (sorted: MeshEvent[]): EventItem[] {
  const out: Array<{ type: 'event', observers?: number } & MeshEvent> = []
  const firstOf = new Map<string, { item: { type: 'event', observers?: number } & MeshEvent, nodes: Set<string> }>()
  for (const event of sorted) {
    if (LIVENESS_KINDS.has(event.kind)) {
      const key = `${event.kind} ${event.subject}`
      const first = firstOf.get(key)
      if (first !== undefined && event.time - first.item.time <= ECHO_WINDOW_MS && !first.nodes.has(event.node)) {
        first.nodes.add(event.node)
        first.item.observers = first.nodes.size
        continue
      }
      const item = { type: 'event' as const, ...event, observers: 1 }
      firstOf.set(key, { item, nodes: new Set([event.node]) })
      out.push(item)
      continue
    }
    out.push({ type: 'event', ...event })
  }
  return out
}

function isEcho (event: MeshEvent, seen: Map<string, number>): boolean {
  if (!LIVENESS_KINDS.has(event.kind)) return false
  const key = `${event.kind} ${event.subject}`
  const at = seen.get(key)
  if (at !== undefined && Math.abs(event.time - at) <= ECHO_WINDOW_MS) return true
  seen.set(key, event.time)
  if (seen.size > 10_000) seen.clear()
  return false
}
