/**
 * The volumes verbs, as the control API runs them on the node the CLI
 * talks to: `minga volumes` (every node's volumes of this org's services,
 * asked on demand), `minga backup SERVICE` (a snapshot now, on the node that
 * runs it), `minga backup ls SERVICE` (the repository's snapshots), and
 * `minga restore SERVICE [--snapshot ID]` (a snapshot chosen as the latest:
 * the node that runs the service restarts it and restores, keeping the copy
 * it had aside).
 */
import { decodeVolumesResponse, encodeVolumes, keys, protocols, type ServiceSpec, type SnapshotRecord, type SnapshotView, type VolumeView } from '@minga/protocol'
import { errorText } from '../logger.js'
import type { Mesh } from '../mesh.js'
import type { VolumeKeeper } from './keeper.js'
import { volumeViews } from './views.js'

export interface VerbsInit {
  keeper: VolumeKeeper
  mesh: Mesh
  meshId: string
  live: () => readonly string[]
  /** peers reporting a copy of replica `replica` of the service */
  holdersOf: (service: string, replica: number) => string[]
  now: () => number
}

/** a failure the API maps to a status: `not-found` 404, `forbidden` 403, `conflict` 409, `unavailable` 503 */
export class VolumeVerbError extends Error {
  constructor (readonly code: 'not-found' | 'forbidden' | 'conflict' | 'unavailable', message: string) {
    super(message)
    this.name = 'VolumeVerbError'
  }
}

export interface BackupListing {
  service: string
  /** the latest snapshot of each volume, as the mesh knows it */
  latest: Record<string, { snapshot: string, generation: number, time: number, node: string, reason: string, bytes: number }>
  /** every snapshot restic keeps, newest first */
  snapshots: Array<{ id: string, time: string, volume: string, latest: boolean }>
}

export class VolumeVerbs {
  constructor (private readonly init: VerbsInit) {}

  /** every live node's volumes of `org`'s services; nodes that do not answer are listed in `unreachable` */
  async volumes (org: string): Promise<{ volumes: VolumeView[], unreachable: string[] }> {
    const { keeper, mesh, meshId, live } = this.init
    const self = keeper.parts.identity.peerId
    const unreachable: string[] = []
    const lists = await Promise.all(live().filter(p => p !== self).map(async peer => {
      try {
        const answer = decodeVolumesResponse(await mesh.request(peer, protocols.volumes(meshId), encodeVolumes({ type: 'volume-list' }), { signal: AbortSignal.timeout(10_000) }))
        return answer.type === 'volume-list-ok' ? answer.volumes : []
      } catch {
        unreachable.push(peer)
        return []
      }
    }))
    const volumes = [...await volumeViews(keeper.viewSource(), org), ...lists.flat()]
    return { volumes: volumes.sort((a, b) => a.service.localeCompare(b.service) || a.name.localeCompare(b.name) || a.node.localeCompare(b.node)), unreachable }
  }

  /** a snapshot of every backed-up volume of the service, now, on the node that runs it */
  async backup (org: string, service: string): Promise<{ node: string, snapshots: SnapshotView[] }> {
    const { keeper, mesh, meshId } = this.init
    const spec = this.spec(org, service)
    const id = `${org}/${service}`
    if (keeper.volumesOf(spec).length === 0) throw new VolumeVerbError('conflict', `${id} has no volume that is backed up (named volumes are, unless backup: false)`)
    const self = keeper.parts.identity.peerId
    if (keeper.runsHere(id)) return { node: self, snapshots: await keeper.backupHere(id) }
    const [holder] = this.init.holdersOf(id, 0)
    if (holder === undefined) throw new VolumeVerbError('unavailable', `${id} runs nowhere now, so there is nothing new to snapshot; "minga backup ls ${service}" lists the snapshots there are`)
    let answer
    try {
      answer = decodeVolumesResponse(await mesh.request(holder, protocols.volumes(meshId), encodeVolumes({ type: 'volume-backup', service: id }), { signal: AbortSignal.timeout(3_600_000) }))
    } catch (err) {
      const code = (err as { code?: string }).code
      throw new VolumeVerbError(code === 'forbidden' ? 'forbidden' : 'unavailable', `${holder.slice(-8)} runs ${id}, and answered: ${errorText(err)}`)
    }
    if (answer.type !== 'volume-backup-ok') throw new VolumeVerbError('unavailable', `${holder.slice(-8)} answered ${answer.type}`)
    return { node: holder, snapshots: answer.snapshots }
  }

