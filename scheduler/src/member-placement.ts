/**
 * `place()` for many live sets of one mesh, each costing only what its
 * absent members change. `place()` places the mesh as if every member were
 * live, then moves the absent members' replicas to live nodes, and names a
 * standby per replica. The first phase depends only on the services and the
 * members (live and absent alike), not on which are absent, so it is done
 * once here and reused: a death or a return then costs the move of the
 * absent members' replicas, and the standbys of the services they touch.
 *
 * The result is exactly `place()`'s, replica for replica and standby for
 * standby (test/member-placement.test.ts checks it over random live sets).
 * A standby is the best fitting live node in rendezvous order among a
 * service's candidates (spread first): leaving members out and booking moved
 * replicas only removes nodes from that choice, never adds one, so a standby
 * chosen with every member live stands whenever it is still live, still
 * fits and its service's replicas did not move; only the others are chosen
 * again.
 */
import { liveCandidates, moveFromAbsent, place, placeMembers, quorum, standbyIndexes, type Placed } from './place.js'
import { buildNodeTable, type NodeTable } from './nodes.js'
import { Scanner } from './scanner.js'
import type { Assignment, DesiredService, NodeInfo, PlaceOptions } from './types.js'

/** options of `MemberPlacement.place`: `place()`'s, the absent members being the members not listed live */
export type LiveSetOptions = Omit<PlaceOptions, 'absent'>

/** the mesh placed as if every member were live, and `place()` for a live set derived from it */
export class MemberPlacement {
  private readonly table: NodeTable
  private readonly base: Assignment
  private readonly placed: Placed[]
  private readonly usedPorts: ReadonlySet<number>
  /** per placed service, the standby of each replica with every member live (node index, -1: none) */
  private readonly standbys: Int32Array[]
  private readonly indexOf = new Map<string, number>()
  /** per node, the placed services (indexes into `placed`) with a replica on it */
  private readonly holding: number[][]

  /**
   * `members`: every member, live or not, with its record. Throws DuplicateNodeError when a member is listed twice
   */
  constructor (private readonly services: readonly DesiredService[], private readonly members: readonly NodeInfo[]) {
    this.table = buildNodeTable(members)
    const { assignment, placed, scanner } = placeMembers(services, this.table)
    this.base = assignment
    this.placed = placed
    this.usedPorts = scanner.usedPorts
    this.table.nodes.forEach((n, i) => this.indexOf.set(n.id, i))
    this.holding = this.table.nodes.map(() => [])
    placed.forEach((entry, e) => { for (const i of new Set(entry.at)) if (i >= 0) this.holding[i].push(e) })
    const all = (c: Int32Array): Int32Array => c
    this.standbys = placed.map(entry => standbyIndexes(entry, scanner, all))
  }

  /**
   * `place(services, live, { ...options, absent: the members not in live })`, the same assignment. A live node that is
   * no member, or a live set without a majority, is placed afresh
   */
  place (live: readonly NodeInfo[], options: LiveSetOptions = {}): Assignment {
    const { table } = this
    const mask = new Uint8Array(table.count)
    for (const node of live) {
      const i = this.indexOf.get(node.id)
      if (i === undefined || mask[i] === 1) return this.afresh(live, options)
      mask[i] = 1
    }
    if (!quorum(live.length, table.count, options).hasMajority) return this.afresh(live, options)
    const absent: number[] = []
    for (let i = 0; i < table.count; i++) if (mask[i] === 0) absent.push(i)

    // the first phase's bookings, copied: the moves book on top of them
    const booked: NodeTable = { ...table, cpuFree: table.cpuFree.slice(), memFree: table.memFree.slice(), shareCpuFree: table.shareCpuFree.slice(), shareMemFree: table.shareMemFree.slice() }
    const scanner = new Scanner(booked, new Set(this.usedPorts))
    const assignment: Assignment = { services: { ...this.base.services }, unplaced: [...this.base.unplaced] }
    const touched = [...new Set(absent.flatMap(i => this.holding[i]))].sort((a, b) => a - b)
    const moved = new Map<number, Placed>()
    for (const e of touched) {
      const entry = this.placed[e]
      moved.set(e, { ...entry, at: entry.at.slice() })
      assignment.services[entry.id] = [...assignment.services[entry.id]]
    }
    const liveOnly = liveCandidates(mask)
    if (!moveFromAbsent([...moved.values()], assignment, scanner, mask, liveOnly)) return this.afresh(live, options)
    if (options.standby === true) assignment.standby = this.standbysFor(moved, scanner, mask, liveOnly)
    return assignment
  }

  private standbysFor (moved: ReadonlyMap<number, Placed>, scanner: Scanner, live: Uint8Array, liveOnly: (c: Int32Array) => Int32Array): Record<string, Array<string | null>> {
    const { nodes } = this.table
    const out: Record<string, Array<string | null>> = {}
    this.placed.forEach((entry, e) => {
      const mine = moved.get(e)
      if (mine !== undefined) {
        out[entry.id] = [...standbyIndexes(mine, scanner, liveOnly)].map(i => i < 0 ? null : nodes[i].id)
        return
      }
      // its replicas stand where they stood: a standby still live and fitting stands, the others are chosen again
      const before = this.standbys[e]
      scanner.begin(liveOnly(entry.candidates), entry.demand, entry.spreadOrgs)
      const stands = (r: number): boolean => before[r] < 0 || (live[before[r]] === 1 && scanner.fits(before[r]))
      const again = before.some((_, r) => entry.at[r] >= 0 && !stands(r)) ? standbyIndexes(entry, scanner, liveOnly, r => !stands(r)) : undefined
      out[entry.id] = [...before].map((i, r) => {
        const chosen = again !== undefined && !stands(r) ? again[r] : i
        return chosen < 0 || entry.at[r] < 0 ? null : nodes[chosen].id
      })
    })
    return out
  }

  private afresh (live: readonly NodeInfo[], options: LiveSetOptions): Assignment {
    const liveIds = new Set(live.map(n => n.id))
    return place(this.services, live, { ...options, absent: this.members.filter(n => !liveIds.has(n.id)) })
  }
}
