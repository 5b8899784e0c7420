import { hashString } from './hash.js'
import { sortNodes } from './order.js'
import type { NodeInfo } from './types.js'

/** capacity floor, so a node without capacity still has a finite score */
const MIN_CAPACITY = 1e-9

/**
 * The live nodes, sorted by id, with what placement reads in its inner loop
 * laid out in typed arrays. Free capacity shrinks as replicas are placed.
 */
export interface NodeTable {
  readonly nodes: NodeInfo[]
  readonly count: number
  readonly hash: Uint32Array
  /** index into `orgNames` */
  readonly org: Int32Array
  readonly orgNames: string[]
  readonly orgIndex: Map<string, number>
  /** 1 / capacity, as the node's own org sees it (all of it) and as other orgs do (their share) */
  readonly invCpuOwn: Float64Array
  readonly invMemOwn: Float64Array
  readonly invCpuOthers: Float64Array
  readonly invMemOthers: Float64Array
  /** the least of invCpuOwn and of invMemOwn (the others' are never less): a bound that lets scans skip nodes early */
  minInvCpu: number
  minInvMem: number
  readonly cpuFree: Float64Array
  readonly memFree: Float64Array
  /** what is left of the share (`shareForOthers`) that other orgs' services may use */
  readonly shareCpuFree: Float64Array
  readonly shareMemFree: Float64Array
}

/** the share of a node's capacity other organizations may use, 0 to 1 (1 when unset or not a number) */
export function shareOf (node: NodeInfo): number {
  const s = node.shareForOthers
  if (s === undefined || Number.isNaN(s)) return 1
  return Math.min(1, Math.max(0, s))
}

/**
 * The live nodes as typed arrays sorted by id (free cpu and memory, org index, share used), for placement.
 * Throws DuplicateNodeError when a node is listed twice
 */
export function buildNodeTable (input: readonly NodeInfo[]): NodeTable {
  const nodes = sortNodes(input)
  const count = nodes.length
  const orgNames: string[] = []
  const orgIndex = new Map<string, number>()
  const table: NodeTable = {
    nodes,
    count,
    hash: new Uint32Array(count),
    org: new Int32Array(count),
    orgNames,
    orgIndex,
    invCpuOwn: new Float64Array(count),
    invMemOwn: new Float64Array(count),
    invCpuOthers: new Float64Array(count),
    invMemOthers: new Float64Array(count),
    cpuFree: new Float64Array(count),
    memFree: new Float64Array(count),
    shareCpuFree: new Float64Array(count),
    shareMemFree: new Float64Array(count),
    minInvCpu: Infinity,
    minInvMem: Infinity
  }
  for (let i = 0; i < count; i++) {
    const node = nodes[i]
    let o = orgIndex.get(node.org)
    if (o === undefined) {
      o = orgNames.length
      orgNames.push(node.org)
      orgIndex.set(node.org, o)
    }
    const cpu = finiteOrZero(node.capacity.cpu)
    const mem = finiteOrZero(node.capacity.memory)
    const share = shareOf(node)
    table.hash[i] = hashString(node.id)
    table.org[i] = o
    table.invCpuOwn[i] = 1 / Math.max(MIN_CAPACITY, cpu)
    table.invMemOwn[i] = 1 / Math.max(MIN_CAPACITY, mem)
    // other orgs see the node as big as its share, so their load follows what it offers them
    table.invCpuOthers[i] = 1 / Math.max(MIN_CAPACITY, cpu * share)
    table.invMemOthers[i] = 1 / Math.max(MIN_CAPACITY, mem * share)
    table.cpuFree[i] = cpu
    table.memFree[i] = mem
    table.shareCpuFree[i] = cpu * share
    table.shareMemFree[i] = mem * share
    table.minInvCpu = Math.min(table.minInvCpu, table.invCpuOwn[i])
    table.minInvMem = Math.min(table.minInvMem, table.invMemOwn[i])
  }
  return table
}

function finiteOrZero (n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0
}
