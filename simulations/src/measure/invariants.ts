/**
 * The invariants every run must keep, as pure checks over a snapshot of
 * the mesh, so a test can plant a violation and see it caught:
 *   - agreement: after quiescence all live nodes hold the same state digest
 *     and the same assignment;
 *   - placement: no replica runs on, or is assigned to, a dead or cordoned
 *     node;
 *   (a node that started less than `catchUp` ago is not counted for the
 *   assignment: it holds the deaths it heard second-hand as suspicions,
 *   confirmed by its own probes, so it still places replicas on dead
 *   members for up to the shortest suspicion and a probe; a death younger
 *   than `deathSpread` may not have reached every node)
 *   - durability: every acknowledged write (its `write` resolved) is held,
 *     or superseded, by every live node;
 *   - singletons: a singleton never ran on two nodes at once (tracked
 *     during the whole run, at every replica start; including after
 *     minga's process died under its containers);
 *   - snapshots (scenarios with volumes): no acknowledged snapshot is lost
 *     while fewer than R of its holders fail, and no singleton's replica
 *     starts on a volume older than the latest acknowledged snapshot.
 */
import type { Entry } from '@minga/protocol'

export interface NodeSnapshot {
  id: string
  up: boolean
  cordoned: boolean
  digest?: string
  /** ms its process has run since it last started; undefined when it is down */
  upFor?: number
  /** ms since its process died; undefined while up (or never died) */
  downFor?: number
  /** the members it holds live (alive or suspect), sorted */
  live?: readonly string[]
  /** canonical text (or hash) of the node's current assignment */
  assignmentKey?: string
  /** service id → node per replica, as this node computed it */
  assignment?: Record<string, Array<string | null>>
  /** containers on the host that are running or starting */
  containers: Array<{ service: string, replica: number }>
  /** the winning entry under a key */
  entry: (key: string) => Entry | undefined
}

/** an acknowledged snapshot's fate at the end of a run */
export interface SnapshotFate {
  /** ms since the run began, when its entry was written */
  at: number
  service: string
  volume: string
  snapshot: string
  generation: number
  /** the newest acknowledged generation of its volume */
  latest: boolean
  /** still in the repository (not forgotten by the retention policy) */
  retained: boolean
  /** the nodes that hold its blobs, and how many of them run */
  holders: string[]
  holdersUp: number
}

export interface VolumesSnapshot {
  /** R: the copies each snapshot is meant to have */
  copies: number
  snapshots: SnapshotFate[]
  /** starts of a singleton's replica on a volume behind the latest acknowledged snapshot */
  staleStarts: Array<{ at: number, node: string, service: string, volume: string, generation: number, latest: number, why: string }>
}

export interface MeshSnapshot {
  nodes: NodeSnapshot[]
  acknowledged: Entry[]
  singletonViolations: Array<{ at: number, service: string, nodes: string[] }>
  /**
   * ms a node that started takes to catch up: the shortest suspicion and a probe (a death it heard from a peer's table
   * is a suspicion it confirms by probing the member at once); nodes up for less are not counted for agreement on the
   * assignment nor for its placement. Default 0: every live node counts
   */
  catchUp?: number
  /** ms a death takes to reach every node: the longest suspicion (default `catchUp`) */
  deathSpread?: number
  /** in scenarios with volumes */
  volumes?: VolumesSnapshot
}

export interface Violation {
  invariant: 'agreement' | 'placement' | 'durability' | 'singleton' | 'snapshot-lost' | 'stale-volume'
  detail: string
}

/**
 * violations of agreement: live nodes that hold different state digests after quiescence, or different assignments
 * among those that caught up (up for `snapshot.catchUp` at least)
 */
