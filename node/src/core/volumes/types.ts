/**
 * What the volumes room needs from the outside world, as small interfaces:
 * the node's volumes and their backups (`VolumeBackend`: Docker's volumes and
 * restic through the mesh in production, backup/host-backend.ts; a model in
 * the simulator and unit tests, model-backend.ts), and each local volume's
 * lineage record, durable across restarts.
 */
import type { RepoId } from '@minga/protocol'
import type { AbortOptions } from '../../runtime/types.js'
import type { AsideInfo, LocalVolume, VolumeLabels } from './host.js'
import type { SnapshotRef } from './lineage.js'

/** a service's backup repository, as the mesh knows it */
export interface RepoRef {
  repo: RepoId
  password: string
  /** hashes of the manifests the mesh's entries name; empty for a new repository */
  manifests: readonly string[]
}

export interface VolumeState {
  exists: boolean
  /** exists and holds no file */
  empty: boolean
  /** changes with every write (backup/fingerprint.ts) */
  fingerprint: string
  bytes: number
  files: number
}

export interface TakenSnapshot {
  /** restic's snapshot id */
  snapshot: string
  /** the repository manifest after it */
  manifest: string
  bytes: number
  files: number
  /** bytes sent to holders */
  bytesStored: number
  /** the volume's fingerprint when the snapshot began reading it */
  fingerprint: string
}

export interface SnapshotListing { id: string, time: string, volume: string }

export interface VolumeBackend {
  inspect: (name: string, options?: AbortOptions) => Promise<VolumeState>
  create: (name: string, labels: VolumeLabels, options?: AbortOptions) => Promise<void>
  /** moves the volume's files into a new, labelled volume; `name` stays, empty */
  keepAside: (name: string, aside: string, labels: VolumeLabels & { info: AsideInfo }, options?: AbortOptions) => Promise<void>
  /** empties the volume (its files are in an older snapshot) */
  clear: (name: string, options?: AbortOptions) => Promise<void>
  remove: (name: string, options?: AbortOptions) => Promise<void>
  list: (options?: AbortOptions) => Promise<LocalVolume[]>
  snapshot: (ref: RepoRef, name: string, options: AbortOptions & { volume: string, parent?: string, onProgress?: (bytesDone: number, bytesTotal: number) => void }) => Promise<TakenSnapshot>
  /** restores `snapshot` into the volume `name`, which must be empty; resolves with its fingerprint after */
  restore: (ref: RepoRef, snapshot: string, name: string, options: AbortOptions & { onProgress?: (bytesDone: number) => void }) => Promise<{ fingerprint: string }>
  snapshots: (ref: RepoRef, options?: AbortOptions & { volume?: string }) => Promise<SnapshotListing[]>
  /** forgets old snapshots and prunes; resolves with the new manifest's hash */
  forget: (ref: RepoRef, policy: RetentionPolicy, options?: AbortOptions) => Promise<string>
}

export interface RetentionPolicy { keepLast: number, keepHourly?: number, keepDaily?: number }

/** a local volume's place in its lineage (backup/lineage-store.ts on disk) */
export interface LineageRecord {
  service: string
  volume: string
  base: SnapshotRef
  fingerprint: string
  /** ms since epoch */
  updated: number
}

export interface LineageRecords {
  get: (name: string) => Promise<LineageRecord | undefined>
  set: (name: string, record: LineageRecord) => Promise<void>
  delete: (name: string) => Promise<void>
}

/** runs a command in a running container (backup hooks) */
export type ContainerExec = (containerId: string, cmd: string[], options: { timeoutMs: number }) => Promise<{ exitCode: number, output: string }>
