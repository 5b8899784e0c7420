/**
 * The blobs this node holds for other nodes' backups, on disk, by content
 * hash: `<dir>/repos/<org>/<service>/<first two hex>/<sha256>`. A holder
 * needs no key to keep them honest: a blob is stored only when its bytes hash
 * to its name, and checked again before it is sent, so a damaged copy is
 * found (and dropped) instead of served.
 *
 * Uploads arrive in bounded chunks (wire-blobs.ts), in any order, into
 * `<dir>/uploads/<id>`; once the last one is in, an fsync, a hash of the
 * whole file and a rename make the blob durable before the holder says so. The
 * operator's quota (`minga up --backup-quota`) counts stored and reserved
 * bytes; `orgLimit` caps what one owning organization may use, so no one
 * org can fill the space every org shares.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { BLOB_CHUNK_BYTES, isRepoId, isSha256Hex, type RepoId } from '@minga/protocol'
import { BlobError, BlobHashMismatchError, QuotaExceededError } from './errors.js'
import { formatBytes } from './units.js'

export interface BlobStoreInit {
  /** folder of the store; created when missing */
  dir: string
  /** bytes this node holds for others, at most */
  quota: number
  /** bytes one owning organization may hold here, at most (default: the whole quota) */
  orgLimit?: (org: string) => number
  /** uploads under way at once, at most */
  maxUploads?: number
  /** an upload that gets no chunk for this long is dropped, ms */
  uploadIdleMs?: number
  now?: () => number
}

export interface StoredBlob { hash: string, size: number, /** ms since epoch */ stored: number }

export interface PutResult {
  /** bytes of the blob held now */
  have: number
  /** the blob is stored whole, checked and durable */
  complete: boolean
}

export interface BlobReader {
  size: number
  /** the bytes, in chunks of at most BLOB_CHUNK_BYTES */
  chunks: () => AsyncIterable<Uint8Array>
}

interface Upload {
  repo: RepoId
  hash: string
  size: number
  /** offsets of the chunks written */
  chunks: Set<number>
  received: number
  file: FileHandle
  path: string
  touched: number
  /** the check and commit, once the last chunk is in */
  finishing?: Promise<PutResult>
}

const DEFAULT_MAX_UPLOADS = 64
const DEFAULT_UPLOAD_IDLE_MS = 120_000

export class BlobStore {
  readonly dir: string
  readonly quota: number
  private readonly orgLimit: (org: string) => number
  private readonly maxUploads: number
  private readonly uploadIdleMs: number
  private readonly now: () => number
  private readonly uploads = new Map<string, Upload>()
  private readonly opening = new Map<string, Promise<Upload>>()
  /** bytes stored, by owning org */
  private readonly used = new Map<string, number>()
  private nextUpload = 0

  private constructor (init: BlobStoreInit) {
    this.dir = init.dir
    this.quota = init.quota
    this.orgLimit = init.orgLimit ?? (() => init.quota)
    this.maxUploads = init.maxUploads ?? DEFAULT_MAX_UPLOADS
    this.uploadIdleMs = init.uploadIdleMs ?? DEFAULT_UPLOAD_IDLE_MS
    this.now = init.now ?? Date.now
  }

  /** opens the store: counts what it holds and drops uploads a previous run left unfinished */
  static async open (init: BlobStoreInit): Promise<BlobStore> {
    const store = new BlobStore(init)
    await rm(join(init.dir, 'uploads'), { recursive: true, force: true })
    await mkdir(join(init.dir, 'uploads'), { recursive: true })
    await mkdir(join(init.dir, 'repos'), { recursive: true })
    for (const repo of await store.repos()) {
      const org = repo.split('/')[0]
      for (const blob of await store.list(repo)) store.used.set(org, (store.used.get(org) ?? 0) + blob.size)
    }
    return store
  }

  /** bytes held, in all and by owning org, and bytes reserved by uploads under way */
  usage (): { total: number, reserved: number, byOrg: Record<string, number> } {
    let total = 0
    for (const bytes of this.used.values()) total += bytes
    return { total, reserved: this.reserved(), byOrg: Object.fromEntries(this.used) }
  }

  /** the size of a blob held here, or -1 */
  async has (repo: RepoId, hash: string): Promise<number> {
    try {
      return (await stat(this.pathOf(repo, hash))).size
    } catch {
      return -1
    }
  }

