/**
 * Taking snapshots: every `interval` while this node runs replica 0 of a
 * service whose volumes are backed up, a final one when it stops that
 * replica for a planned move, and one on demand (`minga backup`). One
 * snapshot per service at a time, in order.
 *
 * A snapshot runs the volume's `pre` hooks in the container (a failing one
 * skips the snapshot: a half-made dump is not a backup), then restic
 * through the mesh, then the `post` hooks; then this node's lineage record
 * of the volume and its snapshot entry (generation = the latest's + 1).
 *
 * A singleton's copy must be at the latest snapshot to extend the lineage.
 * When it is not — another node wrote a newer one, or `minga restore` chose
 * one — no snapshot is taken; the replica is restarted instead, and the
 * start restores the chosen snapshot (keeping this copy aside if written).
 */
import { keys, type Identity, type ServiceSpec, type SnapshotReason, type SnapshotRecord, type SnapshotView, type State } from '@minga/protocol'
import type { Clock } from '../clock.js'
import type { EventSink } from '../components.js'
import { KeyedQueue } from './keyed-queue.js'
import type { BackedVolume, Repositories } from './repository.js'
import type { ContainerExec, LineageRecords, RetentionPolicy, VolumeBackend } from './types.js'

export interface SnapshotterInit {
  identity: Identity
  state: State
  clock: Clock
  events: EventSink
  backend: VolumeBackend
  lineage: LineageRecords
  repositories: Repositories
  exec?: ContainerExec
  restart?: (containerId: string, reason: string) => void
  hookTimeout: number
  retention: RetentionPolicy
  /** snapshots of a service by this node between two prunes */
  pruneEvery: number
}

export class Snapshotter {
  private readonly queue = new KeyedQueue()
  private readonly taken = new Map<string, number>()
  readonly stats = { snapshots: 0, failures: 0, skipped: 0, prunes: 0 }

  constructor (private readonly init: SnapshotterInit) {}

  /** true while a snapshot of the service runs or waits here */
  busy (service: string): boolean {
    return this.queue.busy(service)
  }

  /** settles once no snapshot of the service runs or waits */
  async idle (service: string): Promise<void> {
    await this.queue.idle(service)
  }

  /**
   * Snapshots these volumes of the service, one after the other, after any
   * snapshot of it already under way. `containerId`: the running replica,
   * for hooks and restarts (none for a final snapshot: it has stopped).
   * Resolves with the snapshots taken; failures are events, not throws,
   * unless `throwOnError`
   */
  async run (spec: ServiceSpec, volumes: readonly BackedVolume[], reason: SnapshotReason, options: { containerId?: string, throwOnError?: boolean } = {}): Promise<SnapshotView[]> {
    const service = `${spec.org}/${spec.name}`
    return await this.queue.run(service, async () => {
      const out: SnapshotView[] = []
      for (const volume of volumes) {
        try {
          const view = await this.one(spec, volume, reason, options.containerId)
          if (view !== undefined) out.push(view)
          else if (options.throwOnError === true) throw new Error(`The snapshot of ${volume.volume} was skipped; "minga events --kind backup-error" says why`)
        } catch (err: any) {
          this.stats.failures++
          this.emit('backup-error', service, `${reason} snapshot of ${volume.volume} failed: ${String(err?.message ?? err)}`)
          if (options.throwOnError === true) throw err
        }
      }
      return out
    })
  }

  /** a singleton's copy that is not at the latest generation (`latest`, which `what`): no snapshot of it; its replica restarts to restore */
  private behind (service: string, volume: BackedVolume, reason: SnapshotReason, latest: SnapshotRecord, what: string, containerId: string | undefined): void {
    this.stats.skipped++
    const why = `generation ${latest.generation} of ${volume.volume} (snapshot ${latest.snapshot.slice(0, 8)}, ${latest.reason}) ${what}`
    if (containerId !== undefined && this.init.restart !== undefined) {
      this.emit('restore', service, `${why}: restarting the replica to restore it`)
      this.init.restart(containerId, `${why}; restoring it`)
    } else {
      this.emit('backup-error', service, `${reason} snapshot of ${volume.volume} skipped: ${why}`)
    }
  }

