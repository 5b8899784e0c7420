/**
 * The replicated facts of backups, as signed entries:
 *
 * - `backup/<org>/<service>`: the service's restic repository password,
 *   sealed (secret-box.ts) to the nodes that may run the service, like its
 *   secrets. Written by nodes of <org>.
 * - `snapshot/<org>/<service>/<volume>/<peer>`: the latest snapshot of a
 *   volume that node <peer> took (or, with `reason: 'restore'`, chose).
 *   Written by <peer> itself, whatever its org: a node that runs another
 *   organization's service snapshots its volume; deleted by <peer> or by
 *   nodes of <org>. The latest snapshot of a volume is the one of highest
 *   (generation, hlc) among the entries of the nodes the owner trusts with
 *   its data (`latestSnapshot`).
 * - `prune/<org>/<service>`: holders may drop blobs of the repository that
 *   none of `manifests` (and no current snapshot entry's manifest) lists and
 *   that they stored before `before`. Written by nodes of <org>: a holder
 *   deletes only on the owner's signed word.
 */
import type { Entry } from './entry.js'
import { isHlc } from './hlc.js'
import { parseKey, type Key } from './keys.js'
import { sealedSecretProblem, type SealedSecret } from './secret-box.js'

const SHA256 = /^[0-9a-f]{64}$/

export type BackupRecord = {
  /** the repository password, sealed like a secret */
  sealed: SealedSecret
  /** clock stamp of the password's creation; re-sealing keeps it */
  version: string
}

export type SnapshotReason = 'interval' | 'final' | 'manual' | 'restore'
export const SNAPSHOT_REASONS: readonly SnapshotReason[] = ['interval', 'final', 'manual', 'restore']

export type SnapshotRecord = {
  /** restic's snapshot id */
  snapshot: string
  /** 1 for a volume's first snapshot; each later one adds 1 */
  generation: number
  /** the snapshot of the generation before, when there is one */
  parent?: string
  /** the repository manifest blob after it (a sha256) */
  manifest: string
  /** ms since epoch, when it was taken (restic began reading the volume: what was written before is in it) */
  time: number
  /** bytes and files of the volume in it */
  bytes: number
  files: number
  /** `interval`, `final` (taken after the replica stopped for a planned move), `manual` (`minga backup`), `restore` (`minga restore --snapshot` made an older snapshot the latest) */
  reason: SnapshotReason
}

export type PruneRecord = {
  /** the manifests (sha256) whose blobs stay */
  manifests: string[]
  /** ms since epoch: blobs stored later stay too (a snapshot may be under way) */
  before: number
}

/** manifests one prune entry names, at most */
export const MAX_PRUNE_MANIFESTS = 64

export type BackupKey = Extract<Key, { kind: 'backup' | 'snapshot' | 'prune' }>

/**
 * Under `snapshot/`, the prefix of every node's entry of one volume of a
 * service (or, without `volume`, of every volume of it), for `state.records('snapshot', …)`
 */
export function snapshotPrefix (org: string, service: string, volume?: string): string {
  return volume === undefined ? `${org}/${service}/` : `${org}/${service}/${volume}/`
}

