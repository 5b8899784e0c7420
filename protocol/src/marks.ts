/**
 * Per-author high-water marks for anti-entropy. `mark` says "I hold every
 * entry of this author up to this seq, or whatever superseded it"; seqs that
 * arrived out of order wait in `above` until the gap fills. A peer answers a
 * sync request with everything it holds above our marks, plus its own marks,
 * which we adopt once we have merged the answer. Each author's mark is an
 * immutable value, replaced on change, so a store may share it between
 * nodes (keyed-store.ts).
 */
import { mapStores, type KeyedStore, type StoreFactory } from './keyed-store.js'
import type { AuthorMark } from './persistence.js'

const NO_SEQS: readonly number[] = Object.freeze([])

/**
 * Per-author high-water marks: every seq up to `mark` is held, and these above it (gaps wait for anti-entropy).
 * `toJSON()` is what a sync request sends; `takeDirty()` what persistence must save
 */
export class Marks {
  private readonly byAuthor: KeyedStore<Readonly<AuthorMark>>
  /** the map by author (State.image copies it) */
  get store (): KeyedStore<Readonly<AuthorMark>> { return this.byAuthor }
  private readonly dirty = new Set<string>()
  /** while a change may still be undone: each changed author's value before it */
  private undo?: Map<string, Readonly<AuthorMark> | undefined>

  constructor (stores: StoreFactory = mapStores) {
    this.byAuthor = stores<Readonly<AuthorMark>>('marks')
  }

  static from (saved: Record<string, AuthorMark>, stores?: StoreFactory): Marks {
    const marks = new Marks(stores)
    marks.restore(saved)
    marks.dirty.clear()
    return marks
  }

  has (author: string, seq: number): boolean {
    const state = this.byAuthor.get(author)
    return state !== undefined && (seq <= state.mark || state.above.includes(seq))
  }

  /** the highest seq known for this author, contiguous or not */
  highest (author: string): number {
    const state = this.byAuthor.get(author)
    if (state === undefined) return 0
    return state.above.length === 0 ? state.mark : Math.max(state.mark, state.above[state.above.length - 1])
  }

  add (author: string, seq: number): void {
    const state = this.byAuthor.get(author) ?? { mark: 0, above: NO_SEQS }
    if (seq <= state.mark || state.above.includes(seq)) return
    this.put(author, state.mark, [...state.above, seq].sort((a, b) => a - b))
  }

  /** adopt a peer's contiguous mark after merging everything it sent above ours */
  raise (author: string, mark: number): void {
    const state = this.byAuthor.get(author) ?? { mark: 0, above: NO_SEQS }
    if (mark <= state.mark) return
    this.put(author, mark, state.above.filter(seq => seq > mark))
  }

  mark (author: string): number {
    return this.byAuthor.get(author)?.mark ?? 0
  }

  toJSON (): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [author, state] of this.byAuthor.entries()) out[author] = state.mark
    return out
  }

  /** the authors changed since the last call, in the persisted form */
  takeDirty (): Record<string, AuthorMark> {
    const out: Record<string, AuthorMark> = {}
    for (const author of this.dirty) {
      const state = this.byAuthor.get(author)!
      out[author] = { mark: state.mark, above: [...state.above] }
    }
    this.dirty.clear()
    return out
  }

  /** from now on, remember what changes, so that `rollback()` can undo it (costs what changes, not what is held) */
  begin (): void {
    this.undo = new Map()
  }

  /** keep what changed since `begin()` */
  commit (): void {
    this.undo = undefined
  }

  /** undo what changed since `begin()` */
  rollback (): void {
    for (const [author, before] of this.undo ?? []) {
      if (before === undefined) this.byAuthor.delete(author)
      else this.byAuthor.set(author, before)
      this.dirty.delete(author)
    }
    this.undo = undefined
  }

  restore (saved: Record<string, AuthorMark>): void {
    this.byAuthor.clear()
    for (const [author, { mark, above }] of Object.entries(saved)) this.byAuthor.set(author, markValue(mark, [...above].sort((a, b) => a - b)))
  }

  /** `above` sorted; seqs that close the gap move into the mark */
  private put (author: string, mark: number, above: number[]): void {
    let i = 0
    while (i < above.length && above[i] <= mark + 1) {
      if (above[i] === mark + 1) mark++
      i++
    }
    if (this.undo !== undefined && !this.undo.has(author)) this.undo.set(author, this.byAuthor.get(author))
    this.byAuthor.set(author, markValue(mark, i === 0 ? above : above.slice(i)))
    this.dirty.add(author)
  }
}

function markValue (mark: number, above: readonly number[]): Readonly<AuthorMark> {
  return Object.freeze({ mark, above: above.length === 0 ? NO_SEQS : Object.freeze(above) }) as Readonly<AuthorMark>
}
