/**
 * Lineage: what a node does with its local copy of a volume before it starts
 * a replica on it. Pure; every decision is a test case.
 *
 * A volume's lineage is the chain of its snapshots: generation 1, 2, … each
 * taken from the copy the previous one was restored to, or written on. The
 * mesh knows the latest (a signed entry); each local copy knows the
 * snapshot it matches (`base`: the one it was restored from or last
 * snapshotted to) and whether it was written since (`dirty`).
 *
 * `lineage` mode (a singleton: one writer at a time):
 * - no snapshot yet: use the copy as it is (or a new, empty one)
 * - the copy is missing, or empty and never part of the lineage: restore
 * - the copy's base is the latest (or newer: this node wrote it): use it
 * - the copy's base is another snapshot of the same generation (two nodes
 *   wrote one across a partition): keep it aside and restore
 * - the copy is behind and clean: restore over it (it equals an older snapshot)
 * - the copy is behind and was written since, or holds data of unknown
 *   origin: keep it aside (renamed, listed, never deleted) and restore
 *
 * `seed` mode (a replicated service: each replica writes its own copy, so no
 * copy is "the" volume): restore only when the copy is missing or empty.
 */

export interface SnapshotRef {
  /** restic's snapshot id */
  snapshot: string
  /** 1 for the first snapshot of the volume; each later one adds 1 */
  generation: number
}

export interface LocalCopy {
  exists: boolean
  /** exists and has no file at all */
  empty: boolean
  /** the snapshot this copy matches, when it is part of the lineage */
  base?: SnapshotRef
  /** written since `base` (or since it was created, without one) */
  dirty: boolean
}

export type LineageMode = 'lineage' | 'seed'

export type VolumeDecision =
  | { action: 'use', reason: string }
  | { action: 'restore', to: SnapshotRef, reason: string }
  | { action: 'keep-aside', to: SnapshotRef, reason: string }

export function decideVolume (local: LocalCopy, latest: SnapshotRef | undefined, mode: LineageMode): VolumeDecision {
  if (latest === undefined) return { action: 'use', reason: local.exists ? 'no snapshot of it exists yet; its lineage starts here' : 'a new volume: no snapshot of it exists yet' }
  const label = `snapshot ${latest.snapshot.slice(0, 8)} (generation ${latest.generation})`
  if (!local.exists) return { action: 'restore', to: latest, reason: `no local copy; restoring ${label}` }
  if (local.empty && local.base === undefined) return { action: 'restore', to: latest, reason: `the local copy is empty; restoring ${label}` }
  if (mode === 'seed') return { action: 'use', reason: 'a replica keeps its own copy; restored only when it has none' }
  const base = local.base
  if (base !== undefined && base.snapshot === latest.snapshot && base.generation === latest.generation) {
    return { action: 'use', reason: local.dirty ? `up to date with ${label}, written since` : `up to date with ${label}` }
  }
  if (base !== undefined && base.generation > latest.generation) return { action: 'use', reason: `newer than the mesh's latest (generation ${base.generation} here)` }
  if (base !== undefined && base.generation === latest.generation) {
    return { action: 'keep-aside', to: latest, reason: `the local copy diverged: its generation ${base.generation} is snapshot ${base.snapshot.slice(0, 8)}, and another node wrote ${label}; keeping it aside and restoring the latest` }
  }
  if (base !== undefined && !local.dirty) {
    return { action: 'restore', to: latest, reason: `behind: it matches generation ${base.generation}, the latest is ${label}` }
  }
  const why = base === undefined
    ? 'it holds data that is in no snapshot'
    : `it was written after generation ${base.generation}, and the service has since written ${label} elsewhere`
  return { action: 'keep-aside', to: latest, reason: `the local copy diverged: ${why}; keeping it aside and restoring the latest` }
}
