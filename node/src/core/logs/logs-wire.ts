/**
 * The logs protocol's messages (protocols.logs, request/response). A reader
 * opens a session on the node that runs the containers, then pulls batches
 * with a credit of lines; the node never sends more than it was asked for,
 * so a slow reader holds the node's reading back instead of growing
 * buffers anywhere. JSON with a size limit; lines are compact tuples.
 */
import { NAME_PATTERN } from '@minga/protocol'

/** `[time, 0 stdout | 1 stderr, text]`, or `[time, 2, count]`: lines dropped here because the reader was too slow */
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
  /** lines the reader can take */
  credit: number
  /** how long the node may hold the answer while it has nothing to send, ms */
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

export type LogsResponse =
  | { type: 'logs-opened', session: string }
  | { type: 'logs-batch', containers: ContainerBatch[], /** lines wait on the node, or a container still reads its backlog */ more: boolean, done: boolean }
  | { type: 'logs-closed' }
  | { type: 'error', code: string, message: string }

export const MAX_REQUEST_BYTES = 4096
export const MAX_CREDIT = 5000
export const MAX_WAIT_MS = 5000
/** a log line longer than this is cut (Docker itself splits lines at 16 KiB) */
export const MAX_LINE_CHARS = 16 * 1024

export class LogsProtocolError extends Error {
  constructor (readonly code: string, message: string) {
    super(message)
    this.name = 'LogsProtocolError'
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function encodeLogs (message: LogsRequest | LogsResponse): Uint8Array {
  return encoder.encode(JSON.stringify(message))
}

export function decodeLogsResponse (data: Uint8Array): LogsResponse {
  const value = JSON.parse(decoder.decode(data))
  if (typeof value?.type !== 'string') throw new LogsProtocolError('bad-response', 'The node answered something that is not a logs message')
  if (value.type === 'error') throw new LogsProtocolError(String(value.code), String(value.message))
  return value as LogsResponse
}

/** a request from the wire, checked field by field; throws LogsProtocolError('bad-request') */
export function decodeLogsRequest (data: Uint8Array): LogsRequest {
  if (data.byteLength > MAX_REQUEST_BYTES) throw bad(`A logs request is at most ${MAX_REQUEST_BYTES} bytes`)
  let value: any
  try {
    value = JSON.parse(decoder.decode(data))
  } catch {
    throw bad('A logs request is JSON')
  }
  switch (value?.type) {
    case 'logs-open': return checkOpen(value)
    case 'logs-poll':
      if (typeof value.session !== 'string' || value.session.length > 64) throw bad('A poll names its session')
      return { type: 'logs-poll', session: value.session, credit: clampInt(value.credit, 1, MAX_CREDIT, 'credit'), wait: clampInt(value.wait, 0, MAX_WAIT_MS, 'wait') }
    case 'logs-close':
      if (typeof value.session !== 'string' || value.session.length > 64) throw bad('A close names its session')
      return { type: 'logs-close', session: value.session }
    default: throw bad('Expected logs-open, logs-poll or logs-close')
  }
}

export function checkOpen (value: any): LogsOpenRequest {
  const service = value?.service
  if (typeof service !== 'string' || !isServiceId(service)) throw bad(`"${String(service)}" is not a service id (org/name)`)
  const out: LogsOpenRequest = { type: 'logs-open', service, follow: value.follow === true }
  if (value.replicas !== undefined) {
    if (!Array.isArray(value.replicas) || value.replicas.length > 1000 || !value.replicas.every((r: unknown) => Number.isSafeInteger(r) && (r as number) >= 0)) throw bad('replicas is a list of replica numbers')
    out.replicas = value.replicas
  }
  if (value.since !== undefined) {
    if (typeof value.since !== 'number' || !Number.isFinite(value.since) || value.since < 0) throw bad('since is a time in ms since epoch')
    out.since = value.since
  }
  if (value.tail !== undefined) out.tail = clampInt(value.tail, 0, 1_000_000, 'tail')
  return out
}

export function isServiceId (text: string): boolean {
  const parts = text.split('/')
  return parts.length === 2 && NAME_PATTERN.test(parts[0]) && NAME_PATTERN.test(parts[1])
}

function clampInt (value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw bad(`${what} is a whole number of at least ${min}`)
  return Math.min(value, max)
}

function bad (message: string): LogsProtocolError {
  return new LogsProtocolError('bad-request', message)
}
