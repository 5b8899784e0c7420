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
import { protocols } from '@minga/protocol'
import { linkSignals } from '../../runtime/signals.js'
import type { Clock } from '../clock.js'
import type { Mesh } from '../mesh.js'
import type { EventLog, MeshEvent } from './event-log.js'

export interface EventsRequest {
  type: 'events-poll'
  /** the epoch the `after` seq belongs to; another epoch (a restarted node) means "use since" */
  epoch?: string
  after?: number
  since?: number
  limit: number
  wait: number
}

export interface EventsBatch { type: 'events-batch', node: string, epoch: string, events: MeshEvent[], next: number }

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
  live: () => string[]
}

const MAX_LIMIT = 2000
const MAX_WAIT_MS = 10_000
const REQUEST_MARGIN_MS = 5000
const FAN_OUT = 16
const ECHO_WINDOW_MS = 10_000
const LIVENESS_KINDS = new Set(['node-up', 'node-suspect', 'node-dead'])
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class MeshEvents {
  readonly epoch = randomUUID()
  private readonly waiting = new Set<() => void>()
  private unsubscribe?: () => void

  constructor (private readonly init: MeshEventsInit) {}

  start (): void {
    this.init.mesh.handle(protocols.events(this.init.meshId), async (data, from) => encoder.encode(JSON.stringify(await this.answer(data, from))))
    this.unsubscribe = this.init.events.subscribe(() => { for (const wake of [...this.waiting]) wake() })
  }

  stop (): void {
    this.unsubscribe?.()
    for (const wake of [...this.waiting]) wake()
  }

  /** one request from `from`: this node's events it asked for */
  async answer (data: Uint8Array, from: string): Promise<EventsBatch | { type: 'error', code: string, message: string }> {
    if (!this.init.isMember(from)) return { type: 'error', code: 'not-member', message: 'Only members of the mesh may read its events' }
    let request: EventsRequest
    try {
      request = checkRequest(JSON.parse(decoder.decode(data)))
    } catch (err: any) {
      return { type: 'error', code: 'bad-request', message: err.message }
    }
    const { events, clock } = this.init
    const select = (): MeshEvent[] => {
      if (request.after !== undefined && request.epoch === this.epoch) return events.after(request.after, request.limit)
      const since = request.since ?? 0
      return events.after(0).filter(e => e.time >= since).slice(-request.limit)
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
        } catch (err: any) {
          notices.push({ type: 'notice', time: this.init.clock.now(), node: peer, text: `${peer.slice(-8)}: ${err?.message ?? String(err)}; its events are missing` })
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
        } catch (err: any) {
          if (linked.signal.aborted) return
          if (!failed) push([{ type: 'notice', time: this.init.clock.now(), node: peer, text: `${peer.slice(-8)}: ${err?.message ?? String(err)}` }])
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
    let answer: EventsBatch | { type: 'error', code: string, message: string }
    if (peer === this.init.self) {
      answer = await this.answer(encoder.encode(JSON.stringify(request)), this.init.self)
    } else {
      const linked = linkSignals([signal], request.wait + REQUEST_MARGIN_MS)
      try {
        const data = await this.init.mesh.request(peer, protocols.events(this.init.meshId), encoder.encode(JSON.stringify(request)), { signal: linked.signal })
        answer = JSON.parse(decoder.decode(data))
      } finally {
        linked.dispose()
      }
    }
    if (answer.type === 'error') throw new Error(answer.message)
    if (answer.type !== 'events-batch' || !Array.isArray(answer.events)) throw new Error('unexpected answer to an events request')
    return answer
  }
}

function checkRequest (value: any): EventsRequest {
  if (value?.type !== 'events-poll') throw new Error('Expected an events-poll request')
  const number = (v: unknown, what: string): number | undefined => {
    if (v === undefined || v === null) return undefined
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${what} is a number of at least 0`)
    return v
  }
  if (value.epoch !== undefined && (typeof value.epoch !== 'string' || value.epoch.length > 64)) throw new Error('epoch is a short string')
  return {
    type: 'events-poll',
    epoch: value.epoch,
    after: number(value.after, 'after'),
    since: number(value.since, 'since'),
    limit: Math.min(Math.max(1, Math.floor(number(value.limit, 'limit') ?? 200)), MAX_LIMIT),
    wait: Math.min(number(value.wait, 'wait') ?? 0, MAX_WAIT_MS)
  }
}

function byTime (a: MeshEvent, b: MeshEvent): number {
  return a.time - b.time || a.node.localeCompare(b.node) || (a.seq ?? 0) - (b.seq ?? 0)
}

/** one event per liveness change however many nodes observed it, counting the observers */
export function collapseEchoes (sorted: MeshEvent[]): EventItem[] {
  const out: Array<{ type: 'event', observers?: number } & MeshEvent> = []
  const firstOf = new Map<string, { type: 'event', observers?: number } & MeshEvent>()
  for (const event of sorted) {
    if (LIVENESS_KINDS.has(event.kind)) {
      const key = `${event.kind} ${event.subject}`
      const first = firstOf.get(key)
      if (first !== undefined && event.time - first.time <= ECHO_WINDOW_MS && first.node !== event.node) {
        first.observers = (first.observers ?? 1) + 1
        continue
      }
      const item = { type: 'event' as const, ...event, observers: 1 }
      firstOf.set(key, item)
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
