/**
 * The static filters: whether a node may ever run a service, whatever else is
 * placed. Capacity, shares and host ports change as replicas are placed and
 * are checked in place.ts.
 */
import { compareStrings } from './order.js'
import type { NodeTable } from './nodes.js'
import type { NodeInfo } from './types.js'
import { isHostModePort, type ServiceSpec } from '@minga/protocol'

/** the service's `allowOrgs` admits the node's organization */
export function orgAllowed (spec: ServiceSpec, node: NodeInfo): boolean {
  return spec.allowOrgs === undefined || spec.allowOrgs.includes(node.org)
}

/** the node's `acceptOrgs` admits the service's organization */
export function acceptsOrg (node: NodeInfo, org: string): boolean {
  return node.acceptOrgs === undefined || node.acceptOrgs.includes(org)
}

/**
 * the node carries every label the service asks for, with that value, and
 * none with a value the service excludes (a node without the label
 * qualifies, as in Swarm's `!=`)
 */
export function matchesConstraints (spec: ServiceSpec, node: Pick<NodeInfo, 'labels'>): boolean {
  for (const key in spec.constraints) {
    if (!Object.hasOwn(node.labels, key) || node.labels[key] !== spec.constraints[key]) return false
  }
  const excluded = spec.excludedLabels
  if (excluded !== undefined) {
    for (const key in excluded) {
      if (Object.hasOwn(node.labels, key) && excluded[key].includes(node.labels[key])) return false
    }
  }
  return true
}

/**
 * true when `node` may ever run `spec`: not cordoned, its org allowed by the spec, the spec's org accepted by the node, its labels meeting the constraints (capacity aside)
 */
export function isEligible (spec: ServiceSpec, node: NodeInfo): boolean {
  return !node.cordoned && orgAllowed(spec, node) && acceptsOrg(node, spec.org) && matchesConstraints(spec, node)
}

/** constraints for a message: `disk=ssd, zone!=b`, sorted */
export function formatConstraints (constraints: Record<string, string>, excluded: Record<string, string[]> = {}): string {
  const equal = Object.keys(constraints).sort(compareStrings).map(k => `${k}=${constraints[k]}`)
  const not = Object.keys(excluded).sort(compareStrings).flatMap(k => excluded[k].map(v => `${k}!=${v}`))
  return [...equal, ...not].join(', ')
}

/**
 * Nodes eligible for a service, as ascending indices into the node table.
 * Services with the same rules share one list, and a list with `allowOrgs`
 * is built from those orgs' nodes only, so filtering stays far below
 * O(services × nodes).
 */
export class CandidateCache {
  private readonly table: NodeTable
  private readonly lists = new Map<string, Int32Array>()
  private readonly byOrg: number[][]

  constructor (table: NodeTable) {
    this.table = table
    this.byOrg = table.orgNames.map(() => [])
    for (let i = 0; i < table.count; i++) this.byOrg[table.org[i]].push(i)
  }

  get (spec: ServiceSpec): Int32Array {
    const key = rulesKey(spec)
    let list = this.lists.get(key)
    if (list === undefined) {
      list = Int32Array.from(this.pool(spec).filter(i => isEligible(spec, this.table.nodes[i])))
      this.lists.set(key, list)
    }
    return list
  }

  /** the nodes worth checking: all, or those of the allowed orgs */
  private pool (spec: ServiceSpec): number[] {
    if (spec.allowOrgs === undefined) return Array.from({ length: this.table.count }, (_, i) => i)
    const orgs = new Set(spec.allowOrgs.map(o => this.table.orgIndex.get(o)).filter(o => o !== undefined))
    return [...orgs].flatMap(o => this.byOrg[o]).sort((a, b) => a - b)
  }
}

/** the rules that decide eligibility, as a string; most services have none but their org */
function rulesKey (spec: ServiceSpec): string {
  const constraints = Object.keys(spec.constraints)
  const excluded = spec.excludedLabels === undefined ? [] : Object.keys(spec.excludedLabels)
  if (spec.allowOrgs === undefined && constraints.length === 0 && excluded.length === 0) return `org:${spec.org}`
  const allow = spec.allowOrgs === undefined ? null : [...spec.allowOrgs].sort(compareStrings)
  const not = excluded.sort(compareStrings).map(k => [k, [...spec.excludedLabels![k]].sort(compareStrings)])
  return JSON.stringify([spec.org, allow, constraints.sort(compareStrings).map(k => [k, spec.constraints[k]]), not])
}

const UDP_BIT = 1
const MAX_PORT = 65535
/** port and protocol in one integer below 2^17 */
export const PORT_KEYS = 1 << 17

/**
 * the distinct host ports a service's containers bind (ports of mode host), as
 * port keys: one replica per node may hold each. Ports of mode ingress (the
 * default) are the routing mesh's, on every node, and bind nothing per replica
 */
export function hostPortKeys (spec: ServiceSpec): number[] {
  const keys = new Set<number>()
  for (const p of spec.ports) {
    if (!isHostModePort(p)) continue
    // spec parsing rejects other values; skipping them here keeps keys from aliasing another node's
    if (p.host === undefined || !Number.isInteger(p.host) || p.host < 0 || p.host > MAX_PORT) continue
    keys.add(p.host * 2 + (p.protocol === 'udp' ? UDP_BIT : 0))
  }
  return [...keys].sort((a, b) => a - b)
}

/** a host port key (port × 2, plus 1 for udp) as `8080/tcp` */
export function formatPortKey (key: number): string {
  return `${Math.floor(key / 2)}/${(key & UDP_BIT) !== 0 ? 'udp' : 'tcp'}`
}
