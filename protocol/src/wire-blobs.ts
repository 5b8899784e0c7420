/**
 * The blob protocol's messages: how a node stores the encrypted files of its
 * services' backup repositories on other nodes (holders), by content hash.
 *
 * A frame is binary so that blob bytes travel as they are (no base64):
 *
 *     [u32 big-endian length of the header][header: UTF-8 JSON][payload bytes]
 *
 * The header is a discriminated union on `type`, checked field by field like
 * every wire message (wire-check.ts); the payload is at most
 * `BLOB_CHUNK_BYTES`. A blob larger than a chunk travels as several `blob-put`
 * requests, each bounded, so no single message costs a holder more than a
 * chunk of memory — however large the blob.
 *
 * - `blob-put` (request): `offset` and `size` place the payload in the blob
 *   whose sha256 is `hash`; the holder answers `blob-stored` with how many
 *   bytes it has (`complete` once the last chunk checked out), or `error`.
 * - `blob-has` (request): which of these blobs the holder has, with sizes.
 * - `blob-get` (stream request): the holder answers `blob-chunk` frames in
 *   order, or one `error` (`missing`, `corrupt`: it checked its copy against
 *   the hash before sending and found it damaged).
 */
import { InvalidMessageError, MessageTooLargeError } from './errors.js'
import { NAME_PATTERN } from './keys.js'
import { fail, list, object, pattern, text, whole } from './wire-check.js'

/** bytes of blob content in one frame */
export const BLOB_CHUNK_BYTES = 1024 * 1024
/** the largest blob a holder takes: restic's packs are 16 MiB by default and at most 128 MiB */
export const MAX_BLOB_BYTES = 256 * 1024 * 1024
/** bytes of one frame's JSON header */
export const MAX_BLOB_HEADER_BYTES = 4096
/** hashes in one `blob-has` */
export const MAX_HAS_HASHES = 1024
/** a `blob-has` header with `MAX_HAS_HASHES` hashes */
const MAX_HAS_HEADER_BYTES = 96 * 1024

const SHA256_PATTERN = /^[0-9a-f]{64}$/
const CODE_PATTERN = /^[a-z][a-z-]{0,31}$/

/** `org/service`: the repository a blob belongs to (one restic repository per service) */
export type RepoId = string & { __brand: 'RepoId' }

export interface BlobPutRequest { type: 'blob-put', repo: RepoId, hash: string, offset: number, size: number }
export interface BlobHasRequest { type: 'blob-has', repo: RepoId, hashes: string[] }
export interface BlobGetRequest { type: 'blob-get', repo: RepoId, hash: string }
export type BlobRequest = BlobPutRequest | BlobHasRequest | BlobGetRequest

/** `have`: bytes of the blob the holder holds now; `complete`: it is stored whole, checked and durable */
export interface BlobStoredResponse { type: 'blob-stored', have: number, complete: boolean }
/** `sizes[i]`: the size of `hashes[i]`, or -1 when the holder does not have it */
export interface BlobHasResponse { type: 'blob-has-ok', sizes: number[] }
export interface BlobChunkResponse { type: 'blob-chunk', offset: number, size: number }
export type BlobErrorCode = 'forbidden' | 'quota' | 'missing' | 'corrupt' | 'bad-hash' | 'bad-offset' | 'busy' | 'bad-request' | 'failed'
export interface BlobErrorResponse { type: 'error', code: BlobErrorCode, message: string }
export type BlobResponse = BlobStoredResponse | BlobHasResponse | BlobChunkResponse | BlobErrorResponse

export type BlobHeader = BlobRequest | BlobResponse

export interface BlobFrame<H extends BlobHeader = BlobHeader> {
  header: H
  /** blob bytes (`blob-put`, `blob-chunk`); empty otherwise */
  payload: Uint8Array
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })
const EMPTY = new Uint8Array(0)
const HAS_PREFIX = encoder.encode('{"type":"blob-has')

