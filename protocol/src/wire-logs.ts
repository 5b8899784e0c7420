/**
 * The logs protocol's messages (`protocols.logs`, request/response). A
 * reader opens a session on the node that runs the containers, then pulls
 * batches with a credit of lines; the node never sends more than it was
 * asked for, so a slow reader holds the node's reading back instead of
 * growing buffers anywhere. Lines are compact tuples. The messages are wire
 * messages (wire.ts): type first, a size limit per type, every field
 * checked, a refusal says which.
 */
import { LogsProtocolError } from './errors.js'
import { bool, fail, list, object, pattern, text, token, whole } from './wire-check.js'

/** `[time, 0 stdout | 1 stderr, text]`, or `[time, 2, count]`: lines dropped there because the reader was too slow */
export type WireLine = [number, 0 | 1, string] | [number, 2, number]

export interface LogsOpenRequest {
  type: 'logs-open'
  /** `org/name` */
  service: string
  /** only these replicas (default all) */
  replicas?: number[]
  /** ms since epoch */
  since?: number
  /** last N lines of each container */
  tail?: number
  follow: boolean
}

export interface LogsPollRequest {
  type: 'logs-poll'
  session: string
  /** lines the reader can take (more is taken as MAX_CREDIT) */
  credit: number
  /** how long the node may hold the answer while it has nothing to send, ms (more is taken as MAX_WAIT_MS) */
  wait: number
}

export interface LogsCloseRequest { type: 'logs-close', session: string }

export type LogsRequest = LogsOpenRequest | LogsPollRequest | LogsCloseRequest

export interface ContainerBatch {
  id: string
  replica: number
  lines: WireLine[]
  /** the node holds more lines of it than this batch carries */
  more: boolean
  /** no line of it will follow */
  ended: boolean
}

export interface LogsOpenedMessage { type: 'logs-opened', session: string }
export interface LogsBatchMessage {
  type: 'logs-batch'
  containers: ContainerBatch[]
  /** lines wait on the node, or a container still reads its backlog */
  more: boolean
  /** a one-shot read is complete */
  done: boolean
}
export interface LogsClosedMessage { type: 'logs-closed' }

/** what a node answers a logs request with (or an `error` message) */
export type LogsResponse = LogsOpenedMessage | LogsBatchMessage | LogsClosedMessage

export type LogsMessage = LogsRequest | LogsResponse

export const MAX_LOGS_REQUEST_BYTES = 4096
export const MAX_CREDIT = 5000
export const MAX_WAIT_MS = 5000
/** a log line longer than this is cut (Docker itself splits lines at 16 KiB) */
export const MAX_LINE_CHARS = 16 * 1024
/** what a cut line ends with */
export const CUT_MARK = '…[cut]'
/** containers of one service on one node that one session reads, at most */
export const MAX_BATCH_CONTAINERS = 1000
const MAX_TAIL = 1_000_000
const MAX_REPLICAS = 1000

/**
 * bytes per message type: requests are small; a batch holds at most 512 KiB
 * of lines as the node counts them, which JSON's escapes can make up to six
 * times larger
 */
export const LOGS_MESSAGE_BYTES = {
  'logs-open': MAX_LOGS_REQUEST_BYTES,
  'logs-poll': MAX_LOGS_REQUEST_BYTES,
  'logs-close': MAX_LOGS_REQUEST_BYTES,
  'logs-opened': 1024,
  'logs-batch': 4 * 1024 * 1024,
  'logs-closed': 1024
} as const

export const LOGS_REQUEST_TYPES = ['logs-open', 'logs-poll', 'logs-close'] as const
export const LOGS_RESPONSE_TYPES = ['logs-opened', 'logs-batch', 'logs-closed'] as const

const SERVICE_ID_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
const session = (value: unknown, path: string): string => token(value, path, 1, 64)

/** a whole number of at least `min`; above `max` it counts as `max` (a reader asking for more gets the most there is) */
function clamped (value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) fail(path, `is a whole number of at least ${min}`)
  return Math.min(value, max)
}

