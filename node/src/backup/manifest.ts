/**
 * A repository manifest: every file of a service's restic repository, by
 * type, name and size, plus the blob that holds restic's `config` (the one
 * file not named by its hash). Holders store blobs by hash without knowing
 * what they are; the manifest is what lets a node that starts with nothing
 * (a phoenix server, a new owner of a moved service) hand restic the
 * listings it asks for. It is itself a blob, named by the hash of its
 * canonical JSON, and signed entries point at it. It names ciphertext only.
 */
import { createHash } from 'node:crypto'
import { isSha256Hex } from '@minga/protocol'
import { BackupError } from './errors.js'
import type { ResticFileType } from './rest-server.js'

export type ListedType = Exclude<ResticFileType, 'config' | 'locks'>
export const LISTED_TYPES: readonly ListedType[] = ['data', 'keys', 'snapshots', 'index']

export interface Manifest {
  v: 1
  config?: { hash: string, size: number }
  /** type → name → size */
  files: Record<ListedType, Record<string, number>>
}

/** a manifest blob is at most this large: about 150,000 files */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024

export function emptyManifest (): Manifest {
  return { v: 1, files: { data: {}, keys: {}, snapshots: {}, index: {} } }
}

/** every file of every manifest: what any of them lists (concurrent writers each list their own) */
export function unionManifests (manifests: readonly Manifest[], preferConfig?: Manifest): Manifest {
  const out = emptyManifest()
  for (const m of manifests) {
    for (const type of LISTED_TYPES) Object.assign(out.files[type], m.files[type])
    if (out.config === undefined && m.config !== undefined) out.config = m.config
  }
  if (preferConfig?.config !== undefined) out.config = preferConfig.config
  return out
}

/** canonical bytes (keys sorted) and their sha256 */
export function encodeManifest (manifest: Manifest): { bytes: Uint8Array, hash: string } {
  const sorted = (files: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(files).sort(([a], [b]) => a < b ? -1 : 1))
  const canonical = {
    v: 1,
    ...(manifest.config === undefined ? {} : { config: { hash: manifest.config.hash, size: manifest.config.size } }),
    files: Object.fromEntries(LISTED_TYPES.map(t => [t, sorted(manifest.files[t])]))
  }
  const bytes = new TextEncoder().encode(JSON.stringify(canonical))
  if (bytes.length > MAX_MANIFEST_BYTES) throw new BackupError(`The repository lists too many files for one manifest (${bytes.length} bytes); prune it with "minga backup SERVICE --prune"`)
  return { bytes, hash: createHash('sha256').update(bytes).digest('hex') }
}

/** the manifest in `bytes`, checked; throws `BackupError` naming what is wrong */
export function decodeManifest (bytes: Uint8Array): Manifest {
  let raw: any
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw new BackupError('A repository manifest is not JSON; it was damaged')
  }
  if (raw?.v !== 1 || typeof raw.files !== 'object' || raw.files === null) throw new BackupError('A repository manifest has no version 1 file list')
  const out = emptyManifest()
  for (const type of LISTED_TYPES) {
    const files = raw.files[type] ?? {}
    if (typeof files !== 'object' || files === null || Array.isArray(files)) throw new BackupError(`A repository manifest's ${type} list is not a map`)
    for (const [name, size] of Object.entries(files)) {
      if (!isSha256Hex(name) || !Number.isSafeInteger(size) || (size as number) < 0) throw new BackupError(`A repository manifest lists a bad ${type} file ${name.slice(0, 16)}`)
      out.files[type][name] = size as number
    }
  }
  if (raw.config !== undefined) {
    if (!isSha256Hex(raw.config?.hash) || !Number.isSafeInteger(raw.config?.size)) throw new BackupError('A repository manifest names a bad config blob')
    out.config = { hash: raw.config.hash, size: raw.config.size }
  }
  return out
}

/** the blobs a manifest keeps alive (its own blob aside) */
export function manifestBlobs (manifest: Manifest): Set<string> {
  const out = new Set<string>()
  for (const type of LISTED_TYPES) for (const name of Object.keys(manifest.files[type])) out.add(name)
  if (manifest.config !== undefined) out.add(manifest.config.hash)
  return out
}

/** bytes of every file the manifest lists */
export function manifestBytes (manifest: Manifest): number {
  let total = manifest.config?.size ?? 0
  for (const type of LISTED_TYPES) for (const size of Object.values(manifest.files[type])) total += size
  return total
}
