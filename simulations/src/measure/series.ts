/** the measurement records a run produces */
import type { Entry } from '@minga/protocol'
import type { Assignment } from '@minga/scheduler'

export interface Sample {
  /** virtual seconds since the start */
  t: number
  /** established replica slots (desired since the start, or healthy once) that are healthy now */
  availability: number
  /** healthy slots / all desired slots, new ones included: how far deploys have got */
  coverage: number
  /** slots healthy on the current spec / desired slots */
  updated: number
  desired: number
  /** running copies beyond one per slot */
  extraCopies: number
  live: number
  agree: boolean
  /** bytes sent per live node per second over the last window */
  bytesPerNode: number
  /** bytes sent by all nodes over the last window (one sample period) */
  bytes: number
}

export type ChangeKind = 'deploy' | 'update' | 'kill' | 'restart' | 'org-loss' | 'partition' | 'heal' | 'cordon' | 'stall' | 'slow'

export interface Change {
  at: number
  kind: ChangeKind
  label: string
  /** entries whose write resolved for this change */
  acknowledged: Entry[]
  /** writes of this change not yet resolved: it cannot have converged before they are */
  pendingWrites: number
  /** nodes that went down (kill, org loss) or came back (restart) or got cordoned */
  nodes: string[]
  /** for a partition: the peers on side 1 */
  side?: Set<string>
  /** ms after `at` when all live nodes agreed and the change was in effect; null = never */
  converged: number | null
  /** ms after `at` when availability was back to its level before; failures only */
  recovered: number | null
  availabilityBefore: number
  assignmentBefore?: Assignment
  /** replicas whose node changed between the agreed assignments before and after, and the least that had to */
  moved?: number
  optimal?: number
}

export interface FaultWindow {
  from: number
  to: number
  kind: string
  label: string
}