  private async one (spec: ServiceSpec, volume: BackedVolume, reason: SnapshotReason, containerId: string | undefined): Promise<SnapshotView | undefined> {
    const { state, identity, clock, backend, lineage, repositories } = this.init
    const service = `${spec.org}/${spec.name}`
    // the first live node of the org creates the password (keeper.ts upkeep); the snapshot waits for it
    const ref = repositories.ref(spec.org, spec.name)
    if (ref === undefined) throw new Error(repositories.unavailable(spec.org, spec.name))
    const latest = repositories.latest(spec.org, spec.name, volume.volume)
    const record = await lineage.get(volume.name)
    if (spec.singleton && latest !== undefined) {
      const base = record?.base
      const atLatest = base !== undefined && (base.generation > latest.record.generation || (base.generation === latest.record.generation && base.snapshot === latest.record.snapshot))
      if (!atLatest) { this.behind(service, volume, reason, latest.record, 'is newer than this copy', containerId); return undefined }
    }
    if (containerId !== undefined && !await this.hooks(service, volume, 'pre', containerId)) return undefined
    const started = clock.now()
    const taken = await backend.snapshot(ref, volume.name, { volume: volume.volume, ...(latest === undefined ? {} : { parent: latest.record.snapshot }) })
    if (containerId !== undefined) await this.hooks(service, volume, 'post', containerId)
    // a generation chosen elsewhere while restic read the copy (a restore): recorded, this snapshot would undo that choice
    const now = repositories.latest(spec.org, spec.name, volume.volume)
    if (spec.singleton && now !== undefined && (now.record.generation !== latest?.record.generation || now.record.snapshot !== latest.record.snapshot)) {
      this.behind(service, volume, reason, now.record, 'was chosen while this snapshot ran', containerId)
      return undefined
    }
    const generation = Math.max(latest?.record.generation ?? 0, record?.base.generation ?? 0) + 1
    const entry: SnapshotRecord = {
      snapshot: taken.snapshot,
      generation,
      ...(latest === undefined ? {} : { parent: latest.record.snapshot }),
      manifest: taken.manifest,
      // when restic began reading: everything written before it is in the snapshot (the recovery point counts from here)
      time: started,
      bytes: taken.bytes,
      files: taken.files,
      reason
    }
    // the lineage record first: a pass that sees the new entry must find this copy at it
    await lineage.set(volume.name, { service, volume: volume.volume, base: { snapshot: taken.snapshot, generation }, fingerprint: taken.fingerprint, updated: clock.now() })
    await state.write(identity, keys.snapshot(spec.org, spec.name, volume.volume, identity.peerId), entry)
    this.stats.snapshots++
    const tookMs = clock.now() - started
    this.emit('snapshot', service, `${reason} snapshot of ${volume.volume}: generation ${generation}, ${taken.bytes} bytes in ${taken.files} files, ${taken.bytesStored} bytes sent, ${tookMs} ms`)
    await this.maybePrune(spec, ref)
    return { volume: volume.volume, snapshot: taken.snapshot, generation, bytes: taken.bytes, files: taken.files, time: entry.time, tookMs, bytesStored: taken.bytesStored }
  }

  /** runs the volume's hooks of one kind in the container; false when one failed (the snapshot is skipped) */
  private async hooks (service: string, volume: BackedVolume, kind: 'pre' | 'post', containerId: string): Promise<boolean> {
    const commands = kind === 'pre' ? volume.pre : volume.post
    if (commands.length === 0) return true
    if (this.init.exec === undefined) {
      this.emit('backup-error', service, `${kind} hooks of ${volume.volume} cannot run: this runtime runs no commands in containers`)
      return kind === 'post'
    }
    for (const cmd of commands) {
      const result = await this.init.exec(containerId, cmd, { timeoutMs: this.init.hookTimeout })
      if (result.exitCode !== 0) {
        this.emit('backup-error', service, `${kind} hook of ${volume.volume} (${cmd.join(' ').slice(0, 80)}) ${result.exitCode === -1 ? 'timed out' : `exited with ${result.exitCode}`}: ${result.output.slice(-300)}${kind === 'pre' ? '; snapshot skipped' : ''}`)
        return false
      }
    }
    return true
  }

  /** every `pruneEvery` snapshots of a service, forget old snapshots and tell holders what they may drop (owner org only) */
  private async maybePrune (spec: ServiceSpec, ref: NonNullable<ReturnType<Repositories['ref']>>): Promise<void> {
    const { state, identity, clock, backend } = this.init
    const service = `${spec.org}/${spec.name}`
    const count = (this.taken.get(service) ?? 0) + 1
    this.taken.set(service, count)
    if (count % this.init.pruneEvery !== 0 || state.memberOrg(identity.peerId) !== spec.org) return
    const started = clock.now()
    try {
      const manifest = await backend.forget(ref, this.init.retention)
      await state.write(identity, keys.prune(spec.org, spec.name), { manifests: [manifest], before: started })
      this.stats.prunes++
    } catch (err: any) {
      this.emit('backup-error', service, `pruning old snapshots failed: ${String(err?.message ?? err)}`)
    }
  }

  private emit (kind: 'snapshot' | 'restore' | 'backup-error', subject: string, reason: string): void {
    this.init.events.emit({ time: this.init.clock.now(), node: this.init.identity.peerId, kind, subject, reason })
  }
}