  /** the repository's snapshots and the latest of each volume */
  async list (org: string, service: string): Promise<BackupListing> {
    const { keeper } = this.init
    const spec = this.spec(org, service)
    const id = `${org}/${service}`
    const latest: BackupListing['latest'] = {}
    for (const volume of keeper.volumesOf(spec)) {
      const l = keeper.repositories.latest(org, service, volume.volume)
      if (l !== undefined) latest[volume.volume] = { snapshot: l.record.snapshot, generation: l.record.generation, time: l.record.time, node: l.entry.author, reason: l.record.reason, bytes: l.record.bytes }
    }
    const ref = keeper.repositories.ref(org, service)
    if (ref === undefined) {
      if (Object.keys(latest).length === 0) return { service: id, latest, snapshots: [] }
      throw new VolumeVerbError('forbidden', keeper.repositories.unavailable(org, service))
    }
    const latestIds = new Set(Object.values(latest).map(l => l.snapshot))
    const snapshots = (await keeper.parts.backend.snapshots(ref))
      .map(s => ({ ...s, latest: latestIds.has(s.id) }))
      .sort((a, b) => b.time.localeCompare(a.time))
    return { service: id, latest, snapshots }
  }

  /**
   * Chooses a snapshot (by id or unique id prefix; the latest when none is
   * given) as the latest of its volume: a new generation pointing at it. The
   * node that runs the service restarts it and restores; the copy it had is
   * kept aside if it was written since
   */
  async restore (org: string, service: string, snapshot: string | undefined): Promise<Array<{ volume: string, snapshot: string, generation: number }>> {
    const { keeper, now } = this.init
    const spec = this.spec(org, service)
    const id = `${org}/${service}`
    if (!spec.singleton) throw new VolumeVerbError('conflict', `${id} is not a singleton: each of its replicas keeps its own copy, and a restore applies to one lineage; make it a singleton (singleton: true) to restore it`)
    const { identity, state } = keeper.parts
    if (state.memberOrg(identity.peerId) !== org) throw new VolumeVerbError('forbidden', `Only nodes of ${org} restore its services; run this on a node of ${org}`)
    const volumes = keeper.volumesOf(spec)
    if (volumes.length === 0) throw new VolumeVerbError('conflict', `${id} has no volume that is backed up`)
    let chosen: Array<{ volume: string, snapshot: string }>
    if (snapshot === undefined) {
      chosen = volumes.flatMap(v => {
        const l = keeper.repositories.latest(org, service, v.volume)
        return l === undefined ? [] : [{ volume: v.volume, snapshot: l.record.snapshot }]
      })
      if (chosen.length === 0) throw new VolumeVerbError('not-found', `${id} has no snapshot yet; "minga backup ${service}" takes one`)
    } else {
      const listing = await this.list(org, service)
      const matches = listing.snapshots.filter(s => s.id.startsWith(snapshot.toLowerCase()))
      if (matches.length === 0) throw new VolumeVerbError('not-found', `No snapshot of ${id} starts with ${snapshot}; "minga backup ls ${service}" lists them`)
      if (matches.length > 1) throw new VolumeVerbError('conflict', `${matches.length} snapshots of ${id} start with ${snapshot}; give more of the id`)
      chosen = [{ volume: matches[0].volume, snapshot: matches[0].id }]
    }
    const out: Array<{ volume: string, snapshot: string, generation: number }> = []
    for (const { volume, snapshot: chosenId } of chosen) {
      const latest = keeper.repositories.latest(org, service, volume)
      if (latest === undefined) throw new VolumeVerbError('not-found', `${id} has no snapshot of ${volume} yet`)
      const generation = latest.record.generation + 1
      const record: SnapshotRecord = {
        snapshot: chosenId,
        generation,
        parent: latest.record.snapshot,
        manifest: latest.record.manifest,
        time: now(),
        bytes: chosenId === latest.record.snapshot ? latest.record.bytes : 0,
        files: chosenId === latest.record.snapshot ? latest.record.files : 0,
        reason: 'restore'
      }
      await state.write(identity, keys.snapshot(org, service, volume, identity.peerId), record)
      out.push({ volume, snapshot: chosenId, generation })
    }
    return out
  }

  private spec (org: string, service: string): ServiceSpec {
    const record = this.init.keeper.parts.state.value(keys.service(org, service))
    if (record === undefined) throw new VolumeVerbError('not-found', `No service ${org}/${service}; "minga ls" lists the services`)
    return record.spec
  }
}
