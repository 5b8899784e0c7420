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
 * A member that is not live (`PlaceOptions.absent`: dead, suspected gone, on
 * the other side of a partition) still counts: the mesh is placed as if it
 * were live, then each replica it would hold goes to a live node, chosen in
 * its rendezvous order and spread with every other replica of its service
 * where it stands. So a loss moves exactly the lost node's replicas, each to
 * the standby named before the loss, and its return moves them back. Placed
 * on the live nodes alone, a moved replica that lands in a sibling's org or
 * on a sibling's node pushes that sibling out (in a mesh of three orgs, most
 * losses did: a second replica started and the first stopped on survivors,
 * for nothing). When a lost replica fits on no live node, the live nodes
 * are placed alone, oldest service first, as capacity then requires.
 *
 * When a member joins or is removed, the replicas it wins (or held) move,
 * and a few more follow: a moved replica that lands in a sibling's org
 * pushes the sibling out, one that leaves an org lets a later sibling back
 * in, and one that fills a nearly full node pushes a younger service's
 * replica on. These cascades grow as orgs get fewer and nodes fuller;
 * bench/scheduler.mjs and test/churn.test.ts measure them.
 */
import { CandidateCache, hostPortKeys } from './filters.js'
import { demandOf } from './fit.js'
import type { Demand } from './fit.js'
import { replicaHash } from './hash.js'
import { buildNodeTable, type NodeTable } from './nodes.js'
import { replicaCount, sortServices } from './order.js'
import { explainUnplaced, noMajority } from './reasons.js'
import { Scanner } from './scanner.js'
import type { Assignment, DesiredService, NodeInfo, PlaceOptions, Unplaced } from './types.js'

/** one service as placed: what a later phase needs to scan for it again */
export interface Placed {
  id: string
  candidates: Int32Array
  demand: Demand
  spreadOrgs: boolean
  /** node index per replica, -1 when unplaced */
  at: Int32Array
}

/** the mesh placed with every member live: `place()`'s first phase, before the absent members' replicas move */
export interface MembersPlaced {
  assignment: Assignment
  placed: Placed[]
  /** holds the table, with the capacity and ports every placed replica books */
  scanner: Scanner
}

/**
 * Place every replica of every service on the live `nodes` (see above for
 * `options.absent`). Pure and deterministic: inputs in any order give the
 * same assignment. Services are placed oldest first (`created`, then id), so
 * adding a service never moves the replicas of an older one.
 * Throws DuplicateNodeError when a node is listed twice (in `nodes` and `absent` together)
 */
export function place (services: readonly DesiredService[], nodes: readonly NodeInfo[], options: PlaceOptions = {}): Assignment {
  const absent = options.absent ?? []
  const table = buildNodeTable(absent.length === 0 ? nodes : [...nodes, ...absent])
  const gone = new Set(absent.map(n => n.id))
  const live = Uint8Array.from(table.nodes, n => gone.has(n.id) ? 0 : 1)
  const { confirmed, memberCount, hasMajority } = quorum(table.count - gone.size, table.count, options)
  const { assignment, placed, scanner } = placeMembers(services, table, hasMajority ? undefined : noMajority(confirmed, memberCount))
  const liveOnly = liveCandidates(live)
  if (gone.size > 0 && !moveFromAbsent(placed, assignment, scanner, live, liveOnly)) return place(services, nodes, { ...options, absent: [] })
  if (options.standby === true) assignment.standby = standbys(placed, scanner, liveOnly)
  return assignment
}

/** the majority `place()` checks for singletons: `confirmed` live members (at most the live count) of `memberCount` */
export function quorum (liveCount: number, members: number, options: PlaceOptions): { confirmed: number, memberCount: number, hasMajority: boolean } {
  const memberCount = options.memberCount ?? members
  const confirmed = Math.min(liveCount, options.confirmed ?? liveCount)
  return { confirmed, memberCount, hasMajority: confirmed * 2 > memberCount }
}

/**
 * Every replica on the nodes of `table` (all taken as live), oldest service first; singletons unplaced for `noQuorum`
 * when given (no majority). Books what it places in the table
 */
