/**
 * Why a replica could not be placed, in words an operator can act on. Runs
 * only on failure, so it re-walks the filters one at a time and names the
 * first that leaves no node.
 */
import { acceptsOrg, formatConstraints, formatPortKey, matchesConstraints, orgAllowed } from './filters.js'
import { fitsCapacity, fitsShare, portsFree } from './fit.js'
import type { Demand } from './fit.js'
import type { NodeTable } from './nodes.js'
import type { UnplacedCause } from './types.js'
import type { ServiceSpec } from '@minga/protocol'

export interface Explanation {
  cause: UnplacedCause
  reason: string
}

const MIB = 1024 ** 2
const GIB = 1024 ** 3

/** why a singleton is not placed: this side sees `live` of `members` nodes, not a majority */
export function noMajority (live: number, members: number): Explanation {
  return { cause: 'no-majority', reason: `singleton needs a majority of the mesh (sees ${live} of ${members} nodes)` }
}

/**
 * why a replica cannot be placed, in words: no live node, none its spec allows, none with the labels, the capacity or the ports it needs
 */
export function explainUnplaced (spec: ServiceSpec, table: NodeTable, candidates: Int32Array, usedPorts: Set<number>, demand: Demand): Explanation {
  if (table.count === 0) return { cause: 'no-nodes', reason: 'no node is live' }
  let nodes = table.nodes.filter(n => orgAllowed(spec, n))
  if (nodes.length === 0) {
    const reason = spec.allowOrgs?.length === 0
      ? 'allowOrgs is empty, so no organization may run it'
      : `no node of allowed orgs [${(spec.allowOrgs ?? []).join(', ')}] is live`
    return { cause: 'orgs', reason }
  }
  nodes = nodes.filter(n => acceptsOrg(n, spec.org))
  if (nodes.length === 0) return { cause: 'accept', reason: `no live node accepts services of org ${spec.org} (acceptOrgs)` }
  nodes = nodes.filter(n => matchesConstraints(spec, n))
  if (nodes.length === 0) return { cause: 'constraints', reason: `no node matches constraints ${formatConstraints(spec.constraints, spec.excludedLabels)}` }
  if (candidates.length === 0) return { cause: 'cordoned', reason: `every matching node is cordoned (${nodes.length} ${nodes.length === 1 ? 'node' : 'nodes'})` }

  const roomy = Array.from(candidates).filter(i => fitsCapacity(table, i, demand))
  if (roomy.length === 0) return { cause: 'capacity', reason: capacityReason(table, candidates, demand) }
  const shared = roomy.filter(i => fitsShare(table, i, demand))
  if (shared.length === 0) {
    const cpu = Math.max(...roomy.map(i => table.shareCpuFree[i]))
    const mem = Math.max(...roomy.map(i => table.shareMemFree[i]))
    const reason = `no node with room shares ${formatCpu(demand.cpu)} cpu and ${formatMemory(demand.memory)} memory with org ${spec.org} ` +
      `(shareForOthers; largest share free: ${formatCpu(cpu)}, ${formatMemory(mem)})`
    return { cause: 'share', reason }
  }
  if (!shared.some(i => portsFree(usedPorts, i, demand))) {
    const ports = demand.ports.map(formatPortKey).join(', ')
    return { cause: 'ports', reason: `host ${demand.ports.length === 1 ? 'port' : 'ports'} ${ports} taken on every fitting node` }
  }
  // unreachable while place.ts and this file apply the same filters
  return { cause: 'capacity', reason: 'no node fits' }
}

function capacityReason (table: NodeTable, candidates: Int32Array, d: Demand): string {
  let maxCpu = 0
  let maxMem = 0
  let cpuOk = false
  let memOk = false
  for (const i of candidates) {
    maxCpu = Math.max(maxCpu, table.cpuFree[i])
    maxMem = Math.max(maxMem, table.memFree[i])
    cpuOk ||= table.cpuFree[i] >= d.cpu
    memOk ||= table.memFree[i] >= d.memory
  }
  const cpu = `${formatCpu(d.cpu)} cpu free (largest free: ${formatCpu(maxCpu)})`
  const mem = `${formatMemory(d.memory)} memory free (largest free: ${formatMemory(maxMem)})`
  if (!cpuOk && !memOk) return `no node has ${cpu}, nor ${mem}`
  if (!cpuOk) return `no node has ${cpu}`
  if (!memOk) return `no node has ${mem}`
  return `no node has ${formatCpu(d.cpu)} cpu and ${formatMemory(d.memory)} memory free at once`
}

/** millicores, rounded down: a node with 1999.5m free does not have 2000m */
export function formatCpu (millicores: number): string {
  return `${Math.floor(millicores)}m`
}

/** bytes as MiB or GiB with at most one decimal, rounded down */
export function formatMemory (bytes: number): string {
  const [unit, name] = bytes >= GIB ? [GIB, 'GiB'] : bytes >= MIB ? [MIB, 'MiB'] : [1, 'B']
  return `${Math.floor(bytes / unit * 10) / 10}${name}`
}
