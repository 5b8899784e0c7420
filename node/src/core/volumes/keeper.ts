/**
 * The volumes room: volumes that follow their service.
 *
 * - Before a replica starts (`prepare`), each backed-up volume is brought
 *   to the latest snapshot when its local copy is missing or behind, a copy
 *   that diverged is kept aside first (lineage.ts), and a singleton waits
 *   for its previous holder's final snapshot (handoff.ts).
 * - While this node runs replica 0, each volume is snapshotted every
 *   `interval` (snapshots.ts); when the reconciler stops that replica for a
 *   planned move (`stop`), a final snapshot follows the stop.
 * - Peers ask on demand (protocols.volumes): has this node settled a
 *   service, snapshot one now, list volumes.
 *
 * Sans I/O: volumes and restic sit behind `VolumeBackend`, time behind the
 * Clock, peers behind the Mesh. The daemon binds them to Docker and restic,
 * the simulator to models.
 */
import { decodeVolumesRequest, encodeVolumes, keys, protocols, type SealedSecret, type ServiceSpec, type VolumesResponse, type WireMessage } from '@minga/protocol'
import type { DesiredService, StopCause } from '@minga/scheduler'
import type { RuntimeContainer } from '../../runtime/types.js'
import type { Timer } from '../clock.js'
import type { CoreComponents, LiveSet, ReplicaReports } from '../components.js'
import { errorText, type Logger } from '../logger.js'
import type { Mesh } from '../mesh.js'
import { awaitHandoff, ownGenerations } from './handoff.js'
import { asideName } from './host.js'
import { decideVolume } from './lineage.js'
import { backedVolumes, Repositories, type BackedVolume } from './repository.js'
import { KeyedQueue } from './keyed-queue.js'
import { Snapshotter } from './snapshots.js'
import type { ContainerExec, LineageRecords, RetentionPolicy, VolumeBackend } from './types.js'
import { volumeViews, type ViewSource } from './views.js'

export interface VolumeTiming {
  /** ms between snapshots of a volume whose spec sets none */
  defaultInterval: number
  /** ms a hook may run */
  hookTimeout: number
  /** ms a singleton's start waits for its previous holder's final snapshot */
  handoffWait: number
  handoffPoll: number
  handoffAsk: number
  retention: RetentionPolicy
  pruneEvery: number
}

export const DEFAULT_VOLUME_TIMING: VolumeTiming = {
  defaultInterval: 300_000,
  hookTimeout: 600_000,
  handoffWait: 120_000,
  handoffPoll: 500,
  handoffAsk: 5000,
  retention: { keepLast: 24, keepHourly: 48, keepDaily: 14 },
  pruneEvery: 48
}

/** stops that move a singleton on: its data must follow, so a final snapshot comes after the stop */
const FINAL_SNAPSHOT_CAUSES = new Set<StopCause>(['moved', 'update', 'scaled-down', 'ports'])

export interface VolumeKeeperInit extends CoreComponents {
  meshId: string
  mesh: Mesh
  liveness: Pick<LiveSet, 'live' | 'onChange'> & Pick<ReplicaReports, 'reportsFor'>
  backend: VolumeBackend
  lineage: LineageRecords
  /** the nodes that may run a service (Secrets.readers): its backup password is sealed to them */
  readers: (org: string, service: string) => string[]
  /** opens a sealed password (Secrets.open: with the org's recovery key on a node that came back with it) */
  open?: (key: string, sealed: SealedSecret) => Uint8Array
  exec?: ContainerExec
  /** stops a container so that the reconciler starts it again (and `prepare` restores) */
  restart?: (containerId: string, reason: string) => void
  volumeTiming?: Partial<VolumeTiming>
}

export interface RestoreNote { service: string, replica: number, text: string }

export class VolumeKeeper {
  readonly timing: VolumeTiming
  readonly repositories: Repositories
  private readonly log: Logger
  readonly snapshots: Snapshotter
  /** replica 0 containers running here, by service */
  private readonly running = new Map<string, { containerId: string, spec: ServiceSpec }>()
  private readonly timers = new Map<string, Timer>()
  /** services whose replica 0 is stopping here, or taking its final snapshot */
  private readonly settling = new Set<string>()
  private readonly notes = new Map<string, RestoreNote>()
  private readonly lastHolders = new Map<string, string>()
  /** two replicas here share a service's volume: one prepare per volume at a time */
  private readonly volumeQueue = new KeyedQueue()
  private readonly unsubscribe: Array<() => void> = []
  readonly stats = { restores: 0, asides: 0, handoffsGivenUp: 0 }

