/**
 * The chunks protocol (`protocols.chunks`): how a node takes the chunks of
 * an image (or any content a blob index describes, blob-index.ts) from the
 * nodes that hold them. Every request names the root it is for, so the
 * serving node can check that the asker may read it (a private image is
 * served only to its organization's nodes) and that the chunk belongs to it.
 *
 * - `chunks-has` (request/response): which of these chunks of `root` do you
 *   hold? → `chunks-have`, a string of `1` and `0`, one per chunk asked.
 * - `chunks-held` (request/response): which roots do you hold whole? →
 *   `chunks-held-ok` (`minga image ls` shows holders from it).
 * - `chunks-get` (stream): send me these chunks of `root` → one binary
 *   frame per chunk, in order (`encodeChunkFrame`), or an `error` frame.
 *
 * A chunk frame is binary, so the bytes travel as they are:
 *
 *     [u32 big-endian length of the header][header: UTF-8 JSON][payload]
 *
 * with the header `{"type":"chunk","digest":<hex>,"size":n}` and n bytes of
 * payload, or `{"type":"error","code":…,"message":…}` and none. Requests and
 * answers are wire messages (wire.ts): type first, a size limit per type,
 * every field checked.
 */
import { CHUNK_BYTES } from './blob-index.js'
import { InvalidMessageError, MessageTooLargeError } from './errors.js'
import { fail, list, object, pattern, text, whole } from './wire-check.js'

/** chunks one `chunks-has` asks about */
export const MAX_HAS_CHUNKS = 1024
/** chunks one `chunks-get` stream carries */
export const MAX_GET_CHUNKS = 16
/** roots one `chunks-held-ok` lists */
export const MAX_HELD_ROOTS = 4096
/** bytes of a chunk frame's header */
export const MAX_CHUNK_HEADER_BYTES = 2048

const HEX = /^[0-9a-f]{64}$/
const HAVE = /^[01]*$/
const CODE = /^[a-z][a-z-]{0,31}$/

export interface ChunksHasMessage { type: 'chunks-has', root: string, chunks: string[] }
export interface ChunksHaveMessage { type: 'chunks-have', have: string }
export interface ChunksGetMessage { type: 'chunks-get', root: string, chunks: string[] }
export interface ChunksHeldMessage { type: 'chunks-held' }
export interface ChunksHeldOkMessage { type: 'chunks-held-ok', roots: string[] }

export type ChunksMessage = ChunksHasMessage | ChunksHaveMessage | ChunksGetMessage | ChunksHeldMessage | ChunksHeldOkMessage

export const CHUNKS_REQUEST_TYPES = ['chunks-has', 'chunks-get', 'chunks-held'] as const
export type ChunksRequest = ChunksHasMessage | ChunksGetMessage | ChunksHeldMessage

export const CHUNKS_MESSAGE_BYTES = {
  'chunks-has': 96 * 1024,
  'chunks-have': 4 * 1024,
  'chunks-get': 4 * 1024,
  'chunks-held': 64,
  'chunks-held-ok': 320 * 1024
} as const

const hex = (value: unknown, path: string): string => pattern(value, path, HEX, 'must be a sha256 hex digest')
const hexes = (value: unknown, path: string, max: number): string[] => list(value, path, max).map((v, i) => hex(v, `${path}[${i}]`))

