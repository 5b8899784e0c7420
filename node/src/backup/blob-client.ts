/**
 * The owner's side of the blob protocol: store a blob on R holders, and
 * fetch it back from whichever holder has a good copy.
 *
 * - `put` sends the blob chunk by chunk (each request bounded by
 *   BLOB_CHUNK_BYTES) to the first R nodes of the ranking, in parallel; a
 *   holder that refuses (quota, not reachable) is replaced by the next one.
 *   It resolves once R holders (or every eligible node, when fewer exist)
 *   hold it durably, and throws otherwise: the caller then does not
 *   acknowledge the write, so nothing is ever acknowledged on fewer copies.
 * - `fetch` asks the ranked holders in turn, checks the bytes against the
 *   hash (a holder is not trusted: a damaged or forged copy is refused and
 *   the next holder asked), and afterwards sends the good copy to the top-R
 *   holders that lacked it, so copies lost to a dead disk or a corrupt
 *   sector come back by being read.
 */
import { createHash } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import {
  BLOB_CHUNK_BYTES, decodeBlobFrame, encodeBlobFrame, protocols, type BlobErrorCode, type RepoId
} from '@minga/protocol'
import { DEFAULT_BACKUP_COPIES } from '@minga/scheduler'
import type { Mesh } from '../core/mesh.js'
import type { AbortOptions } from '../runtime/types.js'
import { BlobError, BlobUnavailableError } from './errors.js'
import { formatBytes } from './units.js'

export interface BlobClientInit {
  mesh: Mesh
  meshId: string
  /** nodes that may hold blobs of `repo` now, best first for `hash` (scheduler's rankHolders) */
  rank: (repo: RepoId, hash: string) => string[]
  /** copies of each blob (R) */
  copies?: number
  /** holders asked beyond the first R before a read gives up */
  readFallbacks?: number
  /** a holder served or held a damaged copy */
  onCorrupt?: (holder: string, repo: RepoId, hash: string) => void
}

/** reads `length` bytes at `offset` of the blob being stored */
export type BlobSource = (offset: number, length: number) => Promise<Uint8Array>

export interface FetchResult {
  size: number
  /** the holder that served the good copy */
  holder: string
  /** holders that lacked it or had it damaged, as `node: why` */
  failures: string[]
  /** top-R holders the good copy is being sent back to */
  repairing: string[]
}

const DEFAULT_READ_FALLBACKS = 6
const REQUEST_TIMEOUT = 60_000
/** chunk requests in flight to one holder */
const PUT_WINDOW = 4

export class BlobClient {
  readonly copies: number
  private readonly readFallbacks: number
  readonly stats = { stored: 0, bytesSent: 0, fetched: 0, bytesFetched: 0, fallbacks: 0, corrupt: 0, repaired: 0 }

  constructor (private readonly init: BlobClientInit) {
    this.copies = init.copies ?? DEFAULT_BACKUP_COPIES
    this.readFallbacks = init.readFallbacks ?? DEFAULT_READ_FALLBACKS
  }

  /** stores the blob on R holders; resolves with them, or throws naming what each refused */
  async put (repo: RepoId, hash: string, size: number, read: BlobSource, options: AbortOptions = {}): Promise<string[]> {
    const ranked = this.init.rank(repo, hash)
    if (ranked.length === 0) throw new BlobUnavailableError('No other node can hold backups yet: a backup needs at least one more node in the mesh (of another organization, preferably)')
    const want = Math.min(this.copies, ranked.length)
    const queue = [...ranked]
    const stored: string[] = []
    const failures: string[] = []
    const worker = async (): Promise<void> => {
      for (let holder = queue.shift(); holder !== undefined && stored.length < want; holder = queue.shift()) {
        try {
          await this.putOn(holder, repo, hash, size, read, options)
          stored.push(holder)
          return
        } catch (err: any) {
          if (options.signal?.aborted === true) throw err
          failures.push(`${holder.slice(-8)}: ${String(err?.message ?? err)}`)
        }
      }
    }
    await Promise.all(Array.from({ length: want }, worker))
    if (stored.length < want) {
      throw new BlobUnavailableError(`Blob ${hash.slice(0, 12)} (${formatBytes(size)}) is on ${stored.length} of ${want} holders; ${failures.slice(0, 4).join('; ')}`)
    }
    this.stats.stored++
    return stored
  }

