/**
 * Sorted lists of peer ids (the members, the live set) that every node of
 * one process derives alike: each is interned by its content, so the
 * simulator's thousands of nodes that agree hold one copy, and a list keeps
 * its identity until its content changes (callers key caches by it).
 */
import type { State } from '@minga/protocol'

const MAX_INTERNED = 64

/** one interned list per content, the most recently used kept */
const interned = new Map<string, readonly string[]>()
const hashes = new WeakMap<readonly string[], string>()

/** the list with these ids: an existing one with the same content, or this one; `hash` is `listHash(ids)` when the caller kept it up to date */
export function internList (ids: readonly string[], hash = listHash(ids)): readonly string[] {
  const key = `${ids.length}:${hash}`
  const known = interned.get(key)
  if (known !== undefined && (known === ids || sameList(known, ids))) {
    interned.delete(key)
    interned.set(key, known)
    return known
  }
  const list = Object.freeze(ids.slice())
  hashes.set(list, hash)
  interned.set(key, list)
  if (interned.size > MAX_INTERNED) interned.delete(interned.keys().next().value as string)
  return list
}

/**
 * The interned list that is `list` with `id` inserted at `at` (or, with
 * `insert` false, the id at `at` removed), whose hash is `hash`: the one a
 * node that saw the same change first built, compared in place, or a new
 * one. Thousands of simulated nodes hear each change: one builds the list,
 * the others allocate nothing
 */
export function internEdited (list: readonly string[], at: number, id: string, insert: boolean, hash: string): readonly string[] {
  const known = interned.get(`${list.length + (insert ? 1 : -1)}:${hash}`)
  if (known !== undefined && (insert ? known[at] === id : list[at] === id) && sameEdited(known, list, at, insert)) return internList(known, hash)
  return internList(insert ? [...list.slice(0, at), id, ...list.slice(at)] : [...list.slice(0, at), ...list.slice(at + 1)], hash)
}

/** `edited` holds `list` with one id inserted at `at` (or the one at `at` removed) */
function sameEdited (edited: readonly string[], list: readonly string[], at: number, insert: boolean): boolean {
  if (edited.length !== list.length + (insert ? 1 : -1)) return false
  for (let i = 0; i < at; i++) if (edited[i] !== list[i]) return false
  const shift = insert ? 1 : -1
  for (let i = insert ? at : at + 1; i < list.length; i++) if (edited[i + shift] !== list[i]) return false
  return true
}

/** the hash of an interned list (computed again for any other) */
export function hashOfList (ids: readonly string[]): string {
  return hashes.get(ids) ?? listHash(ids)
}

const memberLists = new WeakMap<State, { key: string, list: readonly string[] }>()
/** member lists by state digest, the most recently used kept: states that hold the same entries derive one list */
const listsByDigest = new Map<string, { key: string, list: readonly string[] }>()

/**
 * the admitted members that were not removed, sorted by peer id; the same array until they change. A state
 * whose digest another state had derives nothing (the simulator's nodes that start alike: one pass, not one each)
 */
export function memberList (state: State): readonly string[] {
  const key = `${state.memberCount}/${state.revocations}`
  const cached = memberLists.get(state)
  if (cached?.key === key) return cached.list
  const digest = state.digest()
  let list = listsByDigest.get(digest)?.key === key ? listsByDigest.get(digest)!.list : undefined
  if (list === undefined) {
    const ids: string[] = []
    for (const peer of state.memberIds()) if (state.revoked(peer) === undefined) ids.push(peer)
    ids.sort()
    list = internList(ids)
    listsByDigest.set(digest, { key, list })
    if (listsByDigest.size > MAX_INTERNED) listsByDigest.delete(listsByDigest.keys().next().value as string)
  }
  memberLists.set(state, { key, list })
  return list
}

/**
 * A hash of a set of ids, for interning and for cache keys: the XOR of one
 * 64-bit FNV-1a hash per id (two 32-bit lanes), so it does not depend on
 * order and a list that gains or loses one id gets its new hash in one step
 * (`ListHash.toggle`), not a pass over every id
 */
export class ListHash {
  constructor (private lo = 0, private hi = 0) {}

  static of (ids: Iterable<string>): ListHash {
    const hash = new ListHash()
    for (const id of ids) hash.toggle(id)
    return hash
  }

  /** adds the id, or removes it if it is in */
  toggle (id: string): this {
    let a = 0x811c9dc5
    let b = 0x050c5d1f
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i)
      a = Math.imul(a ^ c, 0x01000193)
      b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15)
    }
    this.lo ^= a
    this.hi ^= b
    return this
  }

  copy (): ListHash {
    return new ListHash(this.lo, this.hi)
  }

  text (): string {
    return `${(this.lo >>> 0).toString(36)}${(this.hi >>> 0).toString(36)}`
  }
}

/** the hash of the ids (`ListHash`), as text */
export function listHash (ids: readonly string[]): string {
  return ListHash.of(ids).text()
}

function sameList (a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const sets = new WeakMap<readonly string[], ReadonlySet<string>>()

/** the list as a set, built once per list (a list keeps its identity until its content changes) */
export function setOfList (ids: readonly string[]): ReadonlySet<string> {
  let set = sets.get(ids)
  if (set === undefined) sets.set(ids, set = new Set(ids))
  return set
}

const sortedLists = new WeakMap<readonly string[], boolean>()

/** true when the list is in ascending order, as member lists are (checked once per list) */
export function isSorted (list: readonly string[]): boolean {
  let known = sortedLists.get(list)
  if (known === undefined) sortedLists.set(list, known = list.every((id, i) => i === 0 || list[i - 1] < id))
  return known
}

/** what `after` lacks of `before` and holds beyond it, both sorted: one walk of the two */
export function difference (before: readonly string[], after: readonly string[]): { gone: string[], added: string[] } {
  const gone: string[] = []
  const added: string[] = []
  let i = 0
  let j = 0
  while (i < before.length || j < after.length) {
    if (j >= after.length || (i < before.length && before[i] < after[j])) gone.push(before[i++])
    else if (i >= before.length || after[j] < before[i]) added.push(after[j++])
    else { i++; j++ }
  }
  return { gone, added }
}

/** the first index of a sorted list whose id is not below `id` */
export function lowerBound (list: readonly string[], id: string): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (list[mid] < id) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** true when the sorted list holds `id` (a binary search); any other list is searched through */
export function contains (list: readonly string[], id: string): boolean {
  if (!isSorted(list)) return list.includes(id)
  return list[lowerBound(list, id)] === id
}
