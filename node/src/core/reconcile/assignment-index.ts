/**
 * Who holds what, indexed once per assignment object. An assignment covers
 * the whole mesh; a node mostly asks about its own share, and the
 * simulator's nodes share assignment objects, so each is indexed only once.
 */
import type { Assignment } from '@minga/scheduler'
import { replicaKey } from './replicas.js'

interface Index {
  /** node → `service#replica` keys assigned to it */
  replicas: Map<string, string[]>
  /** node → services with a replica assigned to it */
  services: Map<string, Set<string>>
}

const indexes = new WeakMap<Assignment, Index>()
const NONE_SET: ReadonlySet<string> = new Set()
const NONE_LIST: readonly string[] = []

function indexOf (assignment: Assignment): Index {
  let index = indexes.get(assignment)
  if (index === undefined) {
    index = { replicas: new Map(), services: new Map() }
    for (const [service, slots] of Object.entries(assignment.services)) {
      slots.forEach((owner, replica) => {
        if (owner === null) return
        let keys = index!.replicas.get(owner)
        if (keys === undefined) index!.replicas.set(owner, keys = [])
        keys.push(replicaKey(service, replica))
        let services = index!.services.get(owner)
        if (services === undefined) index!.services.set(owner, services = new Set())
        services.add(service)
      })
    }
    indexes.set(assignment, index)
  }
  return index
}

/** `service#replica` keys assigned to `node` */
export function replicaKeysOn (assignment: Assignment, node: string): readonly string[] {
  return indexOf(assignment).replicas.get(node) ?? NONE_LIST
}

/** services with at least one replica assigned to `node` */
export function servicesOn (assignment: Assignment, node: string): ReadonlySet<string> {
  return indexOf(assignment).services.get(node) ?? NONE_SET
}
