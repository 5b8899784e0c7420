/**
 * The volumes protocol's messages (`protocols.volumes`, request/response):
 * what a node asks another about volumes, on demand rather than in every
 * heartbeat. Wire messages (wire.ts): type first, a size limit per type,
 * every field checked.
 *
 * - `volume-handoff`: "have you settled service S?" — the node about to
 *   start a singleton asks the one that held it; `settled` is false while
 *   that node still runs a copy or takes its final snapshot, and
 *   `generations` are the snapshot generations it wrote (by volume), which
 *   the asker waits to see before it restores.
 * - `volume-backup`: "snapshot service S now" (`minga backup`), to the node
 *   that runs it; the answer lists the snapshots taken.
 * - `volume-list`: "your volumes of my organization's services".
 */
import { bool, fail, list, name, object, pattern, text, token, whole } from './wire-check.js'

/** one volume on one node, as `minga volumes` shows it */
export interface VolumeView {
  /** the node that has it */
  node: string
  /** the engine's name */
  name: string
  /** `org/service` */
  service: string
  volume: string
  bytes: number
  files: number
  /**
   * `current`: at the latest snapshot (`written`: and written since);
   * `behind`; `ahead` (its snapshot entry not seen yet); `diverged`;
   * `no-snapshot`; `aside`: a kept-aside copy; `untracked`: not backed up
   */
  lineage: VolumeLineage
  /** the generation it matches */
  generation?: number
  /** the latest snapshot the mesh knows: generation, time (ms), node, restic's id */
  latest?: { generation: number, time: number, node: string, snapshot: string }
  /** a kept-aside copy: of which volume, when (ms) and why */
  aside?: { of: string, at: number, reason: string }
}

export type VolumeLineage = 'current' | 'written' | 'behind' | 'ahead' | 'diverged' | 'no-snapshot' | 'aside' | 'untracked'
export const VOLUME_LINEAGES: readonly VolumeLineage[] = ['current', 'written', 'behind', 'ahead', 'diverged', 'no-snapshot', 'aside', 'untracked']

/** one snapshot taken, as `minga backup` shows it */
export interface SnapshotView {
  volume: string
  /** restic's snapshot id */
  snapshot: string
  generation: number
  bytes: number
  files: number
  /** ms since epoch */
  time: number
  /** ms it took */
  tookMs: number
  /** bytes sent to holders */
  bytesStored: number
}

export interface VolumeHandoffRequest { type: 'volume-handoff', service: string }
export interface VolumeBackupRequest { type: 'volume-backup', service: string }
export interface VolumeListRequest { type: 'volume-list' }
export type VolumesRequest = VolumeHandoffRequest | VolumeBackupRequest | VolumeListRequest

export interface VolumeHandoffMessage { type: 'volume-handoff-ok', settled: boolean, generations: Record<string, number> }
export interface VolumeBackupMessage { type: 'volume-backup-ok', snapshots: SnapshotView[] }
export interface VolumeListMessage { type: 'volume-list-ok', volumes: VolumeView[] }
export type VolumesResponse = VolumeHandoffMessage | VolumeBackupMessage | VolumeListMessage

export type VolumesMessage = VolumesRequest | VolumesResponse

/** volumes one node lists, at most (the spec allows 32 per service; kept-aside copies add up) */
export const MAX_LISTED_VOLUMES = 4096
export const MAX_VOLUMES_REQUEST_BYTES = 1024

export const VOLUMES_MESSAGE_BYTES = {
  'volume-handoff': MAX_VOLUMES_REQUEST_BYTES,
  'volume-backup': MAX_VOLUMES_REQUEST_BYTES,
  'volume-list': MAX_VOLUMES_REQUEST_BYTES,
  'volume-handoff-ok': 16 * 1024,
  'volume-backup-ok': 64 * 1024,
  'volume-list-ok': 4 * 1024 * 1024
} as const

export const VOLUMES_REQUEST_TYPES = ['volume-handoff', 'volume-backup', 'volume-list'] as const
export const VOLUMES_RESPONSE_TYPES = ['volume-handoff-ok', 'volume-backup-ok', 'volume-list-ok'] as const

const SERVICE_ID_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
const SNAPSHOT_PATTERN = /^[0-9a-f]{64}$/
const service = (value: unknown, path: string): string => pattern(value, path, SERVICE_ID_PATTERN, 'must be a service id (org/name)')
const snapshot = (value: unknown, path: string): string => pattern(value, path, SNAPSHOT_PATTERN, 'must be a restic snapshot id (64 hex digits)')

