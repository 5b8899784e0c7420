/**
 * The in-memory twin of the volume backend, for unit tests and the
 * simulator: volumes are maps of file name → content, a snapshot is a copy
 * kept in `ModelRepositories` (one per modelled mesh) on the holders the
 * mesh chose, and snapshots and restores take time on the core's clock in
 * proportion to their bytes. A restore fails, as a real one does, when no
 * holder of its snapshot is alive: that is what the simulator's invariant
 * "no acknowledged snapshot is lost while fewer than R holders fail" checks.
 */
import { createHash } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { AsideInfo, LocalVolume, VolumeLabels } from './host.js'
import type { LineageRecord, LineageRecords, RepoRef, RetentionPolicy, SnapshotListing, TakenSnapshot, VolumeBackend, VolumeState } from './types.js'

export interface ModelSnapshot {
  id: string
  repo: string
  volume: string
  files: Map<string, string>
  bytes: number
  /** ms, on the clock of the node that took it */
  time: number
  /** nodes that hold its blobs */
  holders: string[]
}

export interface ModelRepositoriesInit {
  /** the holders of a new snapshot (rankHolders over the live members, first R) */
  place: (repo: string, writer: string) => string[]
  /** is this holder up (its copies readable)? */
  alive: (node: string) => boolean
}

/** every repository of a modelled mesh, as its holders keep them */
export class ModelRepositories {
  readonly snapshots = new Map<string, ModelSnapshot>()
  private counter = 0

  constructor (readonly init: ModelRepositoriesInit) {}

  add (snapshot: Omit<ModelSnapshot, 'id' | 'holders'>, writer: string): ModelSnapshot {
    const holders = this.init.place(snapshot.repo, writer)
    if (holders.length === 0) throw new Error('No other node can hold backups yet: a backup needs at least one more node in the mesh')
    const id = createHash('sha256').update(`${snapshot.repo}/${snapshot.volume}/${this.counter++}`).digest('hex')
    const stored = { ...snapshot, id, holders }
    this.snapshots.set(id, stored)
    return stored
  }

  /** the snapshot if some holder of it is alive; throws the way a restore from dead holders fails */
  readable (id: string): ModelSnapshot {
    const snapshot = this.snapshots.get(id)
    if (snapshot === undefined) throw new Error(`Snapshot ${id.slice(0, 8)} is not in the repository`)
    if (!snapshot.holders.some(h => this.init.alive(h))) throw new Error(`No holder of snapshot ${id.slice(0, 8)} is alive (held by ${snapshot.holders.map(h => h.slice(-8)).join(', ')})`)
    return snapshot
  }
}

export interface ModelVolume { files: Map<string, string>, labels: VolumeLabels, aside?: AsideInfo, writes: number }

export interface ModelBackendInit {
  node: string
  clock: Clock
  repositories: ModelRepositories
  /** bytes per second of snapshots and restores */
  bytesPerSecond?: number
  /** ms every snapshot or restore costs whatever its size */
  fixedMs?: number
  /** the host's volumes, when they outlive this backend (the simulator: one map per host, one backend per minga process) */
  volumes?: Map<string, ModelVolume>
  /** bytes of modelled data every volume holds besides its files (the simulator's volume size; 0 by default) */
  baseBytes?: number
}

export class ModelBackend implements VolumeBackend {
  readonly volumes: Map<string, ModelVolume>
  private readonly rate: number
  private readonly fixed: number
  private readonly base: number

  constructor (private readonly init: ModelBackendInit) {
    this.volumes = init.volumes ?? new Map()
    this.rate = init.bytesPerSecond ?? 50 * 1024 * 1024
    this.fixed = init.fixedMs ?? 500
    this.base = init.baseBytes ?? 0
  }

  /** a container writing: appends a line to a file of the volume (created when missing) */
  append (name: string, file: string, line: string): void {
    const volume = this.volumes.get(name)
    if (volume === undefined) return
    volume.files.set(file, `${volume.files.get(file) ?? ''}${line}\n`)
    volume.writes++
  }

  read (name: string, file: string): string | undefined {
    return this.volumes.get(name)?.files.get(file)
  }

  async inspect (name: string): Promise<VolumeState> {
    const volume = this.volumes.get(name)
    if (volume === undefined) return { exists: false, empty: true, fingerprint: '', bytes: 0, files: 0 }
    return { exists: true, empty: volume.files.size === 0, fingerprint: fingerprintOf(volume), bytes: this.sizeOf(volume.files), files: volume.files.size }
  }

  async create (name: string, labels: VolumeLabels): Promise<void> {
    if (!this.volumes.has(name)) this.volumes.set(name, { files: new Map(), labels, writes: 0 })
  }