  /** the blob's bytes, checked; for small blobs (manifests, restic's config, keys, snapshots) */
  async fetchBytes (repo: RepoId, hash: string, maxBytes: number, options: AbortOptions = {}): Promise<{ bytes: Uint8Array } & FetchResult> {
    let parts: Uint8Array[] = []
    let total = 0
    const result = await this.fetch(repo, hash, {
      begin: (size) => {
        if (size > maxBytes) throw new BlobError('bad-request', `Blob ${hash.slice(0, 12)} is ${formatBytes(size)}, more than the ${formatBytes(maxBytes)} expected`)
        parts = []
        total = 0
      },
      write: async (chunk) => { parts.push(chunk); total += chunk.length },
      commit: async () => {},
      abort: async () => { parts = [] }
    }, options)
    const bytes = Buffer.concat(parts, total)
    await this.repair(repo, hash, result, async (offset, length) => bytes.subarray(offset, offset + length), options)
    return { ...result, bytes }
  }

  /** fetches the blob into `path` (written next to it first, renamed once checked) */
  async fetchToFile (repo: RepoId, hash: string, path: string, options: AbortOptions = {}): Promise<FetchResult> {
    const temp = `${path}.part`
    let file: Awaited<ReturnType<typeof open>> | undefined
    const result = await this.fetch(repo, hash, {
      begin: async () => {
        await file?.close()
        file = await open(temp, 'w')
      },
      write: async (chunk) => { await file!.write(chunk) },
      commit: async () => {
        await file!.close()
        file = undefined
        await rename(temp, path)
      },
      abort: async () => {
        await file?.close().catch(() => {})
        file = undefined
        await rm(temp, { force: true })
      }
    }, options)
    if (result.repairing.length > 0) {
      const source = await open(path, 'r')
      try {
        await this.repair(repo, hash, result, async (offset, length) => {
          const buffer = Buffer.alloc(length)
          await source.read(buffer, 0, length, offset)
          return buffer
        }, options)
      } finally {
        await source.close()
      }
    }
    return result
  }

  /** sends the good copy to the top-R holders that lacked it; a holder that refuses again is left for the next read */
  private async repair (repo: RepoId, hash: string, result: FetchResult, read: BlobSource, options: AbortOptions): Promise<void> {
    await Promise.all(result.repairing.map(async holder => {
      try {
        await this.putOn(holder, repo, hash, result.size, read, options)
        this.stats.repaired++
      } catch {}
    }))
  }

  /**
   * Sends a good copy of the blob to `holders` (which lack it): fetched from
   * whichever holder has one. Resolves with how many of them now hold it
   */
  async copyTo (repo: RepoId, hash: string, maxBytes: number, holders: readonly string[], options: AbortOptions = {}): Promise<number> {
    const fetched = await this.fetchBytes(repo, hash, maxBytes, options)
    let copied = fetched.repairing.filter(h => holders.includes(h)).length
    const rest = holders.filter(h => !fetched.repairing.includes(h) && h !== fetched.holder)
    await Promise.all(rest.map(async holder => {
      try {
        await this.putOn(holder, repo, hash, fetched.size, async (offset, length) => fetched.bytes.subarray(offset, offset + length), options)
        this.stats.repaired++
        copied++
      } catch {}
    }))
    return copied
  }

