/**
 * Files into chunks and back: a file is cut into `CHUNK_BYTES` pieces, each
 * stored by its sha256, while the whole file is hashed too; reading a file
 * back yields its chunks in order from the store, each checked by the store.
 */
import { createHash } from 'node:crypto'
import { CHUNK_BYTES, sha256Hex, type FileRole, type IndexedFile } from '@minga/protocol'
import { ChunkMissingError } from '../../errors.js'
import type { ChunkStore } from './types.js'

/**
 * Stores a stream of bytes as chunks; returns its index entry. Memory: at
 * most one chunk and the pieces of one read
 */
export async function storeFile (store: ChunkStore, role: FileRole, data: AsyncIterable<Uint8Array>): Promise<IndexedFile> {
  const whole = createHash('sha256')
  const chunks: string[] = []
  let size = 0
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  const flush = async (): Promise<void> => {
    const bytes = pending.length === 1 ? pending[0] : Buffer.concat(pending)
    pending = []
    pendingBytes = 0
    const digest = sha256Hex(bytes)
    if (!store.has(digest)) await store.put(digest, bytes)
    chunks.push(digest)
  }
  for await (const piece of data) {
    whole.update(piece)
    size += piece.length
    let at = 0
    while (at < piece.length) {
      const take = Math.min(CHUNK_BYTES - pendingBytes, piece.length - at)
      // a copy: the reader may reuse its buffer
      pending.push(Uint8Array.prototype.slice.call(piece, at, at + take))
      pendingBytes += take
      at += take
      if (pendingBytes === CHUNK_BYTES) await flush()
    }
  }
  if (pendingBytes > 0) await flush()
  return { role, digest: whole.digest('hex'), size, chunks }
}

/** a file's bytes, chunk by chunk, from the store; ChunkMissingError when one is not there (or was found damaged) */
export async function * readFile (store: ChunkStore, file: IndexedFile): AsyncIterable<Uint8Array> {
  for (const digest of file.chunks) {
    const bytes = await store.get(digest)
    if (bytes === undefined) throw new ChunkMissingError(`Chunk ${digest.slice(0, 12)} of ${file.digest.slice(0, 12)} is not on this node`)
    yield bytes
  }
}

/** all of a small file's bytes (a config, an index) */
export async function readWhole (store: ChunkStore, file: IndexedFile): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const part of readFile(store, file)) parts.push(part)
  return parts.length === 1 ? parts[0] : Buffer.concat(parts)
}