  async keepAside (name: string, aside: string, labels: VolumeLabels & { info: AsideInfo }): Promise<void> {
    const volume = this.volumes.get(name)
    if (volume === undefined) return
    this.volumes.set(aside, { files: volume.files, labels: { service: labels.service, volume: labels.volume }, aside: labels.info, writes: 0 })
    volume.files = new Map()
    volume.writes++
  }

  async clear (name: string): Promise<void> {
    const volume = this.volumes.get(name)
    if (volume === undefined) return
    volume.files = new Map()
    volume.writes++
  }

  async remove (name: string): Promise<void> {
    this.volumes.delete(name)
  }

  async list (): Promise<LocalVolume[]> {
    return [...this.volumes].map(([name, v]) => ({ name, service: v.labels.service, volume: v.labels.volume, ...(v.aside === undefined ? {} : { aside: v.aside }) }))
      .sort((a, b) => a.name < b.name ? -1 : 1)
  }

  async snapshot (ref: RepoRef, name: string, options: { volume: string, signal?: AbortSignal, onProgress?: (done: number, total: number) => void }): Promise<TakenSnapshot> {
    const volume = this.volumes.get(name)
    if (volume === undefined) throw new Error(`No volume ${name} on this node`)
    const fingerprint = fingerprintOf(volume)
    const files = new Map(volume.files)
    const bytes = this.sizeOf(files)
    await this.init.clock.sleep(this.durationOf(bytes), options.signal)
    options.onProgress?.(bytes, bytes)
    const stored = this.init.repositories.add({ repo: ref.repo, volume: options.volume, files, bytes, time: this.init.clock.now() }, this.init.node)
    return { snapshot: stored.id, manifest: stored.id, bytes, files: files.size, bytesStored: bytes, fingerprint }
  }

  async restore (ref: RepoRef, snapshot: string, name: string, options: { signal?: AbortSignal, onProgress?: (done: number) => void }): Promise<{ fingerprint: string }> {
    const stored = this.init.repositories.readable(snapshot)
    if (stored.repo !== ref.repo) throw new Error(`Snapshot ${snapshot.slice(0, 8)} is not in the repository of ${ref.repo}`)
    const volume = this.volumes.get(name)
    if (volume === undefined) throw new Error(`No volume ${name} on this node`)
    if (volume.files.size > 0) throw new Error(`Volume ${name} is not empty; a restore goes into an empty volume`)
    const half = this.durationOf(stored.bytes) / 2
    await this.init.clock.sleep(half, options.signal)
    options.onProgress?.(Math.floor(stored.bytes / 2))
    await this.init.clock.sleep(half, options.signal)
    // the holders may have gone while it ran
    this.init.repositories.readable(snapshot)
    volume.files = new Map(stored.files)
    volume.writes++
    options.onProgress?.(stored.bytes)
    return { fingerprint: fingerprintOf(volume) }
  }

  async snapshots (ref: RepoRef, options: { volume?: string } = {}): Promise<SnapshotListing[]> {
    return [...this.init.repositories.snapshots.values()]
      .filter(s => s.repo === ref.repo && (options.volume === undefined || s.volume === options.volume))
      .map(s => ({ id: s.id, time: new Date(s.time).toISOString(), volume: s.volume }))
  }

  async forget (ref: RepoRef, policy: RetentionPolicy): Promise<string> {
    const byVolume = new Map<string, ModelSnapshot[]>()
    for (const s of this.init.repositories.snapshots.values()) {
      if (s.repo !== ref.repo) continue
      const list = byVolume.get(s.volume) ?? []
      list.push(s)
      byVolume.set(s.volume, list)
    }
    for (const list of byVolume.values()) {
      list.sort((a, b) => b.time - a.time)
      for (const old of list.slice(policy.keepLast)) this.init.repositories.snapshots.delete(old.id)
    }
    return createHash('sha256').update(`${ref.repo}/${this.init.repositories.snapshots.size}`).digest('hex')
  }

  /** a volume's bytes: its files, and the modelled data of a volume that holds any */
  private sizeOf (files: Map<string, string>): number {
    return files.size === 0 ? 0 : this.base + bytesOf(files)
  }

  private durationOf (bytes: number): number {
    return this.fixed + bytes / this.rate * 1000
  }
}

function bytesOf (files: Map<string, string>): number {
  let total = 0
  for (const content of files.values()) total += content.length
  return total
}

function fingerprintOf (volume: ModelVolume): string {
  return `${volume.writes}:${volume.files.size}:${bytesOf(volume.files)}`
}

/** lineage records in memory (the simulator's, and tests'); a node that restarts with its volumes keeps them */
export class MemoryLineage implements LineageRecords {
  readonly records = new Map<string, LineageRecord>()
  async get (name: string): Promise<LineageRecord | undefined> { return this.records.get(name) }
  async set (name: string, record: LineageRecord): Promise<void> { this.records.set(name, record) }
  async delete (name: string): Promise<void> { this.records.delete(name) }
}
