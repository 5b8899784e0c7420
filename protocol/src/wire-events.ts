/**
 * The events protocol's messages (`protocols.events`, request/response):
 * "this node's events after seq N (or since time T), at most L; hold the
 * answer up to W ms while there are none". Stateless on the serving node; a
 * follower long-polls. Wire messages (wire.ts): type first, a size limit per
 * type, every field checked. Event kinds are checked by form, not by list,
 * so a node that knows a new kind of event can still answer an older one.
 */
import { fail, list, object, pattern, text, token, whole } from './wire-check.js'

/** one thing a node observed or did */
export interface WireEvent {
  /** ms since epoch, by the observing node's clock */
  time: number
  /** the node that observed or did it */
  node: string
  /** `node-dead`, `replica-crash`, `placement`…: lower-case words joined by dashes */
  kind: string
  /** what it is about: a peer id, a service id, `service#replica`, a key */
  subject: string
  reason: string
  /** increases with every event the node keeps, from 1 at each start */
  seq?: number
}

export interface EventsPollMessage {
  type: 'events-poll'
  /** the epoch the `after` seq belongs to; another epoch (a restarted node) means "use since" */
  epoch?: string
  after?: number
  /** ms since epoch */
  since?: number
  /** events at most (more is taken as MAX_EVENTS_LIMIT) */
  limit: number
  /** ms the node may hold the answer while it has none (more is taken as MAX_EVENTS_WAIT_MS) */
  wait: number
}

export interface EventsBatchMessage {
  type: 'events-batch'
  node: string
  epoch: string
  events: WireEvent[]
  /** the seq to ask `after` next */
  next: number
}

export type EventsMessage = EventsPollMessage | EventsBatchMessage

export const MAX_EVENTS_LIMIT = 2000
export const MAX_EVENTS_WAIT_MS = 10_000
export const DEFAULT_EVENTS_LIMIT = 200
/** a subject or a reason longer than this is cut by the node that sends it */
export const MAX_EVENT_SUBJECT = 512
export const MAX_EVENT_REASON = 2048
/** what a batch may hold in bytes; a node sends fewer events rather than more bytes */
export const MAX_EVENTS_BATCH_BYTES = 4 * 1024 * 1024

export const EVENTS_MESSAGE_BYTES = {
  'events-poll': 1024,
  'events-batch': MAX_EVENTS_BATCH_BYTES
} as const

const KIND_PATTERN = /^[a-z][a-z0-9-]{0,31}$/

/** a number of at least 0, or undefined when absent (null counts as absent) */
function optionalNumber (value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(path, 'is a number of at least 0')
  return value
}

function wireEvent (value: unknown, path: string): WireEvent {
  const record = object(value, path, new Set(['time', 'node', 'kind', 'subject', 'reason', 'seq']))
  if (typeof record.time !== 'number' || !Number.isFinite(record.time)) fail(`${path}.time`, 'must be a time in ms since epoch')
  const event: WireEvent = {
    time: record.time,
    node: token(record.node, `${path}.node`, 1, 128),
    kind: pattern(record.kind, `${path}.kind`, KIND_PATTERN, 'must be lower-case words joined by dashes'),
    subject: text(record.subject, `${path}.subject`, MAX_EVENT_SUBJECT),
    reason: text(record.reason, `${path}.reason`, MAX_EVENT_REASON)
  }
  if (record.seq !== undefined) event.seq = whole(record.seq, `${path}.seq`)
  return event
}

/** each events message's checker: the clean message, or InvalidMessageError naming the field */
export const eventsCheckers: { [T in EventsMessage['type']]: (value: unknown) => Extract<EventsMessage, { type: T }> } = {
  'events-poll': (value) => {
    const record = object(value, 'events-poll', new Set(['type', 'epoch', 'after', 'since', 'limit', 'wait']))
    if (record.epoch !== undefined && (typeof record.epoch !== 'string' || record.epoch.length > 64)) fail('events-poll.epoch', 'is a short string')
    const message: EventsPollMessage = {
      type: 'events-poll',
      limit: Math.min(Math.max(1, Math.floor(optionalNumber(record.limit, 'events-poll.limit') ?? DEFAULT_EVENTS_LIMIT)), MAX_EVENTS_LIMIT),
      wait: Math.min(optionalNumber(record.wait, 'events-poll.wait') ?? 0, MAX_EVENTS_WAIT_MS)
    }
    if (record.epoch !== undefined) message.epoch = record.epoch as string
    const after = optionalNumber(record.after, 'events-poll.after')
    if (after !== undefined) message.after = after
    const since = optionalNumber(record.since, 'events-poll.since')
    if (since !== undefined) message.since = since
    return message
  },
  'events-batch': (value) => {
    const record = object(value, 'events-batch', new Set(['type', 'node', 'epoch', 'events', 'next']))
    return {
      type: 'events-batch',
      node: token(record.node, 'events-batch.node', 1, 128),
      epoch: token(record.epoch, 'events-batch.epoch', 1, 64),
      events: list(record.events, 'events-batch.events', MAX_EVENTS_LIMIT).map((e, i) => wireEvent(e, `events-batch.events[${i}]`)),
      next: whole(record.next, 'events-batch.next')
    }
  }
}

/** an event as a node sends it: subject and reason cut to what the wire accepts */
export function wireEventOf<T extends WireEvent> (event: T): T {
  if (event.subject.length <= MAX_EVENT_SUBJECT && event.reason.length <= MAX_EVENT_REASON) return event
  return { ...event, subject: event.subject.slice(0, MAX_EVENT_SUBJECT), reason: event.reason.slice(0, MAX_EVENT_REASON) }
}
