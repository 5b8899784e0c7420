/**
 * Watches volumes in a run with them: every acknowledged snapshot (its
 * entry written by the node that took it, the moment `minga backup` would
 * answer), how long snapshots and restores took (the core's `snapshot` and
 * `restore` events), and at every start of a singleton's replica, the
 * generation its volume is at against the latest acknowledged snapshot
 * that node had heard of.
 */
import type { MeshEvent } from '@minga/node/core'
import { backedVolumes } from '@minga/node/core'
import { keys, type ServiceSpec } from '@minga/protocol'
import type { Cluster } from '../cluster/cluster.js'
import type { SimNode } from '../cluster/sim-node.js'
import { LINES_FILE } from '../cluster/volumes.js'
import type { VolumesSnapshot } from './invariants.js'

export interface AcknowledgedSnapshot {
  /** ms since the run began */
  at: number
  node: string
  service: string
  volume: string
  snapshot: string
  generation: number
}

export interface StaleStart { at: number, node: string, service: string, volume: string, generation: number, latest: number, why: string }

export class VolumeWatch {
  readonly acknowledged: AcknowledgedSnapshot[] = []
  readonly staleStarts: StaleStart[] = []
  readonly snapshotMs: number[] = []
  readonly restoreMs: number[] = []
  readonly counts = { asides: 0, backupErrors: 0, restoreStarts: 0, behindUnheard: 0 }

  constructor (private readonly cluster: Cluster) {
    cluster.onEvent((node, event) => { this.seen(node, event) })
  }

  /** what the invariant checks read: every acknowledged snapshot's holders, which of them run, and the stale starts */
  snapshot (): VolumesSnapshot {
    const repositories = this.cluster.volumes!.repositories
    const up = new Set(this.cluster.nodes.filter(n => n.up).map(n => n.id))
    const newest = new Map<string, number>()
    for (const a of this.acknowledged) newest.set(`${a.service}/${a.volume}`, Math.max(newest.get(`${a.service}/${a.volume}`) ?? 0, a.generation))
    return {
      copies: this.cluster.scenario.backup.holders,
      snapshots: this.acknowledged.map(a => {
        const stored = repositories.snapshots.get(a.snapshot)
        return {
          ...a,
          latest: newest.get(`${a.service}/${a.volume}`) === a.generation,
          holders: stored?.holders ?? [],
          retained: stored !== undefined,
          holdersUp: (stored?.holders ?? []).filter(h => up.has(h)).length
        }
      }),
      staleStarts: this.staleStarts
    }
  }

  private seen (node: SimNode, event: MeshEvent): void {
    const at = this.cluster.sim.elapsed
    if (event.kind === 'snapshot') {
      const took = /, (\d+) ms$/.exec(event.reason)
      if (took !== null) this.snapshotMs.push(Number(took[1]))
      this.acknowledge(node, event.subject, at)
    } else if (event.kind === 'restore') {
      const took = / restored to generation \d+ \(\d+ bytes\) in (\d+) ms$/.exec(event.reason)
      if (took !== null) this.restoreMs.push(Number(took[1]))
      else if (!event.reason.includes(' restored ')) this.counts.restoreStarts++
    } else if (event.kind === 'volume-aside') this.counts.asides++
    else if (event.kind === 'backup-error') this.counts.backupErrors++
    else if (event.kind === 'replica-start') this.checkStart(node, event.subject, at)
  }

  /** the entries the node just wrote for the service's volumes: the newest acknowledged snapshot of each */
  private acknowledge (node: SimNode, service: string, at: number): void {
    const spec = this.cluster.specs.get(service)
    const state = node.current?.state
    if (spec === undefined || state === undefined) return
    for (const volume of backedVolumes(spec, 0)) {
      const record = state.value(keys.snapshot(spec.org, spec.name, volume.volume, node.id))
      if (record === undefined) continue
      if (this.acknowledged.some(a => a.snapshot === record.snapshot)) continue
      this.acknowledged.push({ at, node: node.id, service, volume: volume.volume, snapshot: record.snapshot, generation: record.generation })
    }
  }

  /**
   * a singleton's replica starts: its volume must be at the newest acknowledged snapshot this node had heard of, or
   * newer: by its lineage record (the generation it started from) and by its data (every line of that snapshot is in
   * it). A snapshot acknowledged by a node that died before any other heard of it cannot be restored from; a start
   * behind it counts in `behindUnheard` (the lineage keeps that copy aside once the entry arrives)
   */
  private checkStart (node: SimNode, subject: string, at: number): void {
    const [service, replica] = subject.split('#')
    const spec: ServiceSpec | undefined = this.cluster.specs.get(service)
    const state = node.current?.state
    if (spec?.singleton !== true || replica !== '0' || state === undefined) return
    const volumes = this.cluster.volumes!
    const disk = volumes.disk(node.index)
    for (const volume of backedVolumes(spec, 0)) {
      const heard = (a: AcknowledgedSnapshot): boolean => (state.value(keys.snapshot(spec.org, spec.name, volume.volume, a.node))?.generation ?? 0) >= a.generation
      const mine = this.acknowledged.filter(a => a.service === service && a.volume === volume.volume)
      const known = mine.filter(heard).reduce<AcknowledgedSnapshot | undefined>((best, a) => best === undefined || a.generation > best.generation ? a : best, undefined)
      const generation = disk.lineage.records.get(volume.name)?.base.generation ?? 0
      if (mine.some(a => a.generation > generation && !heard(a))) this.counts.behindUnheard++
      if (known === undefined) continue
      const lines = volumes.repositories.snapshots.get(known.snapshot)?.files.get(LINES_FILE) ?? ''
      const held = disk.volumes.get(volume.name)?.files.get(LINES_FILE) ?? ''
      const why = generation < known.generation ? 'its lineage record' : !held.startsWith(lines) ? 'its data' : undefined
      if (why !== undefined) this.staleStarts.push({ at, node: node.id, service, volume: volume.volume, generation, latest: known.generation, why })
    }
  }
}
