/**
 * The upkeep of backups over time, on every node (blob-upkeep.ts does the work):
 *
 * - As a holder: when an owner-signed entry says so, drop what the owner no
 *   longer needs — a whole repository whose password entry the owner
 *   deleted (`minga rm --volumes`), or the blobs a prune left unlisted. A
 *   manifest that cannot be read stops that repository's cleanup (nothing
 *   is dropped on a guess).
 * - As an owner: the first live node of each organization checks, every
 *   `copiesEvery` and after the live set changed, that every blob of its
 *   repositories is on its top-R holders, and sends lost copies back.
 */
import { isRepoId, keys, parseBackupKey, repoId, type RepoId, type State } from '@minga/protocol'
import type { Clock, Timer } from '../core/clock.js'
import type { EventSink } from '../core/components.js'
import type { Repositories } from '../core/volumes/repository.js'
import type { BlobClient } from './blob-client.js'
import type { BlobStore } from './blob-store.js'
import { dropUnlisted, ensureCopies } from './blob-upkeep.js'
import { decodeManifest, manifestBlobs, MAX_MANIFEST_BYTES, type Manifest } from './manifest.js'

export interface UpkeepInit {
  self: string
  state: State
  clock: Clock
  events: EventSink
  store: BlobStore
  client: BlobClient
  /** the volumes room's view of repositories (read when needed: it is made after the backups) */
  repositories: () => Repositories
  live: () => readonly string[]
  /** ranking of holders for a blob (holders.ts) */
  rank: (repo: RepoId, hash: string) => string[]
  /** ms between checks of the copies of this org's repositories */
  copiesEvery?: number
}

const DEFAULT_COPIES_EVERY = 10 * 60_000
const DEBOUNCE_MS = 2000

export class UpkeepService {
  private readonly unsubscribe: Array<() => void> = []
  private readonly timers: Timer[] = []
  private pendingDrop = new Set<RepoId>()
  private dropTimer?: Timer
  private copiesTimer?: Timer
  private running = false
  readonly stats = { dropped: 0, restoredCopies: 0, lostBlobs: 0 }

  constructor (private readonly init: UpkeepInit) {}

  start (): void {
    const { state, clock } = this.init
    this.unsubscribe.push(state.subscribe((applied) => {
      for (const entry of applied) {
        const key = parseBackupKey(entry.key)
        if (key === undefined || key.kind === 'snapshot') continue
        this.pendingDrop.add(repoId(key.org, key.service))
      }
      if (this.pendingDrop.size > 0) this.scheduleDrops()
    }))
    this.timers.push(clock.every(this.init.copiesEvery ?? DEFAULT_COPIES_EVERY, () => { void this.checkCopies() }))
    // what arrived while this node was down
    void this.init.store.repos().then(repos => { for (const r of repos) this.pendingDrop.add(r); this.scheduleDrops() })
  }

  stop (): void {
    for (const off of this.unsubscribe.splice(0)) off()
    for (const timer of this.timers.splice(0)) timer.cancel()
    this.dropTimer?.cancel()
    this.copiesTimer?.cancel()
  }

  /** the live set changed: check copies soon (a holder may be gone for good) */
  liveChanged (): void {
    this.copiesTimer?.cancel()
    this.copiesTimer = this.init.clock.after(DEBOUNCE_MS * 5, () => { void this.checkCopies() })
  }

  /** as a holder: drops what owner-signed entries say to, for these repositories */
  async drops (repos: Iterable<RepoId>): Promise<number> {
    const { state, store } = this.init
    let dropped = 0
    for (const repo of repos) {
      if (!isRepoId(repo)) continue
      const [org, service] = repo.split('/')
      const record = state.get(keys.backup(org, service))
      if (record?.tombstone === true) {
        dropped += await dropUnlisted(store, repo, undefined, 0)
        continue
      }
      const prune = state.get(keys.prune(org, service))
      if (prune === undefined || prune.tombstone === true) continue
      const keep = await this.kept(repo, this.init.repositories().manifests(org, service))
      if (keep === undefined) continue
      const before = state.value(keys.prune(org, service))?.before
      if (before === undefined) continue
      dropped += await dropUnlisted(store, repo, keep, before)
    }
    this.stats.dropped += dropped
    return dropped
  }

  /** as an owner: every blob of this org's repositories on its top-R holders (the first live node of the org does it) */
  async checkCopies (): Promise<void> {
    const { state, self, live, client, rank } = this.init
    const org = state.memberOrg(self)
    if (org === undefined || this.running) return
    const liveSet = new Set(live())
    const first = [...state.members()].filter(([peer, o]) => o === org && liveSet.has(peer) && state.revoked(peer) === undefined).map(([peer]) => peer).sort()[0]
    if (first !== self) return
    this.running = true
    try {
      for (const entry of state.records('backup', `${org}/`)) {
        const service = entry.key.split('/')[2]
        const repo = repoId(org, service)
        const hashes = this.init.repositories().manifests(org, service)
        const blobs = new Map<string, number>()
        for (const hash of hashes) {
          const manifest = await this.manifest(repo, hash)
          if (manifest === undefined) continue
          blobs.set(hash, MAX_MANIFEST_BYTES)
          for (const files of Object.values(manifest.files)) for (const [name, size] of Object.entries(files)) blobs.set(name, size)
          if (manifest.config !== undefined) blobs.set(manifest.config.hash, manifest.config.size)
        }
        if (blobs.size === 0) continue
        const report = await ensureCopies(client, repo, blobs, (hash) => rank(repo, hash))
        this.stats.restoredCopies += report.restored
        this.stats.lostBlobs += report.lost.length
        if (report.restored > 0 || report.lost.length > 0) {
          this.init.events.emit({ time: this.init.clock.now(), node: self, kind: report.lost.length > 0 ? 'backup-error' : 'snapshot', subject: repo, reason: `copies checked: ${report.restored} sent back to holders that lacked them${report.lost.length > 0 ? `, ${report.lost.length} blobs have no good copy left` : ''}` })
        }
      }
    } finally {
      this.running = false
    }
  }

  private scheduleDrops (): void {
    if (this.dropTimer !== undefined) return
    this.dropTimer = this.init.clock.after(DEBOUNCE_MS, () => {
      this.dropTimer = undefined
      const repos = this.pendingDrop
      this.pendingDrop = new Set()
      void this.drops(repos).catch(() => {})
    })
  }

  /** every blob the manifests name, and the manifests themselves; undefined when one cannot be read */
  private async kept (repo: RepoId, hashes: readonly string[]): Promise<Set<string> | undefined> {
    const keep = new Set<string>(hashes)
    for (const hash of hashes) {
      const manifest = await this.manifest(repo, hash)
      if (manifest === undefined) return undefined
      for (const blob of manifestBlobs(manifest)) keep.add(blob)
    }
    return keep
  }

  /** a manifest: from this node's own store when it holds it, else from the holders */
  private async manifest (repo: RepoId, hash: string): Promise<Manifest | undefined> {
    try {
      const local = await this.init.store.read(repo, hash)
      if (local !== undefined) {
        const parts: Uint8Array[] = []
        for await (const chunk of local.chunks()) parts.push(chunk)
        return decodeManifest(Buffer.concat(parts))
      }
      return decodeManifest((await this.init.client.fetchBytes(repo, hash, MAX_MANIFEST_BYTES)).bytes)
    } catch {
      return undefined
    }
  }
}