  constructor (private readonly init: VolumeKeeperInit) {
    this.timing = { ...DEFAULT_VOLUME_TIMING, ...init.volumeTiming }
    this.log = init.logger.forComponent('volumes')
    this.repositories = new Repositories({ state: init.state, identity: init.identity, readers: init.readers, open: init.open })
    this.snapshots = new Snapshotter({
      ...init,
      repositories: this.repositories,
      hookTimeout: this.timing.hookTimeout,
      retention: this.timing.retention,
      pruneEvery: this.timing.pruneEvery
    })
  }

  start (): void {
    const { mesh, meshId, liveness, state } = this.init
    mesh.handle(protocols.volumes(meshId), async (data, from) => encodeVolumes(await this.answer(data, from)))
    this.unsubscribe.push(liveness.onChange((change) => {
      for (const service of change.services) {
        for (const [peer, reports] of liveness.reportsFor(service)) if (reports.some(r => r.replica === 0)) this.lastHolders.set(service, peer)
      }
    }))
    this.unsubscribe.push(state.subscribe((applied) => {
      if (applied.some(e => e.key.startsWith('service/') || e.key.startsWith('backup/') || e.key.startsWith('member/'))) void this.upkeep().catch((err) => { this.log.error('volume upkeep failed: %s', errorText(err)) })
    }))
    // a newer snapshot chosen elsewhere (minga restore) reaches the copy running here
    this.unsubscribe.push(state.subscribe((applied) => {
      const touched = new Set(applied.filter(e => e.key.startsWith('snapshot/')).map(e => e.key.split('/').slice(1, 3).join('/')))
      for (const service of touched) {
        const running = this.running.get(service)
        if (running !== undefined) void this.checkAtLatest(running.spec, running.containerId)
      }
    }))
    // services deployed while this node was down, or before it ran with volumes, get their passwords without waiting for a change
    void this.upkeep().catch((err) => { this.log.error('volume upkeep failed: %s', errorText(err)) })
  }

  /**
   * Keeps each service's repository and this node's volumes in step with
   * the state: the first live node of an org creates the backup password of
   * its services that have backed-up volumes and none yet; every node removes
   * its volumes of a service that is gone and whose backups its owner
   * deleted (`minga rm SERVICE --volumes`)
   */
  async upkeep (): Promise<void> {
    const { state, identity, liveness, backend, lineage } = this.init
    const org = state.memberOrg(identity.peerId)
    const live = new Set(liveness.live())
    const first = [...state.members()].filter(([peer, o]) => o === org && live.has(peer) && state.revoked(peer) === undefined).map(([peer]) => peer).sort()[0]
    if (org !== undefined && first === identity.peerId) {
      for (const entry of state.records('service', `${org}/`)) {
        const spec = entry.value.spec
        if (this.volumesOf(spec).length === 0) continue
        await this.repositories.ensureRecord(spec.org, spec.name).catch((err) => { this.log.error('creating the backup password of %s/%s failed: %s', spec.org, spec.name, errorText(err)) })
      }
    }
    for (const local of await backend.list()) {
      if (local.service === undefined) continue
      const [owner, service] = local.service.split('/')
      const record = state.get(keys.backup(owner, service))
      if (record?.tombstone !== true || state.value(keys.service(owner, service)) !== undefined || this.running.has(local.service)) continue
      await backend.remove(local.name)
      await lineage.delete(local.name)
      this.emit('volume-aside', local.service, `volume ${local.name} removed: ${local.service} and its backups were deleted (minga rm --volumes)`)
    }
  }

  stop (): void {
    for (const off of this.unsubscribe.splice(0)) off()
    for (const timer of this.timers.values()) timer.cancel()
    this.timers.clear()
  }

  /** the volumes of a spec that are backed up */
  volumesOf (spec: ServiceSpec): BackedVolume[] {
    return backedVolumes(spec, this.timing.defaultInterval)
  }

  /**
   * What the reconciler sees running here: replica 0 of each service with
   * backed-up volumes gets its snapshot timers; a service no longer running
   * here loses them
   */
  observe (containers: readonly RuntimeContainer[], desired: (id: string) => DesiredService | undefined): void {
    const seen = new Set<string>()
    for (const c of containers) {
      if (c.replica !== 0 || c.state !== 'running') continue
      const spec = desired(c.service)?.spec
      if (spec === undefined || this.volumesOf(spec).length === 0) continue
      seen.add(c.service)
      this.running.set(c.service, { containerId: c.id, spec })
    }
    let stopped = false
    for (const service of [...this.running.keys()]) {
      if (seen.has(service)) continue
      this.running.delete(service)
      stopped = true
    }
    // a service that stopped here may have been removed with its volumes
    if (stopped) void this.upkeep().catch((err) => { this.log.error('volume upkeep failed: %s', errorText(err)) })
    const wanted = new Set<string>()
    for (const [service, { spec }] of this.running) {
      for (const volume of this.volumesOf(spec)) {
        const key = `${service}\u0000${volume.volume}\u0000${volume.interval}`
        wanted.add(key)
        if (!this.timers.has(key)) this.timers.set(key, this.init.clock.every(volume.interval, () => this.tick(service, volume.volume)))
      }
    }
    for (const [key, timer] of this.timers) if (!wanted.has(key)) { timer.cancel(); this.timers.delete(key) }
  }