  /**
   * Takes one chunk of a blob from `writer`. Chunks may come in any order
   * (a writer keeps several in flight); each starts at a multiple of
   * BLOB_CHUNK_BYTES and fills it (the last one to the blob's end), and a
   * chunk sent twice counts once. The chunk that completes the blob makes
   * the holder hash the whole of it. Throws `BlobError` with the wire code:
   * `quota`, `bad-hash` (the blob did not hash to its name: nothing is
   * kept), `bad-offset` (a chunk out of place), `busy`
   */
  async put (writer: string, repo: RepoId, hash: string, offset: number, size: number, chunk: Uint8Array): Promise<PutResult> {
    this.checkIds(repo, hash)
    if (offset % BLOB_CHUNK_BYTES !== 0 || chunk.length !== Math.min(BLOB_CHUNK_BYTES, size - offset) || (offset >= size && size > 0)) {
      throw new BlobError('bad-offset', `A chunk starts at a multiple of ${BLOB_CHUNK_BYTES} bytes and fills it up to the blob's end; this one is ${chunk.length} bytes at ${offset} of ${size}`)
    }
    const existing = await this.has(repo, hash)
    const key = uploadKey(writer, repo, hash)
    if (existing >= 0) {
      await this.drop(key)
      return { have: existing, complete: true }
    }
    let upload = this.uploads.get(key)
    if (upload !== undefined && upload.size !== size) {
      await this.drop(key)
      upload = undefined
    }
    if (upload === undefined) {
      const pending = this.opening.get(key) ?? this.begin(key, repo, hash, size).finally(() => this.opening.delete(key))
      this.opening.set(key, pending)
      upload = await pending
    }
    upload.touched = this.now()
    if (!upload.chunks.has(offset)) {
      upload.chunks.add(offset)
      try {
        await upload.file.write(chunk, 0, chunk.length, offset)
      } catch (err) {
        upload.chunks.delete(offset)
        throw err
      }
      upload.received += chunk.length
    }
    if (upload.received < upload.size || upload.finishing !== undefined) {
      return upload.finishing === undefined ? { have: upload.received, complete: false } : await upload.finishing
    }
    upload.finishing = this.finish(key, upload)
    return await upload.finishing
  }

  /**
   * The blob, checked against its hash first: undefined when it is not
   * here; a damaged copy is deleted and `BlobHashMismatchError` thrown, so
   * the reader goes to another holder and the owner can send a good copy again
   */
  async read (repo: RepoId, hash: string): Promise<BlobReader | undefined> {
    this.checkIds(repo, hash)
    const path = this.pathOf(repo, hash)
    const size = await this.has(repo, hash)
    if (size < 0) return undefined
    if (await hashFile(path) !== hash) {
      await this.delete(repo, hash)
      throw new BlobHashMismatchError(`This holder's copy of blob ${hash.slice(0, 12)} of ${repo} was damaged; it is dropped, fetch it from another holder`)
    }
    return {
      size,
      chunks: async function * () {
        for await (const chunk of createReadStream(path, { highWaterMark: BLOB_CHUNK_BYTES })) yield new Uint8Array(chunk as Buffer)
      }
    }
  }

  /** every blob of a repository held here */
  async list (repo: RepoId): Promise<StoredBlob[]> {
    const root = join(this.dir, 'repos', repo)
    const out: StoredBlob[] = []
    for (const prefix of await readdirOrEmpty(root)) {
      for (const name of await readdirOrEmpty(join(root, prefix))) {
        if (!isSha256Hex(name)) continue
        const info = await stat(join(root, prefix, name)).catch(() => undefined)
        if (info !== undefined) out.push({ hash: name, size: info.size, stored: info.mtimeMs })
      }
    }
    return out
  }

  /** repositories with blobs here */
  async repos (): Promise<RepoId[]> {
    const out: RepoId[] = []
    for (const org of await readdirOrEmpty(join(this.dir, 'repos'))) {
      for (const service of await readdirOrEmpty(join(this.dir, 'repos', org))) {
        const id = `${org}/${service}`
        if (isRepoId(id)) out.push(id)
      }
    }
    return out.sort()
  }

  /** drops one blob; true when it was here */
  async delete (repo: RepoId, hash: string): Promise<boolean> {
    this.checkIds(repo, hash)
    const size = await this.has(repo, hash)
    if (size < 0) return false
    await rm(this.pathOf(repo, hash), { force: true })
    this.count(repo, -size)
    return true
  }

  /** drops every blob of a repository; the number dropped */
  async deleteRepo (repo: RepoId): Promise<number> {
    if (!isRepoId(repo)) throw new BlobError('bad-request', `${String(repo).slice(0, 80)} is not a repository id`)
    const blobs = await this.list(repo)
    await rm(join(this.dir, 'repos', repo), { recursive: true, force: true })
    this.count(repo, -blobs.reduce((sum, b) => sum + b.size, 0))
    return blobs.length
  }

