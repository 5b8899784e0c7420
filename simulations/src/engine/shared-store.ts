/**
 * Structural sharing between simulated nodes. Thousands of nodes hold the
 * same entries, marks and member rows; a `SharedStore` keeps each node's
 * map as an array of 64-slot chunks over a key index shared by every node,
 * and chunks are hash-consed: a chunk equal to one that exists anywhere is
 * that one. Nodes that agree share all their chunks, so a node costs one
 * pointer per 64 keys; a node that differs owns only the chunks that differ.
 *
 * A chunk a node is still filling is its own and changes in place; at most
 * `DIRTY_MAX` of them wait before they are sealed (interned, immutable from
 * then on). Equality is checked on every hash hit, so a collision costs
 * sharing, never correctness. The intern table holds weak references: a
 * chunk no node uses is collected.
 */
import { fmix32 } from '@minga/scheduler'
import type { KeyedStore, StoreFactory } from '@minga/protocol'

export interface ValueHasher<V> {
  hash: (value: V) => number
  equals: (a: V, b: V) => boolean
}

const SHIFT = 6
const SIZE = 1 << SHIFT
const MASK = SIZE - 1
/** chunks a store may own unsealed at once */
const DIRTY_MAX = 8

interface Chunk<V> {
  slots: Array<V | undefined>
  hash: number
  count: number
  /** the store that may still change it in place; undefined once sealed (shared) */
  owner?: SharedStore<V>
}

/** one kind of map (winners, marks…): its key index and its intern table, shared by every node's store of that kind */
export class StoreKind<V> {
  readonly ids = new Map<string, number>()
  readonly keys: string[] = []
  private readonly interned = new Map<number, Array<WeakRef<Chunk<V>>>>()
  private readonly registry = new FinalizationRegistry<number>((hash) => this.sweep(hash))
  /** chunks sealed new and found equal to one interned; values written (every store of this kind) */
  readonly stats = { sealed: 0, reused: 0, writes: 0 }

  constructor (readonly hasher: ValueHasher<V>) {}

  indexOf (key: string): number | undefined {
    return this.ids.get(key)
  }

  add (key: string): number {
    let id = this.ids.get(key)
    if (id === undefined) {
      id = this.keys.length
      this.ids.set(key, id)
      this.keys.push(key)
    }
    return id
  }

  /** the shared chunk equal to this one: an existing one, or this one, now sealed */
  seal (chunk: Chunk<V>): Chunk<V> {
    chunk.owner = undefined
    const bucket = this.interned.get(chunk.hash)
    if (bucket !== undefined) {
      for (const ref of bucket) {
        const other = ref.deref()
        if (other !== undefined && this.same(other, chunk)) { this.stats.reused++; return other }
      }
    }
    this.stats.sealed++
    const ref = new WeakRef(chunk)
    if (bucket === undefined) this.interned.set(chunk.hash, [ref])
    else bucket.push(ref)
    this.registry.register(chunk, chunk.hash)
    return chunk
  }

  /** a slot's share of its chunk's hash */
  slotHash (value: V | undefined, slot: number): number {
    if (value === undefined) return 0
    return fmix32((this.hasher.hash(value) ^ Math.imul(slot + 1, 0x9e3779b1)) >>> 0)
  }

  private same (a: Chunk<V>, b: Chunk<V>): boolean {
    if (a.count !== b.count) return false
    const { equals } = this.hasher
    for (let i = 0; i < SIZE; i++) {
      const x = a.slots[i]
      const y = b.slots[i]
      if (x === y) continue
      if (x === undefined || y === undefined || !equals(x, y)) return false
    }
    return true
  }

  private sweep (hash: number): void {
    const bucket = this.interned.get(hash)
    if (bucket === undefined) return
    const live = bucket.filter(ref => ref.deref() !== undefined)
    if (live.length === 0) this.interned.delete(hash)
    else this.interned.set(hash, live)
  }
}

export class SharedStore<V> implements KeyedStore<V> {
  private chunks: Array<Chunk<V> | undefined> = []
  private readonly dirty = new Set<number>()
  private count = 0
  /**
   * What a reader derived from this store's content in a pass (a member
   * table's digest), left here for the next reader: forks carry it, any
   * write drops it
   */
  summary?: object

  constructor (private readonly kind: StoreKind<V>) {}

  get size (): number {
    return this.count
  }

  get (key: string): V | undefined {
    const id = this.kind.indexOf(key)
    return id === undefined ? undefined : this.chunks[id >> SHIFT]?.slots[id & MASK]
  }

