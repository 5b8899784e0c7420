/**
 * The chunk store in memory: for tests and the simulator. Passes the same
 * conformance suite as the store on disk (test/chunk-store-suite.ts).
 */
import { sha256Hex } from '@minga/protocol'
import { ChunkMismatchError } from '../../errors.js'
import type { ChunkStore } from './types.js'

/** chunks in a Map; `damage(digest)` flips a byte of one, as a bad disk would */
export class MemoryChunkStore implements ChunkStore {
  private readonly chunks = new Map<string, Uint8Array>()
  private readonly rootSet = new Set<string>()
  refused = 0

  has (digest: string): boolean {
    return this.chunks.has(digest)
  }

  async get (digest: string): Promise<Uint8Array | undefined> {
    const bytes = this.chunks.get(digest)
    if (bytes === undefined) return undefined
    if (sha256Hex(bytes) !== digest) {
      this.refused++
      this.chunks.delete(digest)
      return undefined
    }
    return bytes
  }

  async put (digest: string, bytes: Uint8Array): Promise<void> {
    if (sha256Hex(bytes) !== digest) {
      this.refused++
      throw new ChunkMismatchError(`Chunk bytes do not match their digest ${digest.slice(0, 12)}; refused`)
    }
    this.chunks.set(digest, Uint8Array.from(bytes))
  }

  async delete (digest: string): Promise<void> {
    this.chunks.delete(digest)
  }

  digests (): Iterable<string> {
    return this.chunks.keys()
  }

  roots (): string[] {
    return [...this.rootSet]
  }

  async markRoot (root: string): Promise<void> {
    this.rootSet.add(root)
  }

  async unmarkRoot (root: string): Promise<void> {
    this.rootSet.delete(root)
  }

  usage (): { chunks: number, bytes: number } {
    let bytes = 0
    for (const chunk of this.chunks.values()) bytes += chunk.length
    return { chunks: this.chunks.size, bytes }
  }

  /** test hook: corrupt a stored chunk */
  damage (digest: string): void {
    const bytes = this.chunks.get(digest)
    if (bytes !== undefined && bytes.length > 0) bytes[0] ^= 0xff
  }
}
