/**
 * The inner loop of placement: scores the nodes for one replica by weighted
 * rendezvous hashing (cost Exp(1) / weight, lowest wins) in the best spread
 * tier, among the nodes that fit, and books what each placed replica takes.
 */
import { commit, fits } from './fit.js'
import type { Demand } from './fit.js'
import { FLOOR_SHIFT, NEG_LOG_FLOOR, fmix32, negLogUnit } from './hash.js'
import type { NodeTable } from './nodes.js'

/** preference tiers, best first */
const FRESH = 0
const SAME_ORG = 1
const SAME_NODE = 2
const NONE = 3

/** a service that asks for nothing is weighed as if it asked for a sliver of both */
const MIN_CPU_WEIGHT = 1
const MIN_MEMORY_WEIGHT = 1024 * 1024

/** The inner loop: scores nodes for one replica. Holds the per-service state between scans */
export class Scanner {
  readonly table: NodeTable
  /** host port keys booked so far (see `hostPortKeys`), by node */
  readonly usedPorts: Set<number>
  demand: Demand = { cpu: 0, memory: 0, org: -1, ports: [] }
  private candidates: Int32Array = new Int32Array(0)
  private spreadOrgs = true
  private cpuWeight = MIN_CPU_WEIGHT
  private memWeight = MIN_MEMORY_WEIGHT
  /** no node's inverse weight is below this, for the current service */
  private leastInverseWeight = 0
  // stamp[i] === stamp: node i (org i) already holds a replica of the current service
  private stamp = 0
  private readonly nodeStamp: Int32Array
  private readonly orgStamp: Int32Array

  /** `usedPorts`: the ports `table`'s bookings already hold */
  constructor (table: NodeTable, usedPorts = new Set<number>()) {
    this.table = table
    this.usedPorts = usedPorts
    this.nodeStamp = new Int32Array(table.count)
    this.orgStamp = new Int32Array(table.orgNames.length)
  }

  begin (candidates: Int32Array, demand: Demand, spreadOrgs: boolean): void {
    this.stamp++
    this.candidates = candidates
    this.demand = demand
    this.spreadOrgs = spreadOrgs
    this.cpuWeight = Math.max(demand.cpu, MIN_CPU_WEIGHT)
    this.memWeight = Math.max(demand.memory, MIN_MEMORY_WEIGHT)
    this.leastInverseWeight = Math.max(this.cpuWeight * this.table.minInvCpu, this.memWeight * this.table.minInvMem)
  }

  tierOf (i: number): number {
    if (this.nodeStamp[i] === this.stamp) return SAME_NODE
    return this.spreadOrgs && this.orgStamp[this.table.org[i]] === this.stamp ? SAME_ORG : FRESH
  }

  fits (i: number): boolean {
    return fits(this.table, this.usedPorts, i, this.demand)
  }

  /** books the current replica on node `i` and marks it (and its org) as holding one */
  take (i: number): void {
    commit(this.table, this.usedPorts, i, this.demand)
    this.mark(i)
  }

  /** marks node `i` and its org as holding a replica of the current service, booking nothing (it is booked already) */
  mark (i: number): void {
    this.nodeStamp[i] = this.stamp
    this.orgStamp[this.table.org[i]] = this.stamp
  }

  /** forgets the marks of the current service (its demand and candidates stay), for marking another set of its replicas */
  unmark (): void {
    this.stamp++
  }

  /** the node for a replica (`except` left out): the fitting one of lowest cost, in the best spread tier; -1 if none fits */
  pick (seed: number, except = -1): number {
    const best = this.scan(seed, except)
    return best >= 0 && this.tierOf(best) !== FRESH ? this.scanTiered(seed, except) : best
  }

  /** the fitting node of lowest cost for a replica, spread aside; -1 if none fits */
  scan (seed: number, except = -1): number {
    const { candidates, leastInverseWeight, table: { hash } } = this
    let best = -1
    let bestCost = Infinity
    for (let k = 0; k < candidates.length; k++) {
      const i = candidates[k]
      if (i === except) continue
      const h = fmix32(seed ^ hash[i])
      // most nodes lose on cheap lower bounds, before their weight or any logarithm
      const floor = NEG_LOG_FLOOR[h >>> FLOOR_SHIFT]
      if (floor * leastInverseWeight >= bestCost) continue
      const invWeight = this.inverseWeight(i)
      if (floor * invWeight >= bestCost) continue
      const cost = negLogUnit(h) * invWeight
      if (cost >= bestCost || !this.fits(i)) continue
      best = i
      bestCost = cost
    }
    return best
  }

  /** like `scan`, but preferring fresh orgs, then fresh nodes (the spread tiers) */
  scanTiered (seed: number, except = -1): number {
    const { candidates, table: { hash } } = this
    let best = -1
    let bestTier = NONE
    let bestCost = Infinity
    for (let k = 0; k < candidates.length; k++) {
      const i = candidates[k]
      if (i === except) continue
      const tier = this.tierOf(i)
      if (tier > bestTier) continue
      const cost = negLogUnit(fmix32(seed ^ hash[i])) * this.inverseWeight(i)
      if ((tier === bestTier && cost >= bestCost) || !this.fits(i)) continue
      best = i
      bestTier = tier
      bestCost = cost
    }
    return best
  }

  /**
   * 1 / (replicas of this service the node could hold when empty): the
   * weight of weighted rendezvous hashing, so a replica's cost is Exp(1)
   * divided by it, and the node's dominant resource for this service decides
   */
  private inverseWeight (i: number): number {
    const t = this.table
    return t.org[i] === this.demand.org
      ? Math.max(this.cpuWeight * t.invCpuOwn[i], this.memWeight * t.invMemOwn[i])
      : Math.max(this.cpuWeight * t.invCpuOthers[i], this.memWeight * t.invMemOthers[i])
  }
}
