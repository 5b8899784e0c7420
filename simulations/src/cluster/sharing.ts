/**
 * What simulated nodes share when they agree: the state store's maps
 * (winners, marks, orgs), the same maps in their "disks", and membership
 * tables, as hash-consed chunks (engine/shared-store.ts). Values hash by
 * what identifies them: an entry by its signature, a mark by its numbers,
 * a member row by what it says.
 */
import type { Member } from '@minga/node'
import type { AuthorMark, Entry } from '@minga/protocol'
import { sharedStores, stringHash, type SharedStoreFactory } from '../engine/shared-store.js'

const entryHashes = new WeakMap<Entry, number>()

function entryHash (entry: Entry): number {
  let hash = entryHashes.get(entry)
  if (hash === undefined) entryHashes.set(entry, hash = stringHash(entry.sig))
  return hash
}

export function clusterStores (): SharedStoreFactory {
  return sharedStores({
    winners: { hash: entryHash, equals: (a: Entry, b: Entry) => a === b || a.sig === b.sig },
    marks: {
      hash: (m: AuthorMark) => stringHash(m.above.length === 0 ? String(m.mark) : `${m.mark}:${m.above.join(',')}`),
      equals: (a: AuthorMark, b: AuthorMark) => a.mark === b.mark && a.above.length === b.above.length && a.above.every((seq, i) => seq === b.above[i])
    },
    orgs: { hash: stringHash, equals: (a: string, b: string) => a === b },
    members: {
      hash: (m: Member) => stringHash(`${m.status}|${m.inc}|${m.alive?.sig ?? ''}`),
      equals: (a: Member, b: Member) => a === b || (a.node === b.node && a.status === b.status && a.inc === b.inc && a.alive?.sig === b.alive?.sig)
    }
  })
}
