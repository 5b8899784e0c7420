/**
 * What `minga volumes` shows of this node: every volume of the asking
 * organization's services here, with its size and where it stands in its
 * lineage, and the kept-aside copies.
 */
import type { Repositories } from './repository.js'
import type { LineageRecords, VolumeBackend } from './types.js'
import type { VolumeView } from '@minga/protocol'

/** what the views read: this node's volumes, their lineage records, the repositories' latest snapshots */
export interface ViewSource {
  backend: VolumeBackend
  lineage: LineageRecords
  self: string
  repositories: Pick<Repositories, 'latest'>
}

export async function volumeViews (source: ViewSource, org: string | undefined): Promise<VolumeView[]> {
  const { backend, lineage, self, repositories } = source
  const out: VolumeView[] = []
  for (const local of await backend.list()) {
    if (local.service === undefined || local.volume === undefined) continue
    const [owner, service] = local.service.split('/')
    if (org !== undefined && owner !== org) continue
    const state = await backend.inspect(local.name)
    const base = local.aside === undefined ? (await lineage.get(local.name))?.base : undefined
    const latest = repositories.latest(owner, service, local.volume)
    const view: VolumeView = {
      node: self,
      name: local.name,
      service: local.service,
      volume: local.volume,
      bytes: state.bytes,
      files: state.files,
      lineage: 'untracked',
      ...(base === undefined ? {} : { generation: base.generation }),
      ...(latest === undefined ? {} : { latest: { generation: latest.record.generation, time: latest.record.time, node: latest.entry.author, snapshot: latest.record.snapshot } }),
      ...(local.aside === undefined ? {} : { aside: local.aside })
    }
    view.lineage = local.aside !== undefined ? 'aside' : await lineageOf(lineage, local.name, base, latest?.record, state)
    out.push(view)
  }
  return out
}

async function lineageOf (lineage: LineageRecords, name: string, base: { snapshot: string, generation: number } | undefined, latest: { snapshot: string, generation: number } | undefined, state: { empty: boolean, fingerprint: string }): Promise<VolumeView['lineage']> {
  if (latest === undefined) return base === undefined ? 'no-snapshot' : 'ahead'
  // an empty copy outside the lineage holds nothing to lose: a start restores over it
  if (base === undefined) return state.empty ? 'behind' : 'diverged'
  const written = (await lineage.get(name))?.fingerprint !== state.fingerprint
  if (base.generation === latest.generation && base.snapshot === latest.snapshot) return written ? 'written' : 'current'
  if (base.generation > latest.generation) return 'ahead'
  if (base.generation === latest.generation) return 'diverged'
  return written ? 'diverged' : 'behind'
}