function volumeView (value: unknown, path: string): VolumeView {
  const r = object(value, path, new Set(['node', 'name', 'service', 'volume', 'bytes', 'files', 'lineage', 'generation', 'latest', 'aside']))
  if (!VOLUME_LINEAGES.includes(r.lineage as VolumeLineage)) fail(`${path}.lineage`, `must be one of ${VOLUME_LINEAGES.join(', ')}`)
  const view: VolumeView = {
    node: token(r.node, `${path}.node`, 1, 128),
    name: token(r.name, `${path}.name`, 1, 256),
    service: service(r.service, `${path}.service`),
    volume: name(r.volume, `${path}.volume`),
    bytes: whole(r.bytes, `${path}.bytes`),
    files: whole(r.files, `${path}.files`),
    lineage: r.lineage as VolumeLineage
  }
  if (r.generation !== undefined) view.generation = whole(r.generation, `${path}.generation`)
  if (r.latest !== undefined) {
    const l = object(r.latest, `${path}.latest`, new Set(['generation', 'time', 'node', 'snapshot']))
    view.latest = { generation: whole(l.generation, `${path}.latest.generation`), time: whole(l.time, `${path}.latest.time`), node: token(l.node, `${path}.latest.node`, 1, 128), snapshot: snapshot(l.snapshot, `${path}.latest.snapshot`) }
  }
  if (r.aside !== undefined) {
    const a = object(r.aside, `${path}.aside`, new Set(['of', 'at', 'reason']))
    view.aside = { of: token(a.of, `${path}.aside.of`, 1, 256), at: whole(a.at, `${path}.aside.at`), reason: text(a.reason, `${path}.aside.reason`) }
  }
  return view
}

function snapshotView (value: unknown, path: string): SnapshotView {
  const r = object(value, path, new Set(['volume', 'snapshot', 'generation', 'bytes', 'files', 'time', 'tookMs', 'bytesStored']))
  return {
    volume: name(r.volume, `${path}.volume`),
    snapshot: snapshot(r.snapshot, `${path}.snapshot`),
    generation: whole(r.generation, `${path}.generation`),
    bytes: whole(r.bytes, `${path}.bytes`),
    files: whole(r.files, `${path}.files`),
    time: whole(r.time, `${path}.time`),
    tookMs: whole(r.tookMs, `${path}.tookMs`),
    bytesStored: whole(r.bytesStored, `${path}.bytesStored`)
  }
}

/** each volumes message's checker: the clean message, or InvalidMessageError naming the field */
export const volumesCheckers: { [T in VolumesMessage['type']]: (value: unknown) => Extract<VolumesMessage, { type: T }> } = {
  'volume-handoff': (value) => ({ type: 'volume-handoff', service: service(object(value, 'volume-handoff', new Set(['type', 'service'])).service, 'volume-handoff.service') }),
  'volume-backup': (value) => ({ type: 'volume-backup', service: service(object(value, 'volume-backup', new Set(['type', 'service'])).service, 'volume-backup.service') }),
  'volume-list': (value) => {
    object(value, 'volume-list', new Set(['type']))
    return { type: 'volume-list' }
  },
  'volume-handoff-ok': (value) => {
    const r = object(value, 'volume-handoff-ok', new Set(['type', 'settled', 'generations']))
    const raw = object(r.generations, 'volume-handoff-ok.generations')
    const generations: Record<string, number> = {}
    let count = 0
    for (const key in raw) {
      if (++count > 64) fail('volume-handoff-ok.generations', 'has more than 64 volumes')
      generations[name(key, 'volume-handoff-ok.generations key')] = whole(raw[key], `volume-handoff-ok.generations.${key}`)
    }
    return { type: 'volume-handoff-ok', settled: bool(r.settled, 'volume-handoff-ok.settled'), generations }
  },
  'volume-backup-ok': (value) => {
    const r = object(value, 'volume-backup-ok', new Set(['type', 'snapshots']))
    return { type: 'volume-backup-ok', snapshots: list(r.snapshots, 'volume-backup-ok.snapshots', 64).map((s, i) => snapshotView(s, `volume-backup-ok.snapshots[${i}]`)) }
  },
  'volume-list-ok': (value) => {
    const r = object(value, 'volume-list-ok', new Set(['type', 'volumes']))
    return { type: 'volume-list-ok', volumes: list(r.volumes, 'volume-list-ok.volumes', MAX_LISTED_VOLUMES).map((v, i) => volumeView(v, `volume-list-ok.volumes[${i}]`)) }
  }
}
