/**
 * The chunk store on disk: `<dir>/chunks/<first two hex>/<sha256>` holds a
 * chunk's bytes, `<dir>/roots/<sha256>` marks a root held whole. A chunk is
 * written to `<dir>/tmp`, fsynced, and renamed into place only when its
 * bytes hash to its name, so a crash leaves no torn chunk under its name;
 * what a crash leaves in tmp is dropped when the store opens. Every read is
 * checked against the name again: a chunk damaged on disk is dropped (and
 * counted), never served.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { sha256Hex } from '@minga/protocol'
import { logger } from '@libp2p/logger'
import { ChunkMismatchError } from '../errors.js'
import { errorText } from '../core/logger.js'
import type { ChunkStore } from '../core/images/types.js'

const log = logger('minga:chunks')
const HEX = /^[0-9a-f]{64}$/

/** chunks by digest in a folder (see above); `DiskChunkStore.open(dir)` */
export class DiskChunkStore implements ChunkStore {
  private readonly sizes = new Map<string, number>()
  private readonly rootSet = new Set<string>()
  private bytes = 0
  refused = 0

  private constructor (readonly dir: string) {}

  /** opens (or creates) the store in `dir`: counts what it holds, drops unfinished writes */
  static async open (dir: string): Promise<DiskChunkStore> {
    const store = new DiskChunkStore(dir)
    await rm(join(dir, 'tmp'), { recursive: true, force: true })
    for (const sub of ['tmp', 'chunks', 'roots']) await mkdir(join(dir, sub), { recursive: true })
    for (const prefix of await readdir(join(dir, 'chunks'))) {
      for (const name of await readdir(join(dir, 'chunks', prefix))) {
        if (!HEX.test(name)) continue
        const size = (await stat(join(dir, 'chunks', prefix, name))).size
        store.sizes.set(name, size)
        store.bytes += size
      }
    }
    for (const name of await readdir(join(dir, 'roots'))) if (HEX.test(name) && store.sizes.has(name)) store.rootSet.add(name)
    return store
  }

  has (digest: string): boolean {
    return this.sizes.has(digest)
  }

  async get (digest: string): Promise<Uint8Array | undefined> {
    if (!this.sizes.has(digest)) return undefined
    let bytes: Uint8Array
    try {
      bytes = await readFile(this.pathOf(digest))
    } catch (err) {
      log.error('chunk %s unreadable: %s', digest, errorText(err))
      this.forget(digest)
      return undefined
    }
    if (sha256Hex(bytes) !== digest) {
      this.refused++
      log.error('chunk %s is damaged on disk; dropped', digest)
      await this.delete(digest)
      return undefined
    }
    return bytes
  }

  async put (digest: string, bytes: Uint8Array): Promise<void> {
    if (!HEX.test(digest) || createHash('sha256').update(bytes).digest('hex') !== digest) {
      this.refused++
      throw new ChunkMismatchError(`Chunk bytes do not match their digest ${digest.slice(0, 12)}; refused`)
    }
    if (this.sizes.has(digest)) return
    const tmp = join(this.dir, 'tmp', `${digest}.${randomBytes(4).toString('hex')}`)
    const file = await open(tmp, 'w')
    try {
      await file.writeFile(bytes)
      await file.sync()
    } finally {
      await file.close()
    }
    await mkdir(join(this.dir, 'chunks', digest.slice(0, 2)), { recursive: true })
    await rename(tmp, this.pathOf(digest))
    if (!this.sizes.has(digest)) {
      this.sizes.set(digest, bytes.length)
      this.bytes += bytes.length
    }
  }

  async delete (digest: string): Promise<void> {
    this.forget(digest)
    await rm(this.pathOf(digest), { force: true })
    if (this.rootSet.has(digest)) await this.unmarkRoot(digest)
  }

  digests (): Iterable<string> {
    return this.sizes.keys()
  }

  roots (): string[] {
    return [...this.rootSet]
  }

  async markRoot (root: string): Promise<void> {
    if (this.rootSet.has(root)) return
    const file = await open(join(this.dir, 'roots', root), 'w')
    await file.sync()
    await file.close()
    this.rootSet.add(root)
  }

  async unmarkRoot (root: string): Promise<void> {
    this.rootSet.delete(root)
    await rm(join(this.dir, 'roots', root), { force: true })
  }

  usage (): { chunks: number, bytes: number } {
    return { chunks: this.sizes.size, bytes: this.bytes }
  }

  private forget (digest: string): void {
    const size = this.sizes.get(digest)
    if (size === undefined) return
    this.sizes.delete(digest)
    this.bytes -= size
  }

  private pathOf (digest: string): string {
    return join(this.dir, 'chunks', digest.slice(0, 2), digest)
  }
}
