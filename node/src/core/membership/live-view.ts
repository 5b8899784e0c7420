/**
 * The live set a node derives from its member table: the members alive or
 * suspect (sorted, interned), its hash, and the count of those alive. Every
 * node hears every status change, so a change moves one member in or out
 * in a step (`withStatus`: a binary search in the sorted list, the hash
 * toggled by one id) instead of a pass over every member: at 10,000
 * simulated nodes a pass each was 10⁸ row reads per change. Only a new
 * member list costs a pass, and nodes whose tables have one digest share it.
 */
import type { MemberStatus } from '@minga/protocol'
import { contains, internEdited, internList, isSorted, ListHash, lowerBound } from './shared-lists.js'

export interface LiveView {
  /** the member list it was derived from */
  readonly members: readonly string[]
  /** members alive or suspect, this node included, sorted and interned */
  readonly live: readonly string[]
  readonly hash: ListHash
  /** the hash as text, part of `Membership.liveKey` */
  readonly text: string
  /** members alive (not suspect) */
  readonly alive: number
}

/** per member list, the view last derived from a table, and that table's digest */
const derived = new WeakMap<readonly string[], { digest: string, view: LiveView }>()

/**
 * The view of `members` for a table with this digest and these statuses: a
 * pass over the members (`derived` true), or the one derived for a table
 * with the same digest (w.h.p. the same rows: 64 bits), which nodes that
 * start alike share
 */
export function deriveLiveView (members: readonly string[], digest: string, status: (node: string) => MemberStatus): { view: LiveView, derived: boolean } {
  const known = derived.get(members)
  if (known?.digest === digest) return { view: known.view, derived: false }
  const live: string[] = []
  let alive = 0
  for (const node of members) {
    const s = status(node)
    if (s === 'alive' || s === 'suspect') live.push(node)
    if (s === 'alive') alive++
  }
  const view = make(members, live, ListHash.of(live), alive)
  derived.set(members, { digest, view })
  return { view, derived: true }
}

/**
 * The view after one member (not this node) went from `before` to `after`;
 * undefined when it must be derived again (a member list out of order, or
 * one that does not hold the member)
 */
export function withStatus (view: LiveView, node: string, before: MemberStatus, after: MemberStatus): LiveView | undefined {
  if (!isSorted(view.members) || !contains(view.members, node)) return undefined
  const alive = view.alive + (after === 'alive' ? 1 : 0) - (before === 'alive' ? 1 : 0)
  const isLive = after === 'alive' || after === 'suspect'
  const at = lowerBound(view.live, node)
  if (isLive === (view.live[at] === node)) return { ...view, alive }
  const hash = view.hash.copy().toggle(node)
  const text = hash.text()
  return { members: view.members, live: internEdited(view.live, at, node, isLive, text), hash, text, alive }
}

function make (members: readonly string[], live: readonly string[], hash: ListHash, alive: number): LiveView {
  const text = hash.text()
  return { members, live: internList(live, text), hash, text, alive }
}