  /** drops uploads idle for longer than `uploadIdleMs`, and all of them on close */
  async sweep (all = false): Promise<void> {
    const cutoff = this.now() - this.uploadIdleMs
    for (const [key, upload] of [...this.uploads]) if (all || (upload.touched < cutoff && upload.finishing === undefined)) await this.drop(key)
  }

  async close (): Promise<void> {
    await this.sweep(true)
  }

  private async begin (key: string, repo: RepoId, hash: string, size: number): Promise<Upload> {
    await this.sweep()
    if (this.uploads.size >= this.maxUploads) throw new BlobError('busy', `This holder takes ${this.maxUploads} uploads at once; try again shortly`)
    const org = repo.split('/')[0]
    const total = this.usage().total + this.reserved()
    if (total + size > this.quota) {
      throw new QuotaExceededError(`This holder's backup quota is full (${formatBytes(total)} of ${formatBytes(this.quota)} used or reserved); store the blob on another holder, or its operator raises minga up --backup-quota`)
    }
    const limit = this.orgLimit(org)
    const orgTotal = (this.used.get(org) ?? 0) + this.reserved(org)
    if (orgTotal + size > limit) {
      throw new QuotaExceededError(`${org} holds ${formatBytes(orgTotal)} here, and may hold at most ${formatBytes(limit)} (its share of ${formatBytes(this.quota)}); store the blob on another holder`)
    }
    const path = join(this.dir, 'uploads', `${process.pid}-${this.nextUpload++}`)
    const file = await open(path, 'w')
    const upload: Upload = { repo, hash, size, chunks: new Set(), received: 0, file, path, touched: this.now() }
    this.uploads.set(key, upload)
    return upload
  }

  private async finish (key: string, upload: Upload): Promise<PutResult> {
    await upload.file.sync()
    const actual = await hashFile(upload.path)
    if (actual !== upload.hash) {
      await this.drop(key)
      throw new BlobHashMismatchError(`The ${upload.size} bytes sent as blob ${upload.hash.slice(0, 12)} hash to ${actual.slice(0, 12)}; nothing was stored`)
    }
    await upload.file.close()
    this.uploads.delete(key)
    const target = this.pathOf(upload.repo, upload.hash)
    const folder = join(target, '..')
    await mkdir(folder, { recursive: true })
    const raced = await this.has(upload.repo, upload.hash)
    if (raced >= 0) {
      await rm(upload.path, { force: true })
      return { have: raced, complete: true }
    }
    await rename(upload.path, target)
    await syncDir(folder)
    this.count(upload.repo, upload.size)
    return { have: upload.size, complete: true }
  }

  private async drop (key: string): Promise<void> {
    const upload = this.uploads.get(key)
    if (upload === undefined) return
    this.uploads.delete(key)
    await upload.file.close().catch(() => {})
    await rm(upload.path, { force: true })
  }

  private reserved (org?: string): number {
    let total = 0
    for (const upload of this.uploads.values()) if (org === undefined || upload.repo.startsWith(`${org}/`)) total += upload.size
    return total
  }

  private count (repo: RepoId, bytes: number): void {
    const org = repo.split('/')[0]
    const next = Math.max(0, (this.used.get(org) ?? 0) + bytes)
    if (next === 0) this.used.delete(org)
    else this.used.set(org, next)
  }

  private pathOf (repo: RepoId, hash: string): string {
    return join(this.dir, 'repos', repo, hash.slice(0, 2), hash)
  }

  private checkIds (repo: RepoId, hash: string): void {
    if (!isRepoId(repo)) throw new BlobError('bad-request', `${String(repo).slice(0, 80)} is not a repository id (org/service)`)
    if (!isSha256Hex(hash)) throw new BlobError('bad-request', `${String(hash).slice(0, 80)} is not a sha256 hex digest`)
  }
}

/** sha256 (hex) of a file's bytes, read in chunks */
export async function hashFile (path: string): Promise<string> {
  const digest = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: BLOB_CHUNK_BYTES })) digest.update(chunk as Buffer)
  return digest.digest('hex')
}

function uploadKey (writer: string, repo: string, hash: string): string {
  return `${writer}\u0000${repo}\u0000${hash}`
}

async function readdirOrEmpty (dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch {
    return []
  }
}

/** a rename is durable once its folder is synced */
export async function syncDir (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
