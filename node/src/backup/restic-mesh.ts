/**
 * Backups of a service's volumes through the mesh: restic runs against the
 * local REST server, whose session keeps the repository's files as blobs on
 * other nodes (mesh-files.ts). One restic run per repository at a time on
 * this node.
 *
 * A repository is known by its password and the manifests that the mesh's
 * entries name; each run starts from their union and ends with a new
 * manifest, stored as a blob like the rest, whose hash the caller records
 * in a signed entry. Nothing here writes entries: the core does
 * (core/volumes), so this stays an adapter with no opinion on lineage.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { RepoId } from '@minga/protocol'
import type { RepoRef } from '../core/volumes/types.js'
import type { AbortOptions } from '../runtime/types.js'
import { KeyedQueue } from '../core/volumes/keyed-queue.js'
import type { BlobClient } from './blob-client.js'
import { BackupError } from './errors.js'
import { decodeManifest, encodeManifest, manifestBytes, MAX_MANIFEST_BYTES, unionManifests, type Manifest } from './manifest.js'
import { MeshFiles } from './mesh-files.js'
import type { RestServer } from './rest-server.js'
import type { BackupProgress, BackupSummary, Restic, SnapshotInfo } from './restic.js'

export interface ResticMeshInit {
  restic: Restic
  server: RestServer
  blobs: BlobClient
  /** caches and session folders (`<data>/backup`) */
  dir: string
}

export interface SnapshotResult {
  /** restic's snapshot id (64 hex) */
  snapshot: string
  /** hash of the manifest blob after this snapshot */
  manifest: string
  summary: BackupSummary
  /** bytes of files the repository holds after it */
  repoBytes: number
  /** blobs and bytes this run stored on holders */
  blobsStored: number
  bytesStored: number
}

/** restic's host name in every snapshot: a volume's snapshots form one lineage whichever node took them */
export const SNAPSHOT_HOST = 'minga'

export class ResticMesh {
  /** one restic run per repository at a time */
  private readonly queue = new KeyedQueue()
  private sessions = 0

  constructor (private readonly init: ResticMeshInit) {}

  /** the union of these manifests, fetched from holders the first time and cached by hash */
  async manifestOf (repo: RepoId, hashes: readonly string[], options: AbortOptions = {}): Promise<Manifest> {
    const manifests: Manifest[] = []
    for (const hash of new Set(hashes)) {
      const cached = join(this.cacheDir(), hash)
      let bytes: Uint8Array | undefined = await readFile(cached).catch(() => undefined)
      if (bytes === undefined) {
        bytes = (await this.init.blobs.fetchBytes(repo, hash, MAX_MANIFEST_BYTES, options)).bytes
        await mkdir(this.cacheDir(), { recursive: true })
        await writeFile(cached, bytes)
      }
      manifests.push(decodeManifest(bytes))
    }
    return unionManifests(manifests)
  }

  /**
   * Snapshots folder `dir` as volume `volume` of the repository (initialized
   * on its first snapshot); `parent`: the volume's previous snapshot, so
   * restic reads only what changed
   */
  async snapshot (ref: RepoRef, dir: string, options: AbortOptions & { volume: string, parent?: string, onProgress?: (p: BackupProgress) => void }): Promise<SnapshotResult> {
    return await this.queue.run(ref.repo, async () => {
      const manifest = await this.manifestOf(ref.repo, ref.manifests, options)
      return await this.session(ref, manifest, options, async (repo, files) => {
        if (manifest.config === undefined) await this.init.restic.initRepo(repo, options)
        const parent = options.parent !== undefined && manifest.files.snapshots[options.parent] !== undefined ? options.parent : undefined
        const summary = await this.init.restic.backup(repo, dir, { host: SNAPSHOT_HOST, tags: [volumeTag(options.volume)], parent, onProgress: options.onProgress, signal: options.signal })
        const written = files.changes.written.filter(f => f.type === 'snapshots').map(f => f.name)
        const snapshot = written.find(name => name.startsWith(summary.shortId))
        if (snapshot === undefined) throw new BackupError(`restic reported snapshot ${summary.shortId}, but wrote no such snapshot file`)
        const after = files.current()
        const stored = await this.storeManifest(ref.repo, after, options)
        return { snapshot, manifest: stored, summary, repoBytes: manifestBytes(after), blobsStored: files.stats.blobsWritten, bytesStored: files.stats.bytesWritten }
      })
    })
  }

