/**
 * The static filters: whether a node may ever run a service, whatever else is
 * placed. Capacity, shares and host ports change as replicas are placed and
 * are checked in place.ts.
 */
import { compareStrings } from './order.js'
import type { NodeTable } from './nodes.js'
import type { NodeInfo } from './types.js'
import type { ServiceSpec } from '@minga/protocol'

/** the service's `allowOrgs` admits the node's organization */
export function orgAllowed (spec: ServiceSpec, node: NodeInfo): boolean {
  return spec.allowOrgs === undefined || spec.allowOrgs.includes(node.org)
}

/** the node's `acceptOrgs` admits the service's organization */
export function acceptsOrg (node: NodeInfo, org: string): boolean {
  return node.acceptOrgs === undefined || node.acceptOrgs.includes(org)
}

/** the node carries every label the service asks for, with that value */
export function matchesConstraints (spec: ServiceSpec, node: NodeInfo): boolean {
  for (const key in spec.constraints) {
    if (!Object.hasOwn(node.labels, key) || node.labels[key] !== spec.constraints[key]) return false
  }
  return true
}

export function isEligible (spec: ServiceSpec, node: NodeInfo): boolean {
  return !node.cordoned && orgAllowed(spec, node) && acceptsOrg(node, spec.org) && matchesConstraints(spec, node)
}

export function formatConstraints (constraints: Record<string, string>): string {
  return Object.keys(constraints).sort(compareStrings).map(k => `${k}=${constraints[k]}`).join(', ')
}

/**
 * Nodes eligible for a service, as indices into the node table. Services that
 * share an org, `allowOrgs` and constraints share one list, which keeps the
 * filtering cost at O(distinct rule sets × nodes) rather than O(services × nodes).
 */
export class CandidateCache {
  private readonly table: NodeTable
  private readonly lists = new Map<string, Int32Array>()

  constructor (table: NodeTable) {
    this.table = table
  }

  get (spec: ServiceSpec): Int32Array {
    const allow = spec.allowOrgs === undefined ? null : [...spec.allowOrgs].sort(compareStrings)
    const constraints = Object.keys(spec.constraints).sort(compareStrings).map(k => [k, spec.constraints[k]])
    const key = JSON.stringify([spec.org, allow, constraints])
    let list = this.lists.get(key)
    if (list === undefined) {
      const picked: number[] = []
      for (let i = 0; i < this.table.count; i++) {
        if (isEligible(spec, this.table.nodes[i])) picked.push(i)
      }
      list = Int32Array.from(picked)
      this.lists.set(key, list)
    }
    return list
  }
}

const UDP_BIT = 1
/** port and protocol in one integer below 2^17 */
export const PORT_KEYS = 1 << 17

/** the distinct host ports a service publishes, as port keys */
export function hostPortKeys (spec: ServiceSpec): number[] {
  const keys = new Set<number>()
  for (const p of spec.ports) {
    if (p.host !== undefined) keys.add(p.host * 2 + (p.protocol === 'udp' ? UDP_BIT : 0))
  }
  return [...keys].sort((a, b) => a - b)
}

export function formatPortKey (key: number): string {
  return `${Math.floor(key / 2)}/${(key & UDP_BIT) !== 0 ? 'udp' : 'tcp'}`
}