export const chunksCheckers = {
  'chunks-has': (value: unknown): ChunksHasMessage => {
    const r = object(value, 'chunks-has', new Set(['type', 'root', 'chunks']))
    return { type: 'chunks-has', root: hex(r.root, 'chunks-has.root'), chunks: hexes(r.chunks, 'chunks-has.chunks', MAX_HAS_CHUNKS) }
  },
  'chunks-have': (value: unknown): ChunksHaveMessage => {
    const r = object(value, 'chunks-have', new Set(['type', 'have']))
    const have = pattern(r.have, 'chunks-have.have', HAVE, 'must be a string of 1 and 0')
    if (have.length > MAX_HAS_CHUNKS) fail('chunks-have.have', `answers at most ${MAX_HAS_CHUNKS} chunks`)
    return { type: 'chunks-have', have }
  },
  'chunks-get': (value: unknown): ChunksGetMessage => {
    const r = object(value, 'chunks-get', new Set(['type', 'root', 'chunks']))
    const chunks = hexes(r.chunks, 'chunks-get.chunks', MAX_GET_CHUNKS)
    if (chunks.length === 0) fail('chunks-get.chunks', 'must name at least one chunk')
    return { type: 'chunks-get', root: hex(r.root, 'chunks-get.root'), chunks }
  },
  'chunks-held': (value: unknown): ChunksHeldMessage => {
    object(value, 'chunks-held', new Set(['type']))
    return { type: 'chunks-held' }
  },
  'chunks-held-ok': (value: unknown): ChunksHeldOkMessage => {
    const r = object(value, 'chunks-held-ok', new Set(['type', 'roots']))
    return { type: 'chunks-held-ok', roots: hexes(r.roots, 'chunks-held-ok.roots', MAX_HELD_ROOTS) }
  }
}

export type ChunkFrameHeader =
  | { type: 'chunk', digest: string, size: number }
  | { type: 'error', code: string, message: string }

export interface ChunkFrame {
  header: ChunkFrameHeader
  /** the chunk's bytes; empty for an error */
  payload: Uint8Array
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })
const EMPTY = new Uint8Array(0)

/** a frame of the `chunks-get` stream: a chunk with its digest, or an error */
export function encodeChunkFrame (header: ChunkFrameHeader, payload: Uint8Array = EMPTY): Uint8Array {
  const json = encoder.encode(JSON.stringify(header.type === 'error' ? { type: 'error', code: header.code, message: header.message.slice(0, 1024) } : header))
  const out = new Uint8Array(4 + json.length + payload.length)
  new DataView(out.buffer).setUint32(0, json.length)
  out.set(json, 4)
  out.set(payload, 4 + json.length)
  return out
}

/**
 * The frame in these bytes, checked before its payload is looked at:
 * throws `InvalidMessageError` (bad header, a payload of another size than
 * the header says) or `MessageTooLargeError` (header or payload over its
 * limit). Does not check the payload against its digest: the reader does,
 * and counts what does not match
 */
export function decodeChunkFrame (bytes: Uint8Array): ChunkFrame {
  if (bytes.length < 4) throw new InvalidMessageError('A chunk frame is shorter than its length prefix')
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0)
  if (length > MAX_CHUNK_HEADER_BYTES) throw new MessageTooLargeError(`A chunk frame header of ${length} bytes exceeds the limit of ${MAX_CHUNK_HEADER_BYTES}`)
  if (4 + length > bytes.length) throw new InvalidMessageError('A chunk frame header runs past the end of the frame')
  const payload = bytes.subarray(4 + length)
  if (payload.length > CHUNK_BYTES) throw new MessageTooLargeError(`A chunk frame carries ${payload.length} bytes; the limit is ${CHUNK_BYTES}`)
  let raw: unknown
  try {
    raw = JSON.parse(decoder.decode(bytes.subarray(4, 4 + length)))
  } catch {
    throw new InvalidMessageError('A chunk frame header is not UTF-8 JSON')
  }
  const r = object(raw, 'chunk frame')
  if (r.type === 'chunk') {
    object(r, 'chunk', new Set(['type', 'digest', 'size']))
    const size = whole(r.size, 'chunk.size', 0, CHUNK_BYTES)
    if (size !== payload.length) fail('chunk', `says ${size} bytes but carries ${payload.length}`)
    return { header: { type: 'chunk', digest: hex(r.digest, 'chunk.digest'), size }, payload }
  }
  if (r.type === 'error') {
    object(r, 'error', new Set(['type', 'code', 'message']))
    if (payload.length > 0) fail('error', 'frame carries no payload')
    return { header: { type: 'error', code: pattern(r.code, 'error.code', CODE, 'must be an error code'), message: text(r.message, 'error.message') }, payload }
  }
  return fail('chunk frame.type', 'must be chunk or error')
}
