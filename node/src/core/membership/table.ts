/**
 * The member table: per member, its status at an incarnation and the newest
 * alive proof held, as immutable rows. Its digest is order-independent (the
 * XOR of one hash per row), so two tables compare in O(1): push-pull sends
 * the table only when the digests differ. Rows live in a `RowStore`: a Map
 * here, a store whose chunks are shared between nodes that agree in the
 * simulator (structural sharing: 10,000 tables of 10,000 rows fit).
 */
import type { AliveUpdate, MemberRow, MemberStatus } from '@minga/protocol'

export interface Member {
  readonly node: string
  readonly status: MemberStatus
  readonly inc: number
  /** the newest alive update verified for it; absent while only assumed alive */
  readonly alive?: AliveUpdate
}

/** what a table keeps its rows in: `Map` satisfies it */
export interface RowStore<V> {
  get (key: string): V | undefined
  set (key: string, value: V): unknown
  delete (key: string): boolean
  readonly size: number
  values (): Iterable<V>
  /** what a table derived from these rows (`MemberTable.summary`), kept by a store that drops it on any write (the simulator's, whose forks carry it) */
  summary?: object
}

/** a table's digest and counts: a table over a store that holds one starts without a pass over the rows */
export interface TableSummary {
  size: number
  lo: number
  hi: number
  unproven: number
}

export class MemberTable {
  private lo = 0
  private hi = 0
  private unproven = 0

  /** `rows` may hold rows already (a table restored, or the simulator's mesh that has run a while): the digest counts them */
  constructor (private readonly rows: RowStore<Member> = new Map()) {
    const known = rows.summary as TableSummary | undefined
    if (known !== undefined && known.size === rows.size) ({ lo: this.lo, hi: this.hi, unproven: this.unproven } = known)
    else for (const row of rows.values()) this.toggle(row)
  }

  /** the digest and counts, for a store that keeps them (`RowStore.summary`) */
  summary (): TableSummary {
    return { size: this.rows.size, lo: this.lo, hi: this.hi, unproven: this.unproven }
  }

  get (node: string): Member | undefined {
    return this.rows.get(node)
  }

  get size (): number {
    return this.rows.size
  }

  /** rows only assumed alive: no alive proof held, and not dead or left (kept as rows change: no pass over the table) */
  get assumed (): number {
    return this.unproven
  }

  set (row: Member): void {
    const previous = this.rows.get(row.node)
    if (previous !== undefined) this.toggle(previous, -1)
    this.rows.set(row.node, row)
    this.toggle(row)
  }

  delete (node: string): void {
    const previous = this.rows.get(node)
    if (previous === undefined) return
    this.toggle(previous, -1)
    this.rows.delete(node)
  }

  values (): Iterable<Member> {
    return this.rows.values()
  }

  /** equal tables give equal digests, whatever order their rows came in */
  digest (): string {
    return `${this.rows.size}-${(this.hi >>> 0).toString(16).padStart(8, '0')}${(this.lo >>> 0).toString(16).padStart(8, '0')}`
  }

  /** the rows as push-pull sends them */
  export (): MemberRow[] {
    const out: MemberRow[] = []
    for (const m of this.rows.values()) {
      const row: MemberRow = { node: m.node as MemberRow['node'], status: m.status, inc: m.inc }
      if (m.alive !== undefined) row.alive = { inc: m.alive.inc, boot: m.alive.boot, sig: m.alive.sig }
      out.push(row)
    }
    return out
  }

  /** a row into the digest and the count (`sign` 1), or out of them (-1) */
  private toggle (row: Member, sign = 1): void {
    const [lo, hi] = rowHash(row)
    this.lo ^= lo
    this.hi ^= hi
    if (row.alive === undefined && (row.status === 'alive' || row.status === 'suspect')) this.unproven += sign
  }
}

/** rows are immutable: each is hashed once (tables that share rows share their hashes) */
const rowHashes = new WeakMap<Member, [number, number]>()

/** two independent 32-bit FNV-1a hashes of what a row says (not how it was learnt) */
export function rowHash (row: Member): [number, number] {
  let known = rowHashes.get(row)
  if (known === undefined) rowHashes.set(row, known = hashRow(row))
  return known
}

function hashRow (row: Member): [number, number] {
  const text = `${row.node}|${row.status}|${row.inc}|${row.alive?.boot ?? ''}`
  let a = 0x811c9dc5
  let b = 0x050c5d1f
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15)
  }
  return [a >>> 0, b >>> 0]
}