function wireLine (value: unknown, path: string): WireLine {
  const tuple = list(value, path, 3)
  if (tuple.length !== 3) fail(path, 'must be [time, stream, text] or [time, 2, count]')
  const [time, kind, body] = tuple
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) fail(`${path}[0]`, 'must be a time in ms since epoch')
  if (kind === 2) return [time, 2, whole(body, `${path}[2]`)]
  if (kind !== 0 && kind !== 1) fail(`${path}[1]`, 'must be 0 (stdout), 1 (stderr) or 2 (dropped)')
  return [time, kind, text(body, `${path}[2]`, MAX_LINE_CHARS + CUT_MARK.length)]
}

function containerBatch (value: unknown, path: string): ContainerBatch {
  const record = object(value, path, new Set(['id', 'replica', 'lines', 'more', 'ended']))
  return {
    id: token(record.id, `${path}.id`, 1, 128),
    replica: whole(record.replica, `${path}.replica`),
    lines: list(record.lines, `${path}.lines`, MAX_CREDIT).map((line, i) => wireLine(line, `${path}.lines[${i}]`)),
    more: bool(record.more, `${path}.more`),
    ended: bool(record.ended, `${path}.ended`)
  }
}

/** each logs message's checker: the clean message, or InvalidMessageError naming the field */
export const logsCheckers: { [T in LogsMessage['type']]: (value: unknown) => Extract<LogsMessage, { type: T }> } = {
  'logs-open': (value) => {
    const record = object(value, 'logs-open', new Set(['type', 'service', 'replicas', 'since', 'tail', 'follow']))
    const message: LogsOpenRequest = {
      type: 'logs-open',
      service: pattern(record.service, 'logs-open.service', SERVICE_ID_PATTERN, 'is not a service id (org/name)'),
      follow: record.follow === undefined ? false : bool(record.follow, 'logs-open.follow')
    }
    if (record.replicas !== undefined) message.replicas = list(record.replicas, 'logs-open.replicas', MAX_REPLICAS).map((r, i) => whole(r, `logs-open.replicas[${i}]`))
    if (record.since !== undefined) {
      if (typeof record.since !== 'number' || !Number.isFinite(record.since) || record.since < 0) fail('logs-open.since', 'is a time in ms since epoch')
      message.since = record.since
    }
    if (record.tail !== undefined) message.tail = clamped(record.tail, 'logs-open.tail', 0, MAX_TAIL)
    return message
  },
  'logs-poll': (value) => {
    const record = object(value, 'logs-poll', new Set(['type', 'session', 'credit', 'wait']))
    return { type: 'logs-poll', session: session(record.session, 'logs-poll.session'), credit: clamped(record.credit, 'logs-poll.credit', 1, MAX_CREDIT), wait: clamped(record.wait, 'logs-poll.wait', 0, MAX_WAIT_MS) }
  },
  'logs-close': (value) => {
    const record = object(value, 'logs-close', new Set(['type', 'session']))
    return { type: 'logs-close', session: session(record.session, 'logs-close.session') }
  },
  'logs-opened': (value) => {
    const record = object(value, 'logs-opened', new Set(['type', 'session']))
    return { type: 'logs-opened', session: session(record.session, 'logs-opened.session') }
  },
  'logs-batch': (value) => {
    const record = object(value, 'logs-batch', new Set(['type', 'containers', 'more', 'done']))
    return {
      type: 'logs-batch',
      containers: list(record.containers, 'logs-batch.containers', MAX_BATCH_CONTAINERS).map((c, i) => containerBatch(c, `logs-batch.containers[${i}]`)),
      more: bool(record.more, 'logs-batch.more'),
      done: bool(record.done, 'logs-batch.done')
    }
  },
  'logs-closed': (value) => {
    object(value, 'logs-closed', new Set(['type']))
    return { type: 'logs-closed' }
  }
}

/** a log line as sent: cut at MAX_LINE_CHARS, with CUT_MARK where it was cut */
export function cutLine (line: string): string {
  return line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS) + CUT_MARK : line
}

export { LogsProtocolError }
