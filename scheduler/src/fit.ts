/**
 * The dynamic filters: free capacity, the share a node offers other
 * organizations, and host ports. All are hard limits, checked against what
 * earlier (older) placements left.
 */
import { PORT_KEYS } from './filters.js'
import type { NodeTable } from './nodes.js'
import type { ServiceSpec } from '@minga/protocol'

/** what one replica of a service takes from a node */
export interface Demand {
  cpu: number
  memory: number
  /** index of the service's org in the node table; -1 when the org has no live node */
  org: number
  /** host port keys (see `hostPortKeys`) */
  ports: number[]
}

/** a replica reserves its `reservations` where given, else its limits */
export function demandOf (spec: ServiceSpec, table: NodeTable, ports: number[]): Demand {
  return {
    cpu: nonNegative(spec.reservations?.cpu ?? spec.resources.cpu),
    memory: nonNegative(spec.reservations?.memory ?? spec.resources.memory),
    org: table.orgIndex.get(spec.org) ?? -1,
    ports
  }
}

/** true when node `i` has the demand's cpu (millicores) and memory (bytes) free */
export function fitsCapacity (table: NodeTable, i: number, d: Demand): boolean {
  return table.cpuFree[i] >= d.cpu && table.memFree[i] >= d.memory
}

/** a node's own org may use all of it; others only what is left of `shareForOthers` */
export function fitsShare (table: NodeTable, i: number, d: Demand): boolean {
  return table.org[i] === d.org || (table.shareCpuFree[i] >= d.cpu && table.shareMemFree[i] >= d.memory)
}

/** true when none of the demand's host ports is taken on node `i` */
export function portsFree (usedPorts: Set<number>, i: number, d: Demand): boolean {
  for (const key of d.ports) {
    if (usedPorts.has(i * PORT_KEYS + key)) return false
  }
  return true
}

/** true when node `i` can take the demand: capacity, the share other orgs may use, host ports */
export function fits (table: NodeTable, usedPorts: Set<number>, i: number, d: Demand): boolean {
  return fitsCapacity(table, i, d) && fitsShare(table, i, d) && (d.ports.length === 0 || portsFree(usedPorts, i, d))
}

/** books the demand on node `i`: its capacity, the share used by other orgs, its host ports */
export function commit (table: NodeTable, usedPorts: Set<number>, i: number, d: Demand): void {
  table.cpuFree[i] -= d.cpu
  table.memFree[i] -= d.memory
  if (table.org[i] !== d.org) {
    table.shareCpuFree[i] -= d.cpu
    table.shareMemFree[i] -= d.memory
  }
  for (const key of d.ports) usedPorts.add(i * PORT_KEYS + key)
}

function nonNegative (n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0
}
