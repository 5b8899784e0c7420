/**
 * Where the state store keeps its maps (winners by key, marks by author,
 * orgs by member): a `Map` in production, and in the simulator a store
 * whose chunks are shared between the thousands of nodes that hold the same
 * entries (structural sharing). Values put in a store are never mutated.
 */

export interface KeyedStore<V> {
  get (key: string): V | undefined
  has (key: string): boolean
  set (key: string, value: V): unknown
  delete (key: string): boolean
  clear (): void
  readonly size: number
  keys (): IterableIterator<string>
  values (): IterableIterator<V>
  entries (): IterableIterator<[string, V]>
}

/** a new, empty store for one kind of map (`'winners'`, `'marks'`, `'orgs'`…): stores of one kind may share */
export type StoreFactory = <V>(kind: string) => KeyedStore<V>

export const mapStores: StoreFactory = <V>() => new Map<string, V>()
