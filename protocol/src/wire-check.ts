/**
 * Field checks for wire messages. Each returns the clean value or throws
 * `InvalidMessageError` naming the field, so a decoder reads top to bottom
 * and a bad message costs at most one pass over it.
 */
import { parseEntry, type Entry } from './entry.js'
import { InvalidMessageError, messageOf } from './errors.js'
import { isPeerIdString, type PeerIdString } from './identity.js'
import { NAME_PATTERN } from './keys.js'

export const MAX_LABELS = 64
export const MAX_LABEL_VALUE_LENGTH = 256
export const MAX_ADDRS = 16
export const MAX_ADDR_LENGTH = 256
export const MAX_TEXT_LENGTH = 1024

const LABEL_KEY_PATTERN = /^[a-z0-9][a-z0-9._/-]{0,62}$/
const PRINTABLE_PATTERN = /^[\x21-\x7e]*$/
const SIG_PATTERN = /^[A-Za-z0-9+/]{86}==$/

export interface Capacity {
  /** millicores */
  cpu: number
  /** bytes */
  memory: number
}

/** throws InvalidMessageError `PATH RULE` */
export function fail (path: string, rule: string): never {
  throw new InvalidMessageError(`${path} ${rule}`)
}

/** a plain JSON object with no fields beyond `allowed` (any fields when it is not given: a map keyed by data) */
export function object (value: unknown, path: string, allowed?: ReadonlySet<string>): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object')
  const record = value as Record<string, unknown>
  if (allowed === undefined) return record
  for (const key in record) {
    if (!allowed.has(key)) fail(path, `has an unknown field ${JSON.stringify(key.slice(0, 40))}`)
  }
  return record
}

/** an array of at most `max` items, else InvalidMessageError */
export function list (value: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(value)) fail(path, 'must be a list')
  if (value.length > max) fail(path, `has ${value.length} items (at most ${max})`)
  return value
}

/** an integer from `min` to `max`, else InvalidMessageError */
export function whole (value: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) fail(path, `must be a whole number from ${min} to ${max}`)
  return value as number
}

/** true or false, else InvalidMessageError */
export function bool (value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, 'must be true or false')
  return value
}

/** printable ASCII without spaces, for ids, versions and digests */
export function token (value: unknown, path: string, min: number, max: number): string {
  if (typeof value !== 'string' || value.length < min || value.length > max || !PRINTABLE_PATTERN.test(value)) {
    fail(path, `must be ${min} to ${max} printable characters without spaces`)
  }
  return value
}

/** a string of at most `max` characters (default MAX_TEXT_LENGTH), else InvalidMessageError */
export function text (value: unknown, path: string, max = MAX_TEXT_LENGTH): string {
  if (typeof value !== 'string' || value.length > max) fail(path, `must be a string of at most ${max} characters`)
  return value
}

/** a string that matches `regex`, else InvalidMessageError saying `rule` */
export function pattern (value: unknown, path: string, regex: RegExp, rule: string): string {
  if (typeof value !== 'string' || !regex.test(value)) fail(path, rule)
  return value
}

/** the text of an Ed25519 peer id, else InvalidMessageError */
export function peerId (value: unknown, path: string): PeerIdString {
  if (!isPeerIdString(value)) fail(path, 'must be an Ed25519 peer id')
  return value
}

/** an organization or service name (NAME_PATTERN), else InvalidMessageError */
export function name (value: unknown, path: string): string {
  return pattern(value, path, NAME_PATTERN, 'must be an organization or service name')
}

/** base64 of a 64-byte Ed25519 signature, else InvalidMessageError */
export function signature (value: unknown, path: string): string {
  return pattern(value, path, SIG_PATTERN, 'must be a base64 Ed25519 signature')
}

/** `{ cpu, memory }`: millicores and bytes, whole numbers, no other field */
export function capacity (value: unknown, path: string): Capacity {
  const record = object(value, path, new Set(['cpu', 'memory']))
  return { cpu: whole(record.cpu, `${path}.cpu`), memory: whole(record.memory, `${path}.memory`) }
}

/** node labels: at most MAX_LABELS names of the label form, values at most MAX_LABEL_VALUE_LENGTH characters */
export function labels (value: unknown, path: string): Record<string, string> {
  const record = object(value, path)
  const out: Record<string, string> = {}
  let count = 0
  for (const key in record) {
    if (++count > MAX_LABELS) fail(path, `has more than ${MAX_LABELS} labels`)
    if (!LABEL_KEY_PATTERN.test(key)) fail(path, `has an invalid label name ${JSON.stringify(key.slice(0, 70))}`)
    out[key] = text(record[key], `${path}.${key}`, MAX_LABEL_VALUE_LENGTH)
  }
  return out
}

/** at most MAX_ADDRS multiaddrs, each printable and at most MAX_ADDR_LENGTH characters */
export function addrs (value: unknown, path: string): string[] {
  return list(value, path, MAX_ADDRS).map((addr, i) => {
    if (typeof addr !== 'string' || addr.length > MAX_ADDR_LENGTH || !addr.startsWith('/') || !PRINTABLE_PATTERN.test(addr)) {
      fail(`${path}[${i}]`, `must be a multiaddr of at most ${MAX_ADDR_LENGTH} characters`)
    }
    return addr
  })
}

/** peer id → seq, for anti-entropy */
export function marks (value: unknown, path: string, max: number): Record<string, number> {
  const record = object(value, path)
  const out: Record<string, number> = {}
  let count = 0
  for (const key in record) {
    if (++count > max) fail(path, `has more than ${max} authors`)
    if (!isPeerIdString(key)) fail(path, `has a key that is not a peer id: ${JSON.stringify(key.slice(0, 60))}`)
    out[key] = whole(record[key], `${path}.${key}`)
  }
  return out
}

/** at most `max` entries, each parsed and checked (parseEntry); InvalidMessageError names the first bad one */
export function entries (value: unknown, path: string, max: number): Entry[] {
  return list(value, path, max).map((entry, i) => {
    try {
      return parseEntry(entry)
    } catch (err) {
      return fail(`${path}[${i}]:`, messageOf(err))
    }
  })
}
