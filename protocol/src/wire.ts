/**
 * Wire messages: a discriminated union on `type`, encoded as JSON over UTF-8
 * (simple to debug with a packet dump, and entries are JSON already). The
 * encoder always writes `type` first, so the decoder reads the type from
 * the first bytes and applies that type's size limit before parsing
 * anything. Every field is checked; a message with an unknown type or field,
 * a wrong type, a non-finite number or an oversized list is refused with
 * `InvalidMessageError` or `MessageTooLargeError`. A new field is a new
 * protocol version: heartbeats are signed over their exact fields.
 */
import type { Entry } from './entry.js'
import { InvalidMessageError, MessageTooLargeError, messageOf } from './errors.js'
import type { PeerIdString } from './identity.js'
import { MAX_TEXT_LENGTH, addrs, bool, capacity, entries, fail, labels, marks, name, object, pattern, peerId, signature, text, token, type Capacity } from './wire-check.js'
import { EVENTS_MESSAGE_BYTES, eventsCheckers, type EventsMessage } from './wire-events.js'
import { FORWARD_MESSAGE_BYTES, forwardCheckers, type ForwardMessage } from './wire-forward.js'
import { LOGS_MESSAGE_BYTES, logsCheckers, type LogsMessage } from './wire-logs.js'
import { CHUNKS_MESSAGE_BYTES, chunksCheckers, type ChunksMessage } from './wire-chunks.js'
import { MEMBERSHIP_BYTES, membershipCheckers, membershipJson, type AckMessage, type GossipMessage, type MembershipMessage, type PingMessage, type PingReqMessage } from './wire-membership.js'
import { REPORT_BYTES, reportCheckers, type ReportMessages } from './wire-report.js'
import { VOLUMES_MESSAGE_BYTES, volumesCheckers, type VolumesMessage } from './wire-volumes.js'

export * from './wire-logs.js'
export * from './wire-events.js'
export * from './wire-chunks.js'
export * from './wire-forward.js'
export * from './wire-membership.js'
export * from './wire-report.js'
export * from './wire-volumes.js'
export type { Capacity } from './wire-check.js'

/** gossip of new entries */
export interface EntriesMessage {
  type: 'entries'
  entries: Entry[]
}

/** anti-entropy: "I hold everything of these authors up to these seqs" */
export interface SyncRequestMessage {
  type: 'sync-request'
  marks: Record<string, number>
  digest: string
  /** the `cursor` of the previous page, when asking for the next one */
  after?: string
}

/** anti-entropy answer, paged: `more` asks the requester to send another request with `after: cursor` */
export interface SyncResponseMessage {
  type: 'sync-response'
  entries: Entry[]
  marks: Record<string, number>
  more: boolean
  cursor?: string
}

export interface JoinRequestMessage {
  type: 'join-request'
  inviteId: string
  /** base64 of the invite's 32-byte secret */
  secret: string
  peerId: PeerIdString
  /** the chosen name of the new organization, when the invite admits one */
  org?: string
  addrs: string[]
  labels?: Record<string, string>
  capacity?: Capacity
  /** joining an org that lost its nodes: its recovery key's signature of this admission (recovery.ts) */
  recovery?: string
}

export type JoinResponseMessage =
  | { type: 'join-response', ok: true, org: string, meshId: string, root: PeerIdString, entries?: Entry[] }
  | { type: 'join-response', ok: false, error: string, code: string }

/** a stream protocol's refusal */
export interface ErrorMessage {
  type: 'error'
  code: string
  message: string
}

export type WireMessage =
  | EntriesMessage
  | SyncRequestMessage
  | SyncResponseMessage
  | JoinRequestMessage
  | JoinResponseMessage
  | ErrorMessage
  | LogsMessage
  | EventsMessage
  | ChunksMessage
  | ForwardMessage
  | MembershipMessage
  | ReportMessages
  | VolumesMessage

export type WireMessageType = WireMessage['type']

/** no message of any type is larger */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024
export const MAX_GOSSIP_ENTRIES = 1_000
export const MAX_SYNC_ENTRIES = 10_000
export const MAX_MARKS = 50_000
/** nesting of JSON arrays and objects, checked before parsing */
export const MAX_JSON_DEPTH = 64

export const MAX_MESSAGE_BYTES_BY_TYPE: Readonly<Record<WireMessageType, number>> = {
  entries: 1024 * 1024,
  'sync-request': MAX_MESSAGE_BYTES,
  'sync-response': MAX_MESSAGE_BYTES,
  'join-request': 64 * 1024,
  'join-response': MAX_MESSAGE_BYTES,
  error: 16 * 1024,
  ...LOGS_MESSAGE_BYTES,
  ...EVENTS_MESSAGE_BYTES,
  ...CHUNKS_MESSAGE_BYTES,
  ...FORWARD_MESSAGE_BYTES,
  ...MEMBERSHIP_BYTES,
  ...REPORT_BYTES,
  ...VOLUMES_MESSAGE_BYTES
}