  has (key: string): boolean {
    return this.get(key) !== undefined
  }

  set (key: string, value: V): this {
    this.put(this.kind.add(key), value)
    return this
  }

  delete (key: string): boolean {
    const id = this.kind.indexOf(key)
    if (id === undefined || this.chunks[id >> SHIFT]?.slots[id & MASK] === undefined) return false
    this.put(id, undefined)
    return true
  }

  clear (): void {
    this.summary = undefined
    this.chunks = []
    this.dirty.clear()
    this.count = 0
  }

  * entries (): IterableIterator<[string, V]> {
    const keys = this.kind.keys
    for (let c = 0; c < this.chunks.length; c++) {
      const chunk = this.chunks[c]
      if (chunk === undefined || chunk.count === 0) continue
      for (let s = 0; s < SIZE; s++) {
        const value = chunk.slots[s]
        if (value !== undefined) yield [keys[(c << SHIFT) + s], value]
      }
    }
  }

  * keys (): IterableIterator<string> {
    for (const [key] of this.entries()) yield key
  }

  * values (): IterableIterator<V> {
    // straight from the chunks: no [key, value] pair per item (the state's listings walk every winner)
    for (const chunk of this.chunks) {
      if (chunk === undefined || chunk.count === 0) continue
      for (const value of chunk.slots) if (value !== undefined) yield value
    }
  }

  [Symbol.iterator] (): IterableIterator<[string, V]> {
    return this.entries()
  }

  /** a store that holds what this one holds, sharing every chunk (this one's are sealed first): O(chunks), not O(keys) */
  fork (): SharedStore<V> {
    this.seal()
    const copy = new SharedStore<V>(this.kind)
    copy.chunks = this.chunks.slice()
    copy.count = this.count
    copy.summary = this.summary
    return copy
  }

  /** seal every chunk still being filled (they become shareable) */
  seal (): void {
    for (const c of this.dirty) {
      const chunk = this.chunks[c]
      if (chunk !== undefined) this.chunks[c] = this.kind.seal(chunk)
    }
    this.dirty.clear()
  }

  private put (id: number, value: V | undefined): void {
    const c = id >> SHIFT
    const s = id & MASK
    while (this.chunks.length <= c) this.chunks.push(undefined)
    let chunk = this.chunks[c]
    const old = chunk?.slots[s]
    if (old === value) return
    this.summary = undefined
    this.kind.stats.writes++
    if (chunk === undefined || chunk.owner !== this) {
      // a shared chunk is copied to change it; the chunks filled before are sealed first when too many wait
      if (this.dirty.size >= DIRTY_MAX) this.seal()
      chunk = { slots: chunk === undefined ? new Array(SIZE).fill(undefined) : chunk.slots.slice(), hash: chunk?.hash ?? 0, count: chunk?.count ?? 0, owner: this }
      this.chunks[c] = chunk
      this.dirty.add(c)
    }
    chunk.slots[s] = value
    chunk.hash = (chunk.hash ^ this.kind.slotHash(old, s) ^ this.kind.slotHash(value, s)) >>> 0
    const delta = (value === undefined ? 0 : 1) - (old === undefined ? 0 : 1)
    chunk.count += delta
    this.count += delta
  }
}

/** FNV-1a of a string */
export function stringHash (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

export type SharedStoreFactory = StoreFactory & {
  kinds: Map<string, StoreKind<any>>
  /** seal every store's waiting chunks (before measuring memory, or now and then) */
  sealAll: () => void
}

/** a factory of shared stores: one StoreKind per kind, with the hasher given for it (others hashed by their JSON, compared with ===) */
export function sharedStores (hashers: Record<string, ValueHasher<any>>): SharedStoreFactory {
  const kinds = new Map<string, StoreKind<any>>()
  const stores = new Set<WeakRef<SharedStore<any>>>()
  const factory = (<V>(kind: string): SharedStore<V> => {
    let k = kinds.get(kind)
    if (k === undefined) kinds.set(kind, k = new StoreKind(hashers[kind] ?? { hash: (v: unknown) => stringHash(JSON.stringify(v)), equals: (a: unknown, b: unknown) => a === b }))
    const store = new SharedStore<V>(k)
    stores.add(new WeakRef(store))
    return store
  }) as unknown as SharedStoreFactory
  factory.kinds = kinds
  factory.sealAll = () => {
    for (const ref of stores) {
      const store = ref.deref()
      if (store === undefined) stores.delete(ref)
      else store.seal()
    }
  }
  return factory
}
