/**
 * A state's listings by key prefix (`State.list`), computed once per state
 * digest and prefix. The digest names the winning entries, so states that
 * agree (the simulator's thousands of nodes) share one pass over their
 * winners, and a node's repeated asks (a service's secrets at each replica
 * start) reuse it until its state changes.
 */
import type { Entry } from './entry.js'
import type { KeyedStore } from './keyed-store.js'

/** listings by `digest|prefix`, the oldest dropped first */
const listings = new Map<string, readonly Entry[]>()
const MAX_LISTINGS = 512

/**
 * the live entries of `winners` whose key starts with `prefix`, as a new array; `ofKind` lists a kind (`secret/`)
 * of the same state: a longer prefix (one service's secrets) filters its kind's listing instead of every winner
 */
export function listing (digest: string, prefix: string, winners: KeyedStore<Entry>, ofKind: (kind: string) => readonly Entry[]): Entry[] {
  const key = `${digest}|${prefix}`
  let listed = listings.get(key)
  if (listed === undefined) {
    const out: Entry[] = []
    const kindEnd = prefix.indexOf('/') + 1
    const source = kindEnd > 0 && kindEnd < prefix.length ? ofKind(prefix.slice(0, kindEnd)) : winners.values()
    for (const entry of source) if (entry.key.startsWith(prefix) && entry.tombstone !== true) out.push(entry)
    listed = out
    if (listings.size >= MAX_LISTINGS) listings.delete(listings.keys().next().value!)
    listings.set(key, listed)
  }
  return listed.slice()
}