export const isEntries = (msg: WireMessage): msg is EntriesMessage => msg.type === 'entries'
export const isSyncRequest = (msg: WireMessage): msg is SyncRequestMessage => msg.type === 'sync-request'
export const isSyncResponse = (msg: WireMessage): msg is SyncResponseMessage => msg.type === 'sync-response'
export const isJoinRequest = (msg: WireMessage): msg is JoinRequestMessage => msg.type === 'join-request'
export const isJoinResponse = (msg: WireMessage): msg is JoinResponseMessage => msg.type === 'join-response'
export const isErrorMessage = (msg: WireMessage): msg is ErrorMessage => msg.type === 'error'

export interface DecodeOptions {
  /** refuse anything larger, whatever its type (capped at MAX_MESSAGE_BYTES) */
  maxBytes?: number
  /** refuse other types, e.g. only `['heartbeat']` on the heartbeat topic */
  types?: readonly WireMessageType[]
}

const INVITE_ID_PATTERN = /^[0-9a-f]{16,64}$/
const SECRET_PATTERN = /^[A-Za-z0-9+/]{43}=$/
const CURSOR_PATTERN = /^\d{15}\.\d{6}\/12D3KooW[1-9A-HJ-NP-Za-km-z]{44}\/\d{1,16}$/
const cursor = (value: unknown, path: string): string => pattern(value, path, CURSOR_PATTERN, 'must be a page cursor (hlc/author/seq)')
const CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const TYPE_PREFIX = '{"type":"'
const TYPE_PREFIX_BYTES = new TextEncoder().encode(TYPE_PREFIX)
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

const checkers: Record<WireMessageType, (value: unknown) => WireMessage> = {
  ...logsCheckers,
  ...eventsCheckers,
  ...chunksCheckers,
  ...forwardCheckers,
  ...volumesCheckers,
  entries: (value) => {
    const record = object(value, 'entries message', new Set(['type', 'entries']))
    return { type: 'entries', entries: entries(record.entries, 'entries', MAX_GOSSIP_ENTRIES) }
  },
  'sync-request': (value) => {
    const record = object(value, 'sync-request', new Set(['type', 'marks', 'digest', 'after']))
    const message: SyncRequestMessage = { type: 'sync-request', marks: marks(record.marks, 'sync-request.marks', MAX_MARKS), digest: token(record.digest, 'sync-request.digest', 0, 128) }
    if (record.after !== undefined) message.after = cursor(record.after, 'sync-request.after')
    return message
  },
  'sync-response': (value) => {
    const record = object(value, 'sync-response', new Set(['type', 'entries', 'marks', 'more', 'cursor']))
    const message: SyncResponseMessage = {
      type: 'sync-response',
      entries: entries(record.entries, 'sync-response.entries', MAX_SYNC_ENTRIES),
      marks: marks(record.marks, 'sync-response.marks', MAX_MARKS),
      more: bool(record.more, 'sync-response.more')
    }
    if (record.cursor !== undefined) message.cursor = cursor(record.cursor, 'sync-response.cursor')
    return message
  },
  'join-request': (value) => {
    const record = object(value, 'join-request', new Set(['type', 'inviteId', 'secret', 'peerId', 'org', 'addrs', 'labels', 'capacity', 'recovery']))
    const message: JoinRequestMessage = {
      type: 'join-request',
      inviteId: pattern(record.inviteId, 'join-request.inviteId', INVITE_ID_PATTERN, 'must be 16 to 64 lower-case hex digits'),
      secret: pattern(record.secret, 'join-request.secret', SECRET_PATTERN, 'must be the base64 of 32 bytes'),
      peerId: peerId(record.peerId, 'join-request.peerId'),
      addrs: addrs(record.addrs, 'join-request.addrs')
    }
    if (record.org !== undefined) message.org = name(record.org, 'join-request.org')
    if (record.labels !== undefined) message.labels = labels(record.labels, 'join-request.labels')
    if (record.capacity !== undefined) message.capacity = capacity(record.capacity, 'join-request.capacity')
    if (record.recovery !== undefined) message.recovery = signature(record.recovery, 'join-request.recovery')
    return message
  },
  'join-response': (value) => {
    const ok = (value as Record<string, unknown> | null)?.ok
    if (ok === false) {
      const record = object(value, 'join-response', new Set(['type', 'ok', 'error', 'code']))
      return { type: 'join-response', ok: false, error: text(record.error, 'join-response.error'), code: pattern(record.code, 'join-response.code', CODE_PATTERN, 'must be a short code of letters, digits, ".", "_" or "-"') }
    }
    const record = object(value, 'join-response', new Set(['type', 'ok', 'org', 'meshId', 'root', 'entries']))
    if (ok !== true) fail('join-response.ok', 'must be true or false')
    const message: JoinResponseMessage = {
      type: 'join-response',
      ok: true,
      org: name(record.org, 'join-response.org'),
      meshId: text(record.meshId, 'join-response.meshId', 128),
      root: peerId(record.root, 'join-response.root')
    }
    if (message.meshId === '') fail('join-response.meshId', 'must not be empty')
    if (record.entries !== undefined) message.entries = entries(record.entries, 'join-response.entries', MAX_SYNC_ENTRIES)
    return message
  },

  error: (value) => {
    const record = object(value, 'error', new Set(['type', 'code', 'message']))
    return { type: 'error', code: pattern(record.code, 'error.code', CODE_PATTERN, 'must be a short code of letters, digits, ".", "_" or "-"'), message: text(record.message, 'error.message') }
  },
  ...membershipCheckers,
  ...reportCheckers
}