  /**
   * Before the runtime starts replica `replica` of `spec`: every backed-up
   * volume ends at the latest snapshot, or as it is when it already is (or
   * when none exists). Throws when a restore is needed and cannot be done
   * now (no password here yet, no holder answers): the reconciler retries
   */
  async prepare (spec: ServiceSpec, replica: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    const volumes = this.volumesOf(spec)
    if (volumes.length === 0) return
    const service = `${spec.org}/${spec.name}`
    const noteKey = `${service}#${replica}`
    try {
      if (spec.singleton) {
        const outcome = await awaitHandoff({
          self: this.init.identity.peerId,
          meshId: this.init.meshId,
          state: this.init.state,
          clock: this.init.clock,
          mesh: this.init.mesh,
          repositories: this.repositories,
          live: () => this.init.liveness.live(),
          lastHolder: (s) => this.lastHolders.get(s),
          eligible: (org, service) => this.init.readers(org, service),
          wait: this.timing.handoffWait,
          poll: this.timing.handoffPoll,
          askTimeout: this.timing.handoffAsk
        }, spec, volumes, { signal: options.signal, onWait: (text) => this.notes.set(noteKey, { service, replica, text }) })
        if (!outcome.settled) {
          this.stats.handoffsGivenUp++
          this.emit('restore', service, outcome.reason)
        }
      }
      for (const volume of volumes) await this.volumeQueue.run(volume.name, async () => await this.bring(spec, replica, volume, options.signal))
    } finally {
      this.notes.delete(noteKey)
    }
  }

  /**
   * Runs the reconciler's stop of a replica (`doStop`) and, when it moves a
   * singleton on, its final snapshot after it. Peers asking meanwhile hear
   * that this node has not settled the service
   */
  async stopReplica (spec: ServiceSpec | undefined, replica: number, cause: StopCause, doStop: () => Promise<void>): Promise<void> {
    const volumes = spec === undefined || replica !== 0 ? [] : this.volumesOf(spec)
    if (spec === undefined || volumes.length === 0 || !spec.singleton || !FINAL_SNAPSHOT_CAUSES.has(cause)) {
      await doStop()
      return
    }
    const service = `${spec.org}/${spec.name}`
    this.settling.add(service)
    try {
      await doStop()
      this.running.delete(service)
      this.observe([], () => undefined)
      await this.snapshots.run(spec, volumes, 'final')
    } finally {
      this.settling.delete(service)
    }
  }

  /** what restores and handoffs under way here say, for `minga ps` */
  restoreNotes (): RestoreNote[] {
    return [...this.notes.values()]
  }

  /** true when this node runs no copy of the service's replica 0 and takes no final snapshot of it */
  settled (service: string): boolean {
    return !this.running.has(service) && !this.settling.has(service)
  }

  /** snapshots every backed-up volume of a service running here, now */
  async backupHere (service: string): Promise<ReturnType<Snapshotter['run']>> {
    const running = this.running.get(service)
    if (running === undefined) throw new Error(`${service} does not run here`)
    return await this.snapshots.run(running.spec, this.volumesOf(running.spec), 'manual', { containerId: running.containerId, throwOnError: true })
  }

  runsHere (service: string): boolean {
    return this.running.has(service)
  }

