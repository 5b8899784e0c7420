/**
 * The placement function. Every node runs it on the same replicated services
 * and the same live set and gets the same assignment, with no leader.
 *
 * Each replica goes to the node with the best weighted rendezvous score for
 * (service, replica index, node) among the nodes that pass the filters. A
 * node's weight for a service is how many replicas of it the node could hold
 * when empty (its dominant resource), so load follows capacity in both cpu
 * and memory and small nodes do not overflow first. Spread is a preference
 * on top: with `spread: 'org'` first the orgs that hold no replica of the
 * service yet, then the nodes that hold none, then any node that fits; with
 * `spread: 'node'` the middle step is skipped. Capacity, shares, host ports,
 * constraints, orgs and cordons are hard limits.
 *
 * Replicas of a service are placed in index order, so scaling up never moves
 * the replicas already running and scaling down never moves those that stay.
 *
 * When a node leaves (or joins), the replicas it held (or wins) move, and a
 * few more follow: a moved replica that lands in a sibling's org pushes the
 * sibling out, one that leaves an org lets a later sibling back in, and one
 * that fills a nearly full node pushes a younger service's replica on. These
 * cascades grow as orgs get fewer and nodes fuller; bench/scheduler.mjs and
 * test/churn.test.ts measure them.
 */
import { CandidateCache, hostPortKeys } from './filters.js'
import { commit, demandOf, fits } from './fit.js'
import type { Demand } from './fit.js'
import { FLOOR_SHIFT, NEG_LOG_FLOOR, fmix32, negLogUnit, replicaHash } from './hash.js'
import { buildNodeTable } from './nodes.js'
import type { NodeTable } from './nodes.js'
import { replicaCount, sortServices } from './order.js'
import { explainUnplaced, noMajority } from './reasons.js'
import type { Assignment, DesiredService, NodeInfo, PlaceOptions } from './types.js'

/** preference tiers, best first */
const FRESH = 0
const SAME_ORG = 1
const SAME_NODE = 2
const NONE = 3

/**
 * Place every replica of every service on the live `nodes`. Pure and
 * deterministic: inputs in any order give the same assignment. Services are
 * placed oldest first (`created`, then id), so adding a service never moves
 * the replicas of an older one.
 */
export function place (services: readonly DesiredService[], nodes: readonly NodeInfo[], options: PlaceOptions = {}): Assignment {
  const table = buildNodeTable(nodes)
  const memberCount = options.memberCount ?? table.count
  const confirmed = Math.min(table.count, options.confirmed ?? table.count)
  const hasMajority = confirmed * 2 > memberCount
  const candidatesOf = new CandidateCache(table)
  const scanner = new Scanner(table)
  const assignment: Assignment = { services: {}, unplaced: [] }

  for (const service of sortServices(services)) {
    const spec = service.spec
    const replicas = replicaCount(spec)
    const slots: Array<string | null> = new Array(replicas).fill(null)
    assignment.services[service.id] = slots
    if (replicas === 0) continue
    if (spec.singleton && !hasMajority) {
      assignment.unplaced.push({ service: service.id, replica: 0, ...noMajority(confirmed, memberCount) })
      continue
    }
    const candidates = candidatesOf.get(spec)
    scanner.begin(candidates, demandOf(spec, table, hostPortKeys(spec)), spec.spread !== 'node')

    const standby = options.standby === true ? (assignment.standby ??= {})[service.id] = new Array<string | null>(replicas).fill(null) : undefined
    for (let r = 0; r < replicas; r++) {
      const seed = replicaHash(service.id, r)
      // the favourite fitting node stands unless a sibling already took its org or node
      const best = scanner.pick(seed)
      if (best >= 0 && standby !== undefined) {
        // the node that would take the replica if its owner were gone: the next in rendezvous order
        const next = scanner.pick(seed, best)
        if (next >= 0) standby[r] = table.nodes[next].id
      }
      if (best < 0) {
        // nothing was committed, so every later replica fails for the same reason
        const why = explainUnplaced(spec, table, candidates, scanner.usedPorts, scanner.demand)
        for (let rest = r; rest < replicas; rest++) assignment.unplaced.push({ service: service.id, replica: rest, ...why })
        break
      }
      scanner.take(best)
      slots[r] = table.nodes[best].id
    }
  }
  return assignment
}

/** a service that asks for nothing is weighed as if it asked for a sliver of both */
const MIN_CPU_WEIGHT = 1
const MIN_MEMORY_WEIGHT = 1024 * 1024

/** The inner loop: scores nodes for one replica. Holds the per-service state between scans */
class Scanner {
  readonly table: NodeTable
  readonly usedPorts = new Set<number>()
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

  constructor (table: NodeTable) {
    this.table = table
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

  take (i: number): void {
    commit(this.table, this.usedPorts, i, this.demand)
    this.nodeStamp[i] = this.stamp
    this.orgStamp[this.table.org[i]] = this.stamp
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