/** a stream protocol's refusal, its message cut to what the wire carries */
export function errorMessage (code: string, message: string): ErrorMessage {
  return { type: 'error', code, message: message.length > MAX_TEXT_LENGTH ? message.slice(0, MAX_TEXT_LENGTH - 1) + '…' : message }
}

/**
 * Checks a message and encodes it. Throws `InvalidMessageError` for a bad
 * message and `MessageTooLargeError` when it exceeds its type's limit (page
 * it: fewer entries per message).
 */
export function encodeMessage (msg: WireMessage): Uint8Array {
  return encodeChecked(msg).bytes
}

/**
 * `encodeMessage`, with the checked copy of the message the bytes hold: what `decodeMessage` of those bytes returns
 * (the wire tests prove the round trip field for field). The simulator hands that copy to the receiver instead of
 * parsing the bytes again; throws as `encodeMessage` does
 */
export function encodeChecked<M extends WireMessage> (msg: M): { bytes: Uint8Array, message: M } {
  const type = msg?.type
  if (!Object.hasOwn(checkers, type)) throw new InvalidMessageError(`Unknown message type ${JSON.stringify(String(type)).slice(0, 40)}`)
  // every checker builds its result with type as the first field, which the decoder reads before parsing
  const message = checkers[type](msg) as M
  const bytes = encoder.encode(type === 'ping' || type === 'ack' || type === 'gossip' || type === 'ping-req' ? membershipJson(message as PingMessage | AckMessage | PingReqMessage | GossipMessage) : JSON.stringify(message))
  const limit = MAX_MESSAGE_BYTES_BY_TYPE[type]
  if (bytes.length > limit) throw new MessageTooLargeError(`The ${type} message of ${bytes.length} bytes exceeds the limit of ${limit}; send fewer items per message`)
  return { bytes, message }
}

/**
 * Decodes and checks a message. Size limits (the caller's `maxBytes`, then
 * the type's own) and nesting depth are enforced before the JSON is parsed.
 */
export function decodeMessage (bytes: Uint8Array, options: DecodeOptions = {}): WireMessage {
  if (!(bytes instanceof Uint8Array)) throw new InvalidMessageError('A message must be bytes')
  const maxBytes = Math.min(options.maxBytes ?? MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES)
  if (bytes.length > maxBytes) throw new MessageTooLargeError(`A message of ${bytes.length} bytes exceeds the limit of ${maxBytes}`)
  const type = peekType(bytes)
  if (type === undefined) throw new InvalidMessageError('A message must be a JSON object whose first field is a known "type"')
  if (options.types !== undefined && !options.types.includes(type)) throw new InvalidMessageError(`The ${type} message is not expected here (expected ${options.types.join(' or ')})`)
  const limit = MAX_MESSAGE_BYTES_BY_TYPE[type]
  if (bytes.length > limit) throw new MessageTooLargeError(`The ${type} message of ${bytes.length} bytes exceeds the limit of ${limit}`)
  if (jsonDepthExceeds(bytes, MAX_JSON_DEPTH)) throw new InvalidMessageError(`The ${type} message nests more than ${MAX_JSON_DEPTH} levels deep`)
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch (err) {
    throw new InvalidMessageError(`The ${type} message is not valid UTF-8 JSON (${messageOf(err).slice(0, 100)})`)
  }
  // JSON keeps the last of two "type" fields; the limits above were chosen by the first
  if ((value as Record<string, unknown>).type !== type) throw new InvalidMessageError(`The ${type} message names another type further on`)
  return checkers[type](value)
}

/** the message type named by the first bytes, `{"type":"<type>"` */
function peekType (bytes: Uint8Array): WireMessageType | undefined {
  if (bytes.length < TYPE_PREFIX_BYTES.length + 2) return undefined
  for (let i = 0; i < TYPE_PREFIX_BYTES.length; i++) {
    if (bytes[i] !== TYPE_PREFIX_BYTES[i]) return undefined
  }
  const end = bytes.indexOf(0x22, TYPE_PREFIX_BYTES.length)
  if (end === -1 || end - TYPE_PREFIX_BYTES.length > 20) return undefined
  let type = ''
  for (let i = TYPE_PREFIX_BYTES.length; i < end; i++) type += String.fromCharCode(bytes[i])
  return Object.hasOwn(checkers, type) ? type as WireMessageType : undefined
}

/** true when arrays and objects nest deeper than `limit`; one pass over the bytes, strings skipped */
function jsonDepthExceeds (bytes: Uint8Array, limit: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]
    if (inString) {
      if (byte === 0x5c) i++ // backslash: skip the escaped byte
      else if (byte === 0x22) inString = false
    } else if (byte === 0x22) {
      inString = true
    } else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > limit) return true
    } else if (byte === 0x5d || byte === 0x7d) {
      depth--
    }
  }
  return false
}