  private async bring (spec: ServiceSpec, replica: number, volume: BackedVolume, signal?: AbortSignal): Promise<void> {
    const { backend, lineage, clock } = this.init
    const service = `${spec.org}/${spec.name}`
    const labels = { service, volume: volume.volume }
    const latest = this.repositories.latest(spec.org, spec.name, volume.volume)
    const local = await backend.inspect(volume.name)
    const record = await lineage.get(volume.name)
    const dirty = !local.exists ? false : record === undefined ? !local.empty : local.fingerprint !== record.fingerprint
    const to = latest === undefined ? undefined : { snapshot: latest.record.snapshot, generation: latest.record.generation }
    const decision = decideVolume({ exists: local.exists, empty: local.empty, base: record?.base, dirty }, to, spec.singleton ? 'lineage' : 'seed')
    if (decision.action === 'use') {
      if (!local.exists) await backend.create(volume.name, labels)
      return
    }
    const ref = this.repositories.ref(spec.org, spec.name)
    if (ref === undefined) throw new Error(`${volume.volume} must be restored (${decision.reason}), but ${this.repositories.unavailable(spec.org, spec.name)}`)
    if (decision.action === 'keep-aside') {
      const aside = asideName(volume.name, clock.now())
      await lineage.delete(volume.name)
      await backend.keepAside(volume.name, aside, { ...labels, info: { of: volume.name, at: clock.now(), reason: decision.reason } })
      this.stats.asides++
      this.emit('volume-aside', service, `${volume.volume}: ${decision.reason}; the copy is kept as volume ${aside} ("minga volumes" lists it)`)
    } else if (local.exists && !local.empty) {
      // a clean copy of an older snapshot: nothing in it is lost
      await lineage.delete(volume.name)
      await backend.clear(volume.name)
    }
    await backend.create(volume.name, labels)
    const total = latest!.record.bytes
    const key = `${service}#${replica}`
    const note = (done: number): void => { this.notes.set(key, { service, replica, text: `restoring ${volume.volume}: ${total === 0 ? 100 : Math.min(100, Math.floor(done / total * 100))}% of ${total} bytes, generation ${to!.generation}` }) }
    note(0)
    this.emit('restore', service, `${volume.volume}: ${decision.reason}`)
    const started = clock.now()
    const { fingerprint } = await backend.restore(ref, to!.snapshot, volume.name, { signal, onProgress: note })
    await lineage.set(volume.name, { service, volume: volume.volume, base: to!, fingerprint, updated: clock.now() })
    this.stats.restores++
    this.emit('restore', service, `${volume.volume} restored to generation ${to!.generation} (${total} bytes) in ${clock.now() - started} ms`)
  }

  /** a singleton's copy running here that is no longer at the latest snapshot is restarted (and so restored) */
  private async checkAtLatest (spec: ServiceSpec, containerId: string): Promise<void> {
    if (!spec.singleton) return
    // a snapshot under way would write its record after this check: look once it is done (and still running here)
    const service = `${spec.org}/${spec.name}`
    if (this.snapshots.busy(service)) {
      await this.snapshots.idle(service)
      if (this.running.get(service)?.containerId !== containerId) return
    }
    for (const volume of this.volumesOf(spec)) {
      const latest = this.repositories.latest(spec.org, spec.name, volume.volume)
      const base = (await this.init.lineage.get(volume.name))?.base
      if (latest === undefined || base === undefined) continue
      if (base.generation > latest.record.generation || (base.generation === latest.record.generation && base.snapshot === latest.record.snapshot)) continue
      this.init.restart?.(containerId, `generation ${latest.record.generation} of ${volume.volume} (${latest.record.reason}) was chosen elsewhere; restoring it`)
      return
    }
  }

  private tick (service: string, volume: string): void {
    const running = this.running.get(service)
    if (running === undefined) return
    const backed = this.volumesOf(running.spec).filter(v => v.volume === volume)
    void this.snapshots.run(running.spec, backed, 'interval', { containerId: running.containerId })
  }

  private async answer (data: Uint8Array, from: string): Promise<VolumesResponse | Extract<WireMessage, { type: 'error' }>> {
    let request
    try {
      request = decodeVolumesRequest(data)
    } catch (err) {
      return { type: 'error', code: 'bad-request', message: errorText(err).slice(0, 1000) }
    }
    const { state, identity } = this.init
    const fromOrg = state.memberOrg(from)
    if (request.type === 'volume-handoff') {
      const [org, name] = request.service.split('/')
      return { type: 'volume-handoff-ok', settled: this.settled(request.service), generations: ownGenerations(state, identity.peerId, org, name) }
    }
    if (request.type === 'volume-list') {
      if (fromOrg === undefined) return { type: 'error', code: 'forbidden', message: 'Only members list volumes' }
      return { type: 'volume-list-ok', volumes: await volumeViews(this.viewSource(), fromOrg) }
    }
    const org = request.service.split('/')[0]
    if (fromOrg !== org) return { type: 'error', code: 'forbidden', message: `Only nodes of ${org} ask for snapshots of its services` }
    try {
      return { type: 'volume-backup-ok', snapshots: await this.backupHere(request.service) }
    } catch (err) {
      return { type: 'error', code: 'failed', message: errorText(err).slice(0, 1000) }
    }
  }

  /** what the views of this node's volumes read */
  viewSource (): ViewSource {
    return { backend: this.init.backend, lineage: this.init.lineage, self: this.init.identity.peerId, repositories: this.repositories }
  }

  /** for views: the backend, lineage records, state and identity */
  get parts (): Pick<VolumeKeeperInit, 'backend' | 'lineage' | 'state' | 'identity'> {
    return this.init
  }

  private emit (kind: 'restore' | 'volume-aside', subject: string, reason: string): void {
    this.init.events.emit({ time: this.init.clock.now(), node: this.init.identity.peerId, kind, subject, reason })
  }
}