/** the parsed backup key (keys.backup, keys.snapshot, keys.prune), or undefined */
export function parseBackupKey (key: string): BackupKey | undefined {
  const parsed = parseKey(key)
  return parsed?.kind === 'backup' || parsed?.kind === 'snapshot' || parsed?.kind === 'prune' ? parsed : undefined
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const whole = (v: unknown, max = Number.MAX_SAFE_INTEGER): boolean => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max

function fieldsProblem (v: Record<string, unknown>, required: string[], optional: string[] = []): string | undefined {
  for (const name of required) if (v[name] === undefined) return `value.${name} is missing`
  for (const name of Object.keys(v)) if (!required.includes(name) && !optional.includes(name)) return `value.${name} is not a known field`
  return undefined
}

/** why `value` cannot stand under this backup key, or undefined */
export function backupRecordProblem (key: BackupKey, value: unknown): string | undefined {
  if (!isObject(value)) return 'value must be an object'
  switch (key.kind) {
    case 'backup':
      return fieldsProblem(value, ['sealed', 'version']) ?? (isHlc(value.version) ? sealedSecretProblem(value.sealed) : 'backup version must be a clock stamp')
    case 'snapshot': {
      const problem = fieldsProblem(value, ['snapshot', 'generation', 'manifest', 'time', 'bytes', 'files', 'reason'], ['parent'])
      if (problem !== undefined) return problem
      if (typeof value.snapshot !== 'string' || !SHA256.test(value.snapshot)) return 'snapshot must be a restic snapshot id (64 hex digits)'
      if (value.parent !== undefined && (typeof value.parent !== 'string' || !SHA256.test(value.parent))) return 'parent must be a restic snapshot id'
      if (typeof value.manifest !== 'string' || !SHA256.test(value.manifest)) return 'manifest must be a sha256 hex digest'
      if (!whole(value.generation) || (value.generation as number) < 1) return 'generation must be a whole number from 1'
      if (!whole(value.time) || !whole(value.bytes) || !whole(value.files)) return 'time, bytes and files must be whole numbers'
      if (!SNAPSHOT_REASONS.includes(value.reason as SnapshotReason)) return `reason must be one of ${SNAPSHOT_REASONS.join(', ')}`
      return undefined
    }
    case 'prune': {
      const problem = fieldsProblem(value, ['manifests', 'before'])
      if (problem !== undefined) return problem
      const list = value.manifests
      if (!Array.isArray(list) || list.length > MAX_PRUNE_MANIFESTS || !list.every(m => typeof m === 'string' && SHA256.test(m))) return `manifests must list at most ${MAX_PRUNE_MANIFESTS} sha256 digests`
      return whole(value.before) ? undefined : 'before must be a time in ms'
    }
  }
}

/**
 * May `author` (a node of `authorOrg`) write this entry? `backup` and
 * `prune`: nodes of the owning org; `snapshot`: the node it names, and nodes
 * of the owning org may delete it. Rests only on facts that never change
 * (the author's org), so every node gives the same verdict
 */
export function backupWriteProblem (key: BackupKey, author: string, authorOrg: string, tombstone: boolean): string | undefined {
  if (key.kind === 'snapshot') {
    if (author === key.peer) return undefined
    if (tombstone && authorOrg === key.org) return undefined
    return `only ${key.peer.slice(-8)} writes its snapshot entries${tombstone ? `, and nodes of ${key.org} delete them` : ''}`
  }
  return authorOrg === key.org ? undefined : `only members of ${key.org} write its ${key.kind} entries`
}

/**
 * The latest snapshot of a volume: of the entries under
 * `snapshot/<org>/<service>/<volume>/`, those whose author `trusted` admits
 * (the owner's nodes, and nodes the owner lets run the service), the one of
 * highest generation; at one generation a restore (an operator's choice
 * made while a snapshot of the older copy ran: both extend the same
 * latest), then the latest clock stamp
 */
export function latestSnapshot<E extends Pick<Entry, 'author' | 'hlc' | 'tombstone'> & { value: SnapshotRecord }> (entries: readonly E[], trusted: (peer: string) => boolean): { entry: E, record: SnapshotRecord } | undefined {
  let best: { entry: E, record: SnapshotRecord } | undefined
  for (const entry of entries) {
    if (entry.tombstone === true || !trusted(entry.author)) continue
    if (best === undefined || newer({ entry, record: entry.value }, best)) best = { entry, record: entry.value }
  }
  return best
}

function newer<E extends Pick<Entry, 'author' | 'hlc'>> (a: { entry: E, record: SnapshotRecord }, b: { entry: E, record: SnapshotRecord }): boolean {
  if (a.record.generation !== b.record.generation) return a.record.generation > b.record.generation
  const restores = Number(a.record.reason === 'restore') - Number(b.record.reason === 'restore')
  if (restores !== 0) return restores > 0
  return a.entry.hlc > b.entry.hlc || (a.entry.hlc === b.entry.hlc && a.entry.author > b.entry.author)
}