  /** restores snapshot `snapshot` into `target`, an empty folder */
  async restore (ref: RepoRef, snapshot: string, target: string, options: AbortOptions & { onProgress?: (bytesDone: number) => void } = {}): Promise<void> {
    await this.queue.run(ref.repo, async () => {
      const manifest = await this.manifestOf(ref.repo, ref.manifests, options)
      if (manifest.files.snapshots[snapshot] === undefined) throw new BackupError(`Snapshot ${snapshot.slice(0, 8)} is not in the repository of ${ref.repo}; "minga backup ls ${ref.repo}" lists those it has`)
      await mkdir(target, { recursive: true })
      await this.session(ref, manifest, options, async (repo) => {
        await this.init.restic.restore(repo, snapshot, target, { onProgress: options.onProgress, signal: options.signal })
      })
    })
  }

  /** the repository's snapshots, of one volume or of all */
  async snapshots (ref: RepoRef, options: AbortOptions & { volume?: string } = {}): Promise<SnapshotInfo[]> {
    return await this.queue.run(ref.repo, async () => {
      const manifest = await this.manifestOf(ref.repo, ref.manifests, options)
      if (manifest.config === undefined) return []
      return await this.session(ref, manifest, options, async (repo) =>
        await this.init.restic.snapshots(repo, { tags: options.volume === undefined ? undefined : [volumeTag(options.volume)], signal: options.signal }))
    })
  }

  /**
   * forgets snapshots beyond the policy (per volume) and prunes data no
   * snapshot uses; resolves with the new manifest's hash. Holders drop the
   * blobs it no longer lists once an owner-signed entry names it
   */
  async forget (ref: RepoRef, policy: { keepLast: number, keepHourly?: number, keepDaily?: number }, options: AbortOptions = {}): Promise<string> {
    return await this.queue.run(ref.repo, async () => {
      const manifest = await this.manifestOf(ref.repo, ref.manifests, options)
      return await this.session(ref, manifest, options, async (repo, files) => {
        await this.init.restic.forget(repo, policy, { signal: options.signal })
        return await this.storeManifest(ref.repo, files.current(), options)
      })
    })
  }

  private async session<T> (ref: RepoRef, manifest: Manifest, options: AbortOptions, body: (repo: { url: string, password: string }, files: MeshFiles) => Promise<T>): Promise<T> {
    const files = new MeshFiles({ repo: ref.repo, blobs: this.init.blobs, manifest, cacheDir: this.cacheDir(), sessionDir: join(this.init.dir, 'sessions', String(this.sessions++)), signal: options.signal })
    await files.create()
    const session = this.init.server.open(ref.repo, files)
    try {
      return await body({ url: session.url, password: ref.password }, files)
    } finally {
      session.close()
      await files.close()
    }
  }

  private async storeManifest (repo: RepoId, manifest: Manifest, options: AbortOptions): Promise<string> {
    const { bytes, hash } = encodeManifest(manifest)
    await this.init.blobs.put(repo, hash, bytes.length, async (offset, length) => bytes.subarray(offset, offset + length), options)
    await mkdir(this.cacheDir(), { recursive: true })
    await writeFile(join(this.cacheDir(), hash), bytes)
    return hash
  }

  private cacheDir (): string {
    return join(this.init.dir, 'cache')
  }

  /** drops the session folders a previous run left */
  async clean (): Promise<void> {
    await rm(join(this.init.dir, 'sessions'), { recursive: true, force: true })
  }
}

export function volumeTag (volume: string): string {
  return `volume=${volume}`
}