function startsWith (bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

export function isRepoId (value: unknown): value is RepoId {
  if (typeof value !== 'string') return false
  const parts = value.split('/')
  return parts.length === 2 && parts.every(p => NAME_PATTERN.test(p))
}

export function repoId (org: string, service: string): RepoId {
  const id = `${org}/${service}`
  if (!isRepoId(id)) throw new InvalidMessageError(`${id.slice(0, 140)} is not a repository id (org/service)`)
  return id
}

export function isSha256Hex (value: unknown): value is string {
  return typeof value === 'string' && SHA256_PATTERN.test(value)
}

export function encodeBlobFrame (header: BlobHeader, payload: Uint8Array = EMPTY): Uint8Array {
  const json = encoder.encode(JSON.stringify(header))
  const out = new Uint8Array(4 + json.length + payload.length)
  new DataView(out.buffer).setUint32(0, json.length)
  out.set(json, 4)
  out.set(payload, 4 + json.length)
  return out
}

/**
 * The frame, checked: throws `InvalidMessageError` (bad shape) or
 * `MessageTooLargeError` (header or payload over its limit) before parsing
 * more than the header's bytes. `types` refuses any other header type
 */
export function decodeBlobFrame<T extends BlobHeader['type']> (bytes: Uint8Array, types: readonly T[]): BlobFrame<Extract<BlobHeader, { type: T }>> {
  if (bytes.length < 4) throw new InvalidMessageError('blob frame is shorter than its length prefix')
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0)
  // only `blob-has` and its answer carry lists; the encoder writes `type` first, so the prefix tells them
  const limit = startsWith(bytes.subarray(4), HAS_PREFIX) ? MAX_HAS_HEADER_BYTES : MAX_BLOB_HEADER_BYTES
  if (length > limit) throw new MessageTooLargeError(`blob frame header is ${length} bytes; the limit is ${limit}`)
  if (4 + length > bytes.length) throw new InvalidMessageError('blob frame header runs past the end of the frame')
  const payload = bytes.subarray(4 + length)
  if (payload.length > BLOB_CHUNK_BYTES) throw new MessageTooLargeError(`blob frame carries ${payload.length} bytes; the limit is ${BLOB_CHUNK_BYTES}`)
  let raw: unknown
  try {
    raw = JSON.parse(decoder.decode(bytes.subarray(4, 4 + length)))
  } catch {
    throw new InvalidMessageError('blob frame header is not UTF-8 JSON')
  }
  const type = object(raw, 'blob frame').type
  if (typeof type !== 'string' || !(types as readonly string[]).includes(type)) fail('blob frame type', `must be one of ${types.join(', ')}`)
  const header: BlobHeader = checkers[type as BlobHeader['type']](raw)
  if (header.type === 'blob-put' || header.type === 'blob-chunk') {
    if (header.offset + payload.length > header.size) fail('blob frame', 'payload runs past the blob size')
  } else if (payload.length > 0) {
    fail('blob frame', `of type ${header.type} carries no payload`)
  }
  return { header: header as Extract<BlobHeader, { type: T }>, payload }
}

const repo = (value: unknown, path: string): RepoId => {
  if (!isRepoId(value)) fail(path, 'must be a repository id (org/service)')
  return value
}
const hash = (value: unknown, path: string): string => pattern(value, path, SHA256_PATTERN, 'must be a sha256 hex digest')

const checkers: { [T in BlobHeader['type']]: (value: unknown) => Extract<BlobHeader, { type: T }> } = {
  'blob-put': (value) => {
    const r = object(value, 'blob-put', new Set(['type', 'repo', 'hash', 'offset', 'size']))
    const size = whole(r.size, 'blob-put.size', 0, MAX_BLOB_BYTES)
    return { type: 'blob-put', repo: repo(r.repo, 'blob-put.repo'), hash: hash(r.hash, 'blob-put.hash'), offset: whole(r.offset, 'blob-put.offset', 0, size), size }
  },
  'blob-has': (value) => {
    const r = object(value, 'blob-has', new Set(['type', 'repo', 'hashes']))
    return { type: 'blob-has', repo: repo(r.repo, 'blob-has.repo'), hashes: list(r.hashes, 'blob-has.hashes', MAX_HAS_HASHES).map((h, i) => hash(h, `blob-has.hashes[${i}]`)) }
  },
  'blob-get': (value) => {
    const r = object(value, 'blob-get', new Set(['type', 'repo', 'hash']))
    return { type: 'blob-get', repo: repo(r.repo, 'blob-get.repo'), hash: hash(r.hash, 'blob-get.hash') }
  },
  'blob-stored': (value) => {
    const r = object(value, 'blob-stored', new Set(['type', 'have', 'complete']))
    if (typeof r.complete !== 'boolean') fail('blob-stored.complete', 'must be true or false')
    return { type: 'blob-stored', have: whole(r.have, 'blob-stored.have', 0, MAX_BLOB_BYTES), complete: r.complete }
  },
  'blob-has-ok': (value) => {
    const r = object(value, 'blob-has-ok', new Set(['type', 'sizes']))
    return { type: 'blob-has-ok', sizes: list(r.sizes, 'blob-has-ok.sizes', MAX_HAS_HASHES).map((s, i) => s === -1 ? -1 : whole(s, `blob-has-ok.sizes[${i}]`, 0, MAX_BLOB_BYTES)) }
  },
  'blob-chunk': (value) => {
    const r = object(value, 'blob-chunk', new Set(['type', 'offset', 'size']))
    const size = whole(r.size, 'blob-chunk.size', 0, MAX_BLOB_BYTES)
    return { type: 'blob-chunk', offset: whole(r.offset, 'blob-chunk.offset', 0, size), size }
  },
  error: (value) => {
    const r = object(value, 'error', new Set(['type', 'code', 'message']))
    return { type: 'error', code: pattern(r.code, 'error.code', CODE_PATTERN, 'must be an error code') as BlobErrorCode, message: text(r.message, 'error.message') }
  }
}
