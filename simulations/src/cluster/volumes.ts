/**
 * Volumes in the simulator (scenarios with `services.volumes`): every host
 * keeps its volumes and their lineage records on its disk (they survive a
 * crash of minga or of the host; a vanished organization's go with it),
 * every minga process gets the core's in-memory backend over them
 * (core/volumes/model-backend.ts: snapshots and restores take
 * `fixed + bytes / throughput` on the node's virtual clock), and one
 * `ModelRepositories` holds what the holders keep. A snapshot's holders are
 * the scheduler's rendezvous choice (chooseHolders: other organizations
 * first, R copies) among the nodes whose process runs; a holder serves its
 * copies while its process runs, and again after a restart.
 *
 * Containers write: every `writeEvery`, each running replica 0 of a service
 * with a backed-up volume appends a line to its volume, on hosts whose minga
 * process died too (the supervisor's grace), so snapshots and restores have
 * something to lose.
 */
import { backedVolumes, MemoryLineage, ModelBackend, ModelRepositories, type Clock, type ModelVolume, type VirtualClock } from '@minga/node/core'
import type { ServiceSpec } from '@minga/protocol'
import { chooseHolders } from '@minga/scheduler'
import type { BackupModel } from '../scenario/types.js'

/** the file each modelled container appends its lines to */
export const LINES_FILE = 'lines.log'

/** what the volumes model reads of the mesh: each node's id, org, whether its process runs, and its host's running containers */
export interface VolumePeer {
  id: string
  org: string
  up: boolean
  /** replicas running on the host (whether minga's process does or not) */
  running: () => Array<{ service: string, replica: number }>
}

/** one host's disk: its volumes and their lineage records */
export interface HostVolumes {
  volumes: Map<string, ModelVolume>
  lineage: MemoryLineage
}

export class SimVolumes {
  readonly repositories: ModelRepositories
  private readonly disks = new Map<number, HostVolumes>()
  private placed = 0
  private lines = 0

  constructor (
    readonly model: BackupModel,
    private readonly peers: () => readonly VolumePeer[],
    private readonly specs: ReadonlyMap<string, ServiceSpec>
  ) {
    this.repositories = new ModelRepositories({
      place: (repo, writer) => {
        const candidates = this.peers().filter(p => p.up && p.id !== writer).map(p => ({ node: p.id, org: p.org }))
        return chooseHolders(`${repo}#${this.placed++}`, candidates, { ownerOrg: repo.split('/')[0], exclude: new Set([writer]), copies: model.holders })
      },
      alive: (node) => this.peers().some(p => p.id === node && p.up)
    })
  }

  /** the disk of node `index` (created empty the first time) */
  disk (index: number): HostVolumes {
    let disk = this.disks.get(index)
    if (disk === undefined) {
      disk = { volumes: new Map(), lineage: new MemoryLineage() }
      this.disks.set(index, disk)
    }
    return disk
  }

  /** what one minga process of node `index` gets: a backend over its host's volumes on its clock, and the lineage records */
  forProcess (index: number, node: string, clock: Clock): { backend: ModelBackend, lineage: MemoryLineage } {
    const disk = this.disk(index)
    const backend = new ModelBackend({ node, clock, repositories: this.repositories, bytesPerSecond: this.model.throughput, fixedMs: this.model.fixed, baseBytes: this.model.size, volumes: disk.volumes })
    return { backend, lineage: disk.lineage }
  }

  /** the containers write: a line to the volume of every running replica 0 with a backed-up volume */
  startWriting (sim: VirtualClock): void {
    sim.every(this.model.writeEvery, () => { this.write() })
  }

  private write (): void {
    this.peers().forEach((peer, index) => {
      const disk = this.disks.get(index)
      if (disk === undefined) return
      for (const c of peer.running()) {
        const spec = this.specs.get(c.service)
        if (c.replica !== 0 || spec === undefined) continue
        for (const volume of backedVolumes(spec, 0)) {
          const local = disk.volumes.get(volume.name)
          if (local === undefined) continue
          local.files.set(LINES_FILE, `${local.files.get(LINES_FILE) ?? ''}${++this.lines}\n`)
          local.writes++
        }
      }
    })
  }
}
