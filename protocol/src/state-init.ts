/**
 * What a State opens with (`StateInit`), and the image of an open state
 * (`StateImage`): what `State.open` derived from its persistence (the
 * winners by key, the org of every member, the marks by author, the
 * digest, the revocations held, the newest clock), as `State.image` copies
 * it for another state on a copy of the same disk to start from without
 * replaying every entry: the simulator's thousands of nodes start from one
 * genesis.
 */
import type { StateDigest } from './digest.js'
import type { Entry } from './entry.js'
import type { KeyedStore, StoreFactory } from './keyed-store.js'
import type { AuthorMark, StatePersistence } from './persistence.js'

/** how to open a State (`State.open`) */
export interface StateInit {
  meshId: string
  /** the mesh founder's peer id */
  root: string
  persistence: StatePersistence
  /** wall-clock milliseconds; the simulator passes its virtual clock */
  now: () => number
  /** entries stamped further ahead of `now` are refused (default 60 s) */
  maxClockAhead?: number
  /** entries waiting for a membership fact, at most (default 10,000) */
  maxPending?: number
  /** signature check; the simulator shares a cache of verdicts between its nodes */
  verify?: (meshId: string, entry: Entry) => boolean
  /** where the maps live; the simulator shares them between nodes that hold the same entries */
  stores?: StoreFactory
  /** start from this (`State.image` of a state on the same content as `persistence`, which the caller vouches for), not a replay */
  image?: StateImage
}

/** a state's derived maps and figures; the maps are the new state's own (copies, or forks that share what they agree on) */
export interface StateImage {
  winners: KeyedStore<Entry>
  orgs: KeyedStore<string>
  marks: KeyedStore<Readonly<AuthorMark>>
  digest: StateDigest
  revoked: number
  /** the newest hlc the state had seen or stamped */
  hlc: string
}

/** a factory that hands out an image's maps, one per kind (throws for a kind the image lacks) */
export function imageStores (image: StateImage): StoreFactory {
  const byKind: Record<string, KeyedStore<unknown>> = { winners: image.winners, orgs: image.orgs, marks: image.marks }
  return <V>(kind: string): KeyedStore<V> => {
    const store = byKind[kind]
    if (store === undefined) throw new Error(`State image has no ${kind} map: take it with state.image()`)
    return store as KeyedStore<V>
  }
}
