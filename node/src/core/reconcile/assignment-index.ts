/**
 * Who holds what, indexed once per assignment object. An assignment covers
 * the whole mesh; a node mostly asks about its own share, and the
 * simulator's nodes share assignment objects, so each is indexed only once.
 */
import type { Assignment } from '@minga/scheduler'
import { replicaKey } from './replicas.js'
import { setOfList } from '../membership/shared-lists.js'

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

/**
 * the live nodes that hear what this node runs of `service`: assigned it in one of `assignments` (now, before the last
 * change), reporting copies of it, or, with `standbys`, named its standby now: where a replica went while its node was
 * away, which a node that just came back (no previous assignment of its own) must hear of before it starts a singleton
 */
export function audienceOf (service: string, assignments: Array<Assignment | undefined>, reporters: Iterable<string>, self: string, live: readonly string[], standbys = false): string[] {
  const out = new Set<string>()
  for (const assignment of assignments) for (const node of assignment?.services[service] ?? []) if (node !== null) out.add(node)
  if (standbys) for (const node of assignments[0]?.standby?.[service] ?? []) if (node !== null) out.add(node)
  for (const peer of reporters) out.add(peer)
  out.delete(self)
  const alive = setOfList(live)
  return [...out].filter(peer => alive.has(peer))
}