export function checkAgreement (snapshot: MeshSnapshot): Violation[] {
  const live = snapshot.nodes.filter(n => n.up)
  if (live.length === 0) return []
  const settled = live.filter(n => caughtUp(snapshot, n))
  const digests = countBy(live, n => n.digest ?? '?')
  const out: Violation[] = []
  if (digests.size > 1) out.push({ invariant: 'agreement', detail: `${digests.size} different state digests among ${live.length} live nodes: ${summarize(digests)}` })
  // an assignment that differs from the most common one only because the two live sets differ in members that started
  // or died less than `catchUp` ago is a change still spreading, not a disagreement
  const groups = groupBy(settled, n => n.assignmentKey ?? '?')
  const [common] = [...groups.values()].sort((a, b) => b.length - a.length)
  const recent = new Set(snapshot.nodes.filter(n => !caughtUp(snapshot, n) || (n.downFor !== undefined && n.downFor < deathSpread(snapshot))).map(n => n.id))
  const assignments = new Map<string, number>()
  for (const [key, nodes] of groups) {
    if (nodes !== common && spreading(common[0], nodes[0], recent)) continue
    assignments.set(key, nodes.length)
  }
  const counted = [...assignments.values()].reduce((a, b) => a + b, 0)
  const catching = live.length === counted ? '' : ` (${live.length - counted} not counted: started less than ${Math.round((snapshot.catchUp ?? 0) / 100) / 10} s ago, or differing only in members that did)`
  if (assignments.size > 1) out.push({ invariant: 'agreement', detail: `${assignments.size} different assignments among ${counted} live nodes${catching}: ${summarize(assignments)}` })
  return out
}

/** the two nodes' live sets are known and differ, and only in `recent` members */
function spreading (a: NodeSnapshot, b: NodeSnapshot, recent: ReadonlySet<string>): boolean {
  if (a.live === undefined || b.live === undefined) return false
  const one = new Set(a.live)
  const other = new Set(b.live)
  let differ = false
  for (const id of one) if (!other.has(id)) { if (!recent.has(id)) return false; differ = true }
  for (const id of other) if (!one.has(id)) { if (!recent.has(id)) return false; differ = true }
  return differ
}

function deathSpread (snapshot: MeshSnapshot): number {
  return snapshot.deathSpread ?? snapshot.catchUp ?? 0
}

/** the node has run long enough to know every death the mesh knows (see `MeshSnapshot.catchUp`) */
function caughtUp (snapshot: MeshSnapshot, node: NodeSnapshot): boolean {
  return node.upFor === undefined || node.upFor >= (snapshot.catchUp ?? 0)
}

/** violations of placement: replicas running on a dead or cordoned node, or assigned to one by a node that caught up */
export function checkPlacement (snapshot: MeshSnapshot): Violation[] {
  const out: Violation[] = []
  const bad = new Map<string, string>()
  const byId = new Map(snapshot.nodes.map(n => [n.id, n]))
  for (const n of snapshot.nodes) {
    if (!n.up) bad.set(n.id, 'dead')
    else if (n.cordoned) bad.set(n.id, 'cordoned')
  }
  for (const n of snapshot.nodes) {
    const why = bad.get(n.id)
    if (why !== undefined && n.containers.length > 0) out.push({ invariant: 'placement', detail: `${n.containers.length} replica(s) run on ${why} node ${n.id}, e.g. ${n.containers[0].service}#${n.containers[0].replica}` })
  }
  // a death younger than the longest suspicion may not have reached every node yet
  const known = new Map([...bad].filter(([id]) => { const n = byId.get(id); return n?.downFor === undefined || n.downFor >= deathSpread(snapshot) }))
  const reported = new Set<string>()
  // nodes that agree share one assignment object: each is walked once (10,000 nodes × 10,000 services otherwise)
  const walked = new Set<object>()
  for (const n of snapshot.nodes) {
    if (!n.up || n.assignment === undefined || walked.has(n.assignment) || !caughtUp(snapshot, n)) continue
    walked.add(n.assignment)
    for (const [service, slots] of Object.entries(n.assignment)) {
      slots.forEach((owner, replica) => {
        const why = owner === null ? undefined : known.get(owner)
        if (why === undefined || reported.has(`${service}#${replica}`)) return
        reported.add(`${service}#${replica}`)
        out.push({ invariant: 'placement', detail: `${n.id} assigns ${service}#${replica} to ${why} node ${owner!}` })
      })
    }
  }
  return out
}

