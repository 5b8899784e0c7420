/**
 * How the mesh carries large content (images, scanner databases, git
 * bundles, build logs): cut into chunks of at most `CHUNK_BYTES`, each
 * stored and sent by the sha256 of its bytes, and described by an index,
 * itself one chunk, whose sha256 (the *root*) is what a signed record names.
 * A node that holds the index knows the exact bytes of every chunk and every
 * file, so it can take chunks from any node, trusted or not, and refuse the
 * ones that do not match: a signed root pins everything below it.
 *
 * The index is JSON (type first, like wire messages):
 *
 *     {"type":"blob-index","kind":"image","chunk":1048576,
 *      "files":[{"role":"config","digest":"<hex>","size":1520,"chunks":"<hex>"},
 *               {"role":"layer","digest":"<hex>","size":5243392,"chunks":"<hex><hex>…"}]}
 *
 * `digest` is the sha256 of the whole file (an image's config digest is its
 * id, a layer's is its diff id), `chunks` the chunks' digests, concatenated,
 * in order. An image's first file is its config, the others its layers,
 * base first; other kinds hold one `file`.
 */
import { createHash } from 'node:crypto'
import { InvalidMessageError, MessageTooLargeError } from './errors.js'
import { fail, list, object, pattern, whole } from './wire-check.js'

/** bytes of one chunk, at most */
export const CHUNK_BYTES = 1024 * 1024
/** an index is one chunk */
export const MAX_INDEX_BYTES = CHUNK_BYTES
export const MAX_INDEX_FILES = 1024
/** chunks an index can list: its bytes are mostly 64 hex digits per chunk */
export const MAX_INDEX_CHUNKS = Math.floor((MAX_INDEX_BYTES - 64 * 1024) / 64)

export type BlobKind = 'image' | 'file'
export type FileRole = 'config' | 'layer' | 'file'

export interface IndexedFile {
  role: FileRole
  /** sha256 (hex) of the whole file */
  digest: string
  size: number
  /** sha256 (hex) of each chunk, in order */
  chunks: string[]
}

export interface BlobIndex {
  kind: BlobKind
  files: IndexedFile[]
}

const HEX = /^[0-9a-f]{64}$/
const CHUNK_LIST = /^(?:[0-9a-f]{64})*$/
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** sha256 (hex) of bytes */
export function sha256Hex (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** how many chunks a file of `size` bytes is cut into */
export function chunkCount (size: number): number {
  return Math.ceil(size / CHUNK_BYTES)
}

/** every chunk an index names, each once, in order of first appearance */
export function chunksOfIndex (index: BlobIndex): string[] {
  const seen = new Set<string>()
  for (const file of index.files) for (const chunk of file.chunks) seen.add(chunk)
  return [...seen]
}

/** the index's bytes (canonical: the encoder writes fields in one order) and its root */
export function encodeBlobIndex (index: BlobIndex): { bytes: Uint8Array, root: string } {
  checkIndex(index)
  const json = JSON.stringify({
    type: 'blob-index',
    kind: index.kind,
    chunk: CHUNK_BYTES,
    files: index.files.map(f => ({ role: f.role, digest: f.digest, size: f.size, chunks: f.chunks.join('') }))
  })
  const bytes = encoder.encode(json)
  if (bytes.length > MAX_INDEX_BYTES) throw new MessageTooLargeError(`A blob index of ${bytes.length} bytes exceeds the limit of ${MAX_INDEX_BYTES}; the content has too many chunks for one index`)
  return { bytes, root: sha256Hex(bytes) }
}

/**
 * The index in these bytes, checked field by field: throws
 * `InvalidMessageError` (bad shape, chunk counts that do not fit the sizes,
 * or bytes that are not `root`'s when it is given) or `MessageTooLargeError`
 */
export function decodeBlobIndex (bytes: Uint8Array, root?: string): BlobIndex {
  if (bytes.length > MAX_INDEX_BYTES) throw new MessageTooLargeError(`A blob index of ${bytes.length} bytes exceeds the limit of ${MAX_INDEX_BYTES}`)
  if (root !== undefined && sha256Hex(bytes) !== root) throw new InvalidMessageError(`The blob index does not match its digest ${root.slice(0, 12)}`)
  let raw: unknown
  try {
    raw = JSON.parse(decoder.decode(bytes))
  } catch {
    throw new InvalidMessageError('A blob index must be UTF-8 JSON')
  }
  const r = object(raw, 'blob-index', new Set(['type', 'kind', 'chunk', 'files']))
  if (r.type !== 'blob-index') fail('blob-index.type', 'must be "blob-index"')
  if (r.kind !== 'image' && r.kind !== 'file') fail('blob-index.kind', 'must be image or file')
  if (r.chunk !== CHUNK_BYTES) fail('blob-index.chunk', `must be ${CHUNK_BYTES}`)
  const files = list(r.files, 'blob-index.files', MAX_INDEX_FILES).map((value, i): IndexedFile => {
    const path = `blob-index.files[${i}]`
    const f = object(value, path, new Set(['role', 'digest', 'size', 'chunks']))
    if (f.role !== 'config' && f.role !== 'layer' && f.role !== 'file') fail(`${path}.role`, 'must be config, layer or file')
    const chunks = pattern(f.chunks, `${path}.chunks`, CHUNK_LIST, 'must be sha256 hex digests, concatenated')
    return {
      role: f.role,
      digest: pattern(f.digest, `${path}.digest`, HEX, 'must be a sha256 hex digest'),
      size: whole(f.size, `${path}.size`, 0, MAX_INDEX_CHUNKS * CHUNK_BYTES),
      chunks: chunks.match(/.{64}/g) ?? []
    }
  })
  const index: BlobIndex = { kind: r.kind, files }
  checkIndex(index)
  return index
}

function checkIndex (index: BlobIndex): void {
  if (index.files.length === 0) fail('blob-index.files', 'must list at least one file')
  if (index.files.length > MAX_INDEX_FILES) fail('blob-index.files', `has more than ${MAX_INDEX_FILES} files`)
  let total = 0
  index.files.forEach((f, i) => {
    if (f.chunks.length !== chunkCount(f.size)) fail(`blob-index.files[${i}]`, `of ${f.size} bytes must have ${chunkCount(f.size)} chunks`)
    if (!HEX.test(f.digest) || !f.chunks.every(c => HEX.test(c))) fail(`blob-index.files[${i}]`, 'must name its digests in sha256 hex')
    total += f.chunks.length
  })
  if (total > MAX_INDEX_CHUNKS) fail('blob-index', `lists ${total} chunks (at most ${MAX_INDEX_CHUNKS})`)
  if (index.kind === 'image') {
    if (index.files[0].role !== 'config' || index.files.slice(1).some(f => f.role !== 'layer')) fail('blob-index.files', 'of an image are its config, then its layers')
    if (index.files[0].size > CHUNK_BYTES) fail('blob-index.files[0]', `is an image config over ${CHUNK_BYTES} bytes`)
  } else if (index.files.length !== 1 || index.files[0].role !== 'file') {
    fail('blob-index.files', 'of a file is one file')
  }
}
