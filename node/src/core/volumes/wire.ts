/**
 * The volumes protocol's messages (protocols.volumes, request/response,
 * JSON with a size limit): what a node asks another about volumes, on
 * demand rather than in every heartbeat.
 *
 * - `volume-handoff`: "have you settled service S?" — the node that is
 *   about to start a singleton asks the one that held it; `settled` is false
 *   while that node still runs a copy or takes its final snapshot, and
 *   `generations` are the snapshot generations it wrote, which the asker
 *   waits to see before it restores.
 * - `volume-backup`: "snapshot service S now" (`minga backup`), to the node
 *   that runs it.
 * - `volume-list`: "your volumes of my organization's services".
 */
import { NAME_PATTERN } from '@minga/protocol'

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
  /** `current`: at the latest snapshot (`written`: and written since); `behind`; `ahead` (its snapshot entry not seen yet); `diverged`; `no-snapshot`; `aside`: a kept-aside copy; `untracked`: not backed up */
  lineage: 'current' | 'written' | 'behind' | 'ahead' | 'diverged' | 'no-snapshot' | 'aside' | 'untracked'
  /** the generation it matches */
  generation?: number
  /** the latest snapshot the mesh knows: generation, time (ms), node */
  latest?: { generation: number, time: number, node: string, snapshot: string }
  /** a kept-aside copy: of which volume, when (ms) and why */
  aside?: { of: string, at: number, reason: string }
}

export interface SnapshotView {
  volume: string
  snapshot: string
  generation: number
  bytes: number
  files: number
  /** ms */
  time: number
  /** ms it took */
  tookMs: number
  bytesStored: number
}

export type VolumesRequest =
  | { type: 'volume-handoff', service: string }
  | { type: 'volume-backup', service: string }
  | { type: 'volume-list' }

export type VolumesResponse =
  | { type: 'volume-handoff-ok', settled: boolean, generations: Record<string, number> }
  | { type: 'volume-backup-ok', snapshots: SnapshotView[] }
  | { type: 'volume-list-ok', volumes: VolumeView[] }
  | { type: 'error', code: string, message: string }

export const MAX_VOLUMES_REQUEST_BYTES = 1024
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeVolumes (message: VolumesRequest | VolumesResponse): Uint8Array {
  return encoder.encode(JSON.stringify(message))
}

/** a request, checked; throws an Error whose message says what is wrong */
export function decodeVolumesRequest (bytes: Uint8Array): VolumesRequest {
  if (bytes.length > MAX_VOLUMES_REQUEST_BYTES) throw new Error(`A volumes request is at most ${MAX_VOLUMES_REQUEST_BYTES} bytes`)
  const raw = JSON.parse(decoder.decode(bytes)) as Record<string, unknown>
  if (typeof raw !== 'object' || raw === null) throw new Error('A volumes request is a JSON object')
  const keys = Object.keys(raw)
  if (raw.type === 'volume-list' && keys.length === 1) return { type: 'volume-list' }
  if ((raw.type === 'volume-handoff' || raw.type === 'volume-backup') && keys.length === 2 && isServiceId(raw.service)) return { type: raw.type, service: raw.service }
  throw new Error('Not a volumes request: volume-handoff or volume-backup with a service (org/name), or volume-list')
}

/** a response (from a member: shapes are trusted as far as JSON goes, sizes by the mesh's frame limit) */
export function decodeVolumesResponse (bytes: Uint8Array): VolumesResponse {
  const raw = JSON.parse(decoder.decode(bytes)) as VolumesResponse
  if (typeof raw !== 'object' || raw === null || typeof (raw as any).type !== 'string') throw new Error('Not a volumes response')
  return raw
}

export function isServiceId (value: unknown): value is string {
  if (typeof value !== 'string') return false
  const parts = value.split('/')
  return parts.length === 2 && parts.every(p => NAME_PATTERN.test(p))
}