  /** sizes of these blobs on one holder (-1: not there) */
  async has (holder: string, repo: RepoId, hashes: string[], options: AbortOptions = {}): Promise<number[]> {
    const answer = await this.init.mesh.request(holder, protocols.blobs(this.init.meshId), encodeBlobFrame({ type: 'blob-has', repo, hashes }), { signal: options.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT) })
    const { header } = decodeBlobFrame(answer, ['blob-has-ok', 'error'])
    if (header.type === 'error') throw new BlobError(header.code, header.message)
    if (header.sizes.length !== hashes.length) throw new BlobError('bad-request', `${holder} answered ${header.sizes.length} sizes for ${hashes.length} blobs`)
    return header.sizes
  }

  private async fetch (repo: RepoId, hash: string, sink: Sink, options: AbortOptions): Promise<FetchResult> {
    const ranked = this.init.rank(repo, hash).slice(0, this.copies + this.readFallbacks)
    const failures: string[] = []
    const lacking: string[] = []
    for (const [index, holder] of ranked.entries()) {
      try {
        const size = await this.fetchFrom(holder, repo, hash, sink, options)
        this.stats.fetched++
        this.stats.bytesFetched += size
        if (index > 0) this.stats.fallbacks++
        const repairing = lacking.filter(h => ranked.indexOf(h) < this.copies)
        return { size, holder, failures, repairing }
      } catch (err: any) {
        await sink.abort()
        if (options.signal?.aborted === true) throw err
        const code: BlobErrorCode | undefined = err instanceof BlobError ? err.code : undefined
        if (code === 'corrupt' || code === 'bad-hash') {
          this.stats.corrupt++
          this.init.onCorrupt?.(holder, repo, hash)
        }
        if (code === 'missing' || code === 'corrupt' || code === 'bad-hash') lacking.push(holder)
        failures.push(`${holder.slice(-8)}: ${String(err?.message ?? err)}`)
      }
    }
    throw new BlobUnavailableError(ranked.length === 0
      ? `No node can be asked for blob ${hash.slice(0, 12)} of ${repo}: no other node is live`
      : `No holder has a good copy of blob ${hash.slice(0, 12)} of ${repo} (asked ${ranked.length}): ${failures.slice(0, 4).join('; ')}`)
  }

  /** streams the blob from one holder into the sink; throws BlobError('bad-hash') when its bytes do not match */
  private async fetchFrom (holder: string, repo: RepoId, hash: string, sink: Sink, options: AbortOptions): Promise<number> {
    const { mesh, meshId } = this.init
    const signal = options.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT * 10)
    const digest = createHash('sha256')
    let received = 0
    let size = -1
    for await (const frame of mesh.stream(holder, protocols.blobGet(meshId), encodeBlobFrame({ type: 'blob-get', repo, hash }), { signal })) {
      const { header, payload } = decodeBlobFrame(frame, ['blob-chunk', 'error'])
      if (header.type === 'error') throw new BlobError(header.code, header.message)
      if (size < 0) {
        size = header.size
        await sink.begin(size)
      }
      if (header.size !== size || header.offset !== received) throw new BlobError('bad-offset', `${holder} sent bytes at ${header.offset} of ${header.size}, expected ${received} of ${size}`)
      digest.update(payload)
      await sink.write(payload)
      received += payload.length
    }
    if (size < 0 || received !== size) throw new BlobError('failed', `${holder} ended blob ${hash.slice(0, 12)} after ${received} of ${Math.max(size, 0)} bytes`)
    if (digest.digest('hex') !== hash) throw new BlobError('bad-hash', `${holder} sent bytes that do not hash to ${hash.slice(0, 12)}`)
    await sink.commit()
    return size
  }

  /**
   * One holder: every chunk, `PUT_WINDOW` in flight at once (a chunk's round
   * trip would otherwise bound the rate). The holder may answer at any chunk
   * that it has the blob already; if it lost chunks (it restarted), all are
   * sent once more
   */
  private async putOn (holder: string, repo: RepoId, hash: string, size: number, read: BlobSource, options: AbortOptions): Promise<void> {
    const { mesh, meshId } = this.init
    const offsets = size === 0 ? [0] : Array.from({ length: Math.ceil(size / BLOB_CHUNK_BYTES) }, (_, i) => i * BLOB_CHUNK_BYTES)
    for (let attempt = 0; attempt < 2; attempt++) {
      let complete = false
      let next = 0
      const send = async (): Promise<void> => {
        while (!complete && next < offsets.length) {
          const offset = offsets[next++]
          const chunk = size === 0 ? new Uint8Array(0) : await read(offset, Math.min(BLOB_CHUNK_BYTES, size - offset))
          const answer = await mesh.request(holder, protocols.blobs(meshId), encodeBlobFrame({ type: 'blob-put', repo, hash, offset, size }, chunk), { signal: options.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT) })
          const { header } = decodeBlobFrame(answer, ['blob-stored', 'error'])
          if (header.type === 'error') throw new BlobError(header.code, header.message)
          this.stats.bytesSent += chunk.length
          if (header.complete) complete = true
        }
      }
      await Promise.all(Array.from({ length: Math.min(PUT_WINDOW, offsets.length) }, send))
      if (complete) return
    }
    throw new BlobError('failed', `${holder} did not complete blob ${hash.slice(0, 12)} after every chunk was sent twice`)
  }
}

interface Sink {
  begin: (size: number) => void | Promise<void>
  write: (chunk: Uint8Array) => Promise<void>
  commit: () => Promise<void>
  abort: () => Promise<void>
}
