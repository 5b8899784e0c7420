/** Reading an assignment: who runs what, and what moved between two of them */
import type { Assignment } from './types.js'

export interface ReplicaRef {
  service: string
  replica: number
}

/** the replicas assigned to one node, in placement order */
export function replicasOn (assignment: Assignment, nodeId: string): ReplicaRef[] {
  const out: ReplicaRef[] = []
  for (const [service, slots] of Object.entries(assignment.services)) {
    for (let replica = 0; replica < slots.length; replica++) {
      if (slots[replica] === nodeId) out.push({ service, replica })
    }
  }
  return out
}

/** the node a replica is assigned to, or null when it is unplaced or unknown */
export function nodeOf (assignment: Assignment, service: string, replica: number): string | null {
  return assignment.services[service]?.[replica] ?? null
}

/** replica count per node id */
export function loadByNode (assignment: Assignment): Map<string, number> {
  const load = new Map<string, number>()
  for (const slots of Object.values(assignment.services)) {
    for (const node of slots) {
      if (node !== null) load.set(node, (load.get(node) ?? 0) + 1)
    }
  }
  return load
}

/**
 * Replicas placed in both assignments but on different nodes, plus those
 * placed in only one of them: the containers a change would start or stop.
 */
export function movedReplicas (before: Assignment, after: Assignment): ReplicaRef[] {
  const moved: ReplicaRef[] = []
  const ids = new Set([...Object.keys(before.services), ...Object.keys(after.services)])
  for (const service of ids) {
    const a = before.services[service] ?? []
    const b = after.services[service] ?? []
    for (let replica = 0; replica < Math.max(a.length, b.length); replica++) {
      const from = a[replica] ?? null
      const to = b[replica] ?? null
      if (from !== to && !(from === null && to === null)) moved.push({ service, replica })
    }
  }
  return moved
}
