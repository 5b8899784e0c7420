/**
 * A service's restic repository, kept on other nodes: the `ResticFiles` a
 * REST session serves when restic backs up or restores through the mesh.
 *
 * - Listings come from the manifest the session starts from (the union of
 *   the manifests the mesh's entries point at) plus what the session wrote,
 *   minus what it removed.
 * - A write is a blob put on R holders (blob-client.ts); it is acknowledged
 *   to restic only once they hold it, so a snapshot restic reports done is
 *   durable on R nodes.
 * - A read fetches the blob once into a local cache and serves ranges from
 *   there: small files (config, keys, index, snapshots) in a cache shared by
 *   every session (they are content-addressed, so never stale), packs in
 *   this session's cache, dropped once it holds more than `packCacheBytes`.
 * - Locks live only in the session: one restic run per repository at a time
 *   is the node's own rule, and holders never see them.
 * - A removal only drops the file from the session's listing; holders drop
 *   blobs when an owner-signed entry says so (see mesh-repository.ts).
 */
import { createReadStream } from 'node:fs'
import { copyFile, mkdir, open, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { RepoId } from '@minga/protocol'
import type { BlobClient } from './blob-client.js'
import { hashFile } from './blob-store.js'
import { unionManifests, type Manifest } from './manifest.js'
import type { ResticFileInfo, ResticFiles, ResticFileType } from './rest-server.js'

export interface MeshFilesInit {
  repo: RepoId
  blobs: BlobClient
  /** the repository as the mesh knows it when the session starts */
  manifest: Manifest
  /** content-addressed cache of small files, shared across sessions */
  cacheDir: string
  /** this session's folder for packs; removed on close */
  sessionDir: string
  /** bytes of packs the session keeps cached, at most */
  packCacheBytes?: number
  signal?: AbortSignal
}

export interface SessionChanges {
  written: Array<{ type: ResticFileType, name: string, size: number, hash: string }>
  removed: Array<{ type: ResticFileType, name: string }>
}

const DEFAULT_PACK_CACHE = 512 * 1024 * 1024

export class MeshFiles implements ResticFiles {
  private readonly manifest: Manifest
  private readonly locks = new Map<string, Buffer>()
  private readonly packs = new Map<string, number>()
  private packBytes = 0
  private readonly fetching = new Map<string, Promise<string>>()
  readonly changes: SessionChanges = { written: [], removed: [] }
  readonly stats = { blobsWritten: 0, bytesWritten: 0, blobsFetched: 0, bytesFetched: 0 }

  constructor (private readonly init: MeshFilesInit) {
    this.manifest = unionManifests([init.manifest])
  }

  /** the repository's files as they stand after this session */
  current (): Manifest {
    return unionManifests([this.manifest])
  }

  async create (): Promise<void> {
    await mkdir(this.init.cacheDir, { recursive: true })
    await mkdir(this.init.sessionDir, { recursive: true })
  }

  async list (type: Exclude<ResticFileType, 'config'>): Promise<ResticFileInfo[]> {
    if (type === 'locks') return [...this.locks].map(([name, bytes]) => ({ name, size: bytes.length }))
    return Object.entries(this.manifest.files[type]).map(([name, size]) => ({ name, size }))
  }

  async stat (type: ResticFileType, name: string): Promise<number | undefined> {
    if (type === 'locks') return this.locks.get(name)?.length
    if (type === 'config') return this.manifest.config?.size
    return this.manifest.files[type][name]
  }

  async read (type: ResticFileType, name: string, range?: { start: number, end?: number }): Promise<{ size: number, body: AsyncIterable<Uint8Array> } | undefined> {
    if (type === 'locks') {
      const bytes = this.locks.get(name)
      if (bytes === undefined) return undefined
      const slice = bytes.subarray(range?.start ?? 0, range?.end === undefined ? undefined : range.end + 1)
      return { size: bytes.length, body: (async function * () { yield slice })() }
    }
    const hash = type === 'config' ? this.manifest.config?.hash : (this.manifest.files[type][name] === undefined ? undefined : name)
    const size = await this.stat(type, name)
    if (hash === undefined || size === undefined) return undefined
    const start = range?.start ?? 0
    const end = Math.min(range?.end ?? size - 1, size - 1)
    if (end < start) return { size, body: (async function * () {})() }
    // a pack evicted between its fetch and this open is fetched again
    let handle
    for (let attempt = 0; handle === undefined; attempt++) {
      const path = await this.local(type, hash)
      handle = await open(path, 'r').catch((err) => { if (attempt > 0 || err.code !== 'ENOENT') throw err })
    }
    return { size, body: createReadStream('', { fd: handle, start, end }) }
  }

  async write (type: ResticFileType, name: string, path: string, size: number): Promise<void> {
    if (type === 'locks') {
      this.locks.set(name, await readFile(path))
      return
    }
    const hash = type === 'config' ? await hashFile(path) : name
    const file = await open(path, 'r')
    try {
      await this.init.blobs.put(this.init.repo, hash, size, async (offset, length) => {
        const buffer = Buffer.alloc(length)
        const { bytesRead } = await file.read(buffer, 0, length, offset)
        return buffer.subarray(0, bytesRead)
      }, { signal: this.init.signal })
    } finally {
      await file.close()
    }
    if (type !== 'data') await copyFile(path, join(this.init.cacheDir, hash))
    if (type === 'config') this.manifest.config = { hash, size }
    else this.manifest.files[type][name] = size
    this.changes.written.push({ type, name, size, hash })
    this.stats.blobsWritten++
    this.stats.bytesWritten += size
  }

  async remove (type: ResticFileType, name: string): Promise<void> {
    if (type === 'locks') {
      this.locks.delete(name)
      return
    }
    if (type === 'config') return
    delete this.manifest.files[type][name]
    this.changes.removed.push({ type, name })
  }

  async close (): Promise<void> {
    await rm(this.init.sessionDir, { recursive: true, force: true })
  }

  /** a local copy of the blob: from a cache, or fetched from the holders (once, however many reads ask) */
  private async local (type: ResticFileType, hash: string): Promise<string> {
    const shared = type !== 'data'
    const path = join(shared ? this.init.cacheDir : this.init.sessionDir, hash)
    if (await exists(path)) return path
    let pending = this.fetching.get(hash)
    if (pending === undefined) {
      pending = this.fetch(hash, path, shared).finally(() => this.fetching.delete(hash))
      this.fetching.set(hash, pending)
    }
    return await pending
  }

  private async fetch (hash: string, path: string, shared: boolean): Promise<string> {
    const result = await this.init.blobs.fetchToFile(this.init.repo, hash, path, { signal: this.init.signal })
    this.stats.blobsFetched++
    this.stats.bytesFetched += result.size
    if (!shared) {
      this.packs.set(hash, result.size)
      this.packBytes += result.size
      await this.evictPacks(hash)
    }
    return path
  }

  /** drops the oldest cached packs beyond the limit (restic 0.14 reads each pack of a restore in one go) */
  private async evictPacks (keep: string): Promise<void> {
    const limit = this.init.packCacheBytes ?? DEFAULT_PACK_CACHE
    for (const [hash, size] of this.packs) {
      if (this.packBytes <= limit) return
      if (hash === keep || this.fetching.has(hash)) continue
      this.packs.delete(hash)
      this.packBytes -= size
      await rm(join(this.init.sessionDir, hash), { force: true })
    }
  }
}

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}