/** violations of durability: an acknowledged write that a live node neither holds nor has superseded */
export function checkDurability (snapshot: MeshSnapshot): Violation[] {
  const out: Violation[] = []
  for (const entry of snapshot.acknowledged) {
    const missing = snapshot.nodes.filter(n => n.up && !holds(n.entry(entry.key), entry))
    if (missing.length > 0) out.push({ invariant: 'durability', detail: `acknowledged ${entry.key} (${entry.author.slice(-6)}#${entry.seq}) is missing on ${missing.length} live node(s), e.g. ${missing[0].id}` })
  }
  return out
}

/** violations of the singleton rule: a singleton ran on two nodes at once (tracked during the whole run) */
export function checkSingletons (snapshot: MeshSnapshot): Violation[] {
  return snapshot.singletonViolations.map(v => ({ invariant: 'singleton', detail: `${v.service} ran on ${v.nodes.length} nodes at once at +${Math.round(v.at / 100) / 10} s: ${v.nodes.join(', ')}` }))
}

/**
 * violations of the snapshot rules: an acknowledged snapshot that no running holder keeps although fewer than R of its
 * holders failed (stored on fewer than R, or dropped), the newest of a volume forgotten, a singleton started on an older volume
 */
export function checkSnapshots (snapshot: MeshSnapshot): Violation[] {
  const volumes = snapshot.volumes
  if (volumes === undefined) return []
  const out: Violation[] = []
  for (const s of volumes.snapshots) {
    const name = `snapshot ${s.snapshot.slice(0, 8)} of ${s.service}/${s.volume} (generation ${s.generation}, acknowledged at +${Math.round(s.at / 100) / 10} s)`
    if (!s.retained) {
      if (s.latest) out.push({ invariant: 'snapshot-lost', detail: `${name} is the newest of its volume and was forgotten` })
      continue
    }
    const failed = s.holders.length - s.holdersUp
    if (s.holdersUp === 0 && failed < volumes.copies) out.push({ invariant: 'snapshot-lost', detail: `${name} is lost: ${failed} of its holders failed, fewer than R = ${volumes.copies} (held by ${s.holders.length === 0 ? 'none' : s.holders.map(h => h.slice(-8)).join(', ')})` })
  }
  for (const s of volumes.staleStarts) out.push({ invariant: 'stale-volume', detail: `${s.service} started on ${s.node} at +${Math.round(s.at / 100) / 10} s on ${s.volume} at generation ${s.generation}, older than the acknowledged generation ${s.latest} (by ${s.why})` })
  return out
}

/** every invariant's violations, in one list */
export function checkAll (snapshot: MeshSnapshot): Violation[] {
  return [...checkAgreement(snapshot), ...checkPlacement(snapshot), ...checkDurability(snapshot), ...checkSingletons(snapshot), ...checkSnapshots(snapshot)]
}

/** violations per invariant */
export function countInvariants (violations: readonly Violation[]): Partial<Record<Violation['invariant'], number>> {
  const out: Partial<Record<Violation['invariant'], number>> = {}
  for (const v of violations) out[v.invariant] = (out[v.invariant] ?? 0) + 1
  return out
}

/** `held` is `entry` or supersedes it (later clock, or same clock and a higher author) */
export function holds (held: Entry | undefined, entry: Entry): boolean {
  if (held === undefined) return false
  if (held.hlc !== entry.hlc) return held.hlc > entry.hlc
  return held.author >= entry.author
}

function countBy<T> (items: T[], key: (item: T) => string): Map<string, number> {
  const out = new Map<string, number>()
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1)
  return out
}

function groupBy<T> (items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>()
  for (const item of items) {
    const k = key(item)
    const group = out.get(k)
    if (group === undefined) out.set(k, [item])
    else group.push(item)
  }
  return out
}

function summarize (groups: Map<string, number>): string {
  return [...groups].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, n]) => `${n}× ${k.slice(0, 16)}`).join(', ')
}
