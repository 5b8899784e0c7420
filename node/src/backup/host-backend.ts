/**
 * The volumes room's backend on a real host: volumes are the VolumeHost's
 * folders (Docker's named volumes, or plain folders), snapshots and
 * restores are restic through the mesh (restic-mesh.ts). A restore goes
 * into a staging volume beside the target (`<name>.restoring`, on the same
 * filesystem) and its files are then moved in, so a restore that fails half
 * way leaves the target empty rather than half-written.
 */
import type { AsideInfo, LocalVolume, VolumeHost, VolumeLabels } from '../core/volumes/host.js'
import type { RepoRef, RetentionPolicy, SnapshotListing, TakenSnapshot, VolumeBackend, VolumeState } from '../core/volumes/types.js'
import type { AbortOptions } from '../runtime/types.js'
import { BackupError } from './errors.js'
import { fingerprintFolder, isEmptyFolder } from './fingerprint.js'
import { moveEntries } from './move.js'
import type { ResticMesh } from './restic-mesh.js'

export class HostBackend implements VolumeBackend {
  constructor (private readonly host: VolumeHost, private readonly restic: ResticMesh) {}

  async inspect (name: string, options: AbortOptions = {}): Promise<VolumeState> {
    const path = await this.host.path(name, options)
    if (path === undefined) return { exists: false, empty: true, fingerprint: '', bytes: 0, files: 0 }
    const print = await fingerprintFolder(path)
    return { exists: true, empty: await isEmptyFolder(path), fingerprint: print.hash, bytes: print.bytes, files: print.files }
  }

  async create (name: string, labels: VolumeLabels, options: AbortOptions = {}): Promise<void> {
    await this.host.create(name, labels, options)
  }

  async keepAside (name: string, aside: string, labels: VolumeLabels & { info: AsideInfo }, options: AbortOptions = {}): Promise<void> {
    await this.host.keepAside(name, aside, labels, options)
  }

  async clear (name: string, options: AbortOptions = {}): Promise<void> {
    const path = await this.host.path(name, options)
    if (path === undefined) return
    // moved into a throwaway volume, then removed with it: the target is never half-deleted
    const trash = `${name}.clearing`
    await this.host.remove(trash, options)
    const labels = { service: 'minga/trash', volume: 'trash' }
    const trashPath = await this.host.create(trash, labels, options)
    await moveEntries(path, trashPath)
    await this.host.remove(trash, options)
  }

  async remove (name: string, options: AbortOptions = {}): Promise<void> {
    await this.host.remove(name, options)
  }

  async list (options: AbortOptions = {}): Promise<LocalVolume[]> {
    return (await this.host.list(options)).filter(v => !v.name.endsWith('.restoring') && !v.name.endsWith('.clearing'))
  }

  async snapshot (ref: RepoRef, name: string, options: AbortOptions & { volume: string, parent?: string, onProgress?: (done: number, total: number) => void }): Promise<TakenSnapshot> {
    const path = await this.host.path(name, options)
    if (path === undefined) throw new BackupError(`Volume ${name} does not exist on this node; nothing to snapshot`)
    const before = await fingerprintFolder(path)
    const taken = await this.restic.snapshot(ref, path, { volume: options.volume, parent: options.parent, signal: options.signal, onProgress: (p) => options.onProgress?.(p.bytesDone, p.totalBytes) })
    return { snapshot: taken.snapshot, manifest: taken.manifest, bytes: taken.summary.totalBytes, files: taken.summary.totalFiles, bytesStored: taken.bytesStored, fingerprint: before.hash }
  }

  async restore (ref: RepoRef, snapshot: string, name: string, options: AbortOptions & { onProgress?: (done: number) => void }): Promise<{ fingerprint: string }> {
    const target = await this.host.path(name, options)
    if (target === undefined) throw new BackupError(`Volume ${name} does not exist on this node; create it before restoring into it`)
    if (!await isEmptyFolder(target)) throw new BackupError(`Volume ${name} is not empty; a restore goes into an empty volume`)
    const staging = `${name}.restoring`
    await this.host.remove(staging, options)
    const stagingPath = await this.host.create(staging, { service: 'minga/restore', volume: 'restoring' }, options)
    try {
      await this.restic.restore(ref, snapshot, stagingPath, { signal: options.signal, onProgress: options.onProgress })
      await moveEntries(stagingPath, target)
    } finally {
      await this.host.remove(staging, options).catch(() => {})
    }
    return { fingerprint: (await fingerprintFolder(target)).hash }
  }

  async snapshots (ref: RepoRef, options: AbortOptions & { volume?: string } = {}): Promise<SnapshotListing[]> {
    const list = await this.restic.snapshots(ref, options)
    return list.map(s => ({ id: s.id, time: s.time, volume: s.tags.find(t => t.startsWith('volume='))?.slice(7) ?? '' }))
  }

  async forget (ref: RepoRef, policy: RetentionPolicy, options: AbortOptions = {}): Promise<string> {
    return await this.restic.forget(ref, policy, options)
  }
}