export function placeMembers (services: readonly DesiredService[], table: NodeTable, noQuorum?: Omit<Unplaced, 'service' | 'replica'>): MembersPlaced {
  const candidatesOf = new CandidateCache(table)
  const scanner = new Scanner(table)
  const assignment: Assignment = { services: {}, unplaced: [] }
  const placed: Placed[] = []
  for (const service of sortServices(services)) {
    const spec = service.spec
    const replicas = replicaCount(spec)
    const slots: Array<string | null> = new Array(replicas).fill(null)
    assignment.services[service.id] = slots
    if (replicas === 0) continue
    if (spec.singleton && noQuorum !== undefined) {
      assignment.unplaced.push({ service: service.id, replica: 0, ...noQuorum })
      continue
    }
    const candidates = candidatesOf.get(spec)
    const entry: Placed = { id: service.id, candidates, demand: demandOf(spec, table, hostPortKeys(spec)), spreadOrgs: spec.spread !== 'node', at: new Int32Array(replicas).fill(-1) }
    placed.push(entry)
    scanner.begin(candidates, entry.demand, entry.spreadOrgs)
    for (let r = 0; r < replicas; r++) {
      // the favourite fitting node stands unless a sibling already took its org or node
      const best = scanner.pick(replicaHash(service.id, r))
      if (best < 0) {
        // nothing was committed, so every later replica fails for the same reason
        const why = explainUnplaced(spec, table, candidates, scanner.usedPorts, scanner.demand)
        for (let rest = r; rest < replicas; rest++) assignment.unplaced.push({ service: service.id, replica: rest, ...why })
        break
      }
      scanner.take(best)
      entry.at[r] = best
      slots[r] = table.nodes[best].id
    }
  }
  return { assignment, placed, scanner }
}

/** a service's candidates that are live (a list per candidate list, shared by the services that share it) */
export function liveCandidates (live: Uint8Array): (candidates: Int32Array) => Int32Array {
  const lists = new Map<Int32Array, Int32Array>()
  return (candidates) => {
    let list = lists.get(candidates)
    if (list === undefined) {
      list = candidates.filter(i => live[i] === 1)
      lists.set(candidates, list)
    }
    return list
  }
}

/**
 * Each replica placed on an absent member goes to a live node: in its rendezvous order, spread against its
 * siblings where they stand, oldest service and lowest index first. false when one fits on no live node
 */
export function moveFromAbsent (placed: readonly Placed[], assignment: Assignment, scanner: Scanner, live: Uint8Array, liveOnly: (c: Int32Array) => Int32Array): boolean {
  const { table } = scanner
  for (const entry of placed) {
    const { at } = entry
    if (!at.some(i => i >= 0 && live[i] === 0)) continue
    scanner.begin(liveOnly(entry.candidates), entry.demand, entry.spreadOrgs)
    for (const i of at) if (i >= 0 && live[i] === 1) scanner.mark(i)
    for (let r = 0; r < at.length; r++) {
      if (at[r] < 0 || live[at[r]] === 1) continue
      const best = scanner.pick(replicaHash(entry.id, r))
      if (best < 0) return false
      scanner.take(best)
      at[r] = best
      assignment.services[entry.id][r] = table.nodes[best].id
    }
  }
  return true
}

/**
 * Per replica, the node that takes it if its owner is lost: the one `moveFromAbsent` would choose, its
 * siblings standing where they are and every other replica booked; null when none fits
 */
function standbys (placed: readonly Placed[], scanner: Scanner, liveOnly: (c: Int32Array) => Int32Array): Record<string, Array<string | null>> {
  const out: Record<string, Array<string | null>> = {}
  for (const entry of placed) out[entry.id] = [...standbyIndexes(entry, scanner, liveOnly)].map(i => i < 0 ? null : scanner.table.nodes[i].id)
  return out
}

/** `standbys` of one service, as node indexes (-1: none); `only` when given, for these replicas alone (the others -1) */
export function standbyIndexes (entry: Placed, scanner: Scanner, liveOnly: (c: Int32Array) => Int32Array, only?: (r: number) => boolean): Int32Array {
  const { at } = entry
  const standby = new Int32Array(at.length).fill(-1)
  scanner.begin(liveOnly(entry.candidates), entry.demand, entry.spreadOrgs)
  for (let r = 0; r < at.length; r++) {
    if (at[r] < 0 || (only !== undefined && !only(r))) continue
    scanner.unmark()
    for (let s = 0; s < at.length; s++) if (s !== r && at[s] >= 0) scanner.mark(at[s])
    standby[r] = scanner.pick(replicaHash(entry.id, r), at[r])
  }
  return standby
}
