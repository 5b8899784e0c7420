/**
 * Per-author high-water marks for anti-entropy. `mark` says "I hold every
 * entry of this author up to this seq, or whatever superseded it"; seqs that
 * arrived out of order wait in `above` until the gap fills. A peer answers a
 * sync request with everything it holds above our marks, plus its own marks,
 * which we adopt once we have merged the answer.
 */
import type { AuthorMark } from './persistence.js'

/**
 * Per-author high-water marks: every seq up to `mark` is held, and these above it (gaps wait for anti-entropy).
 * `toJSON()` is what a sync request sends; `takeDirty()` what persistence must save
 */
export class Marks {
  private readonly byAuthor = new Map<string, { mark: number, above: Set<number> }>()
  private readonly dirty = new Set<string>()

  static from (saved: Record<string, AuthorMark>): Marks {
    const marks = new Marks()
    for (const [author, { mark, above }] of Object.entries(saved)) {
      marks.byAuthor.set(author, { mark, above: new Set(above) })
    }
    return marks
  }

  has (author: string, seq: number): boolean {
    const state = this.byAuthor.get(author)
    return state !== undefined && (seq <= state.mark || state.above.has(seq))
  }

  /** the highest seq known for this author, contiguous or not */
  highest (author: string): number {
    const state = this.byAuthor.get(author)
    if (state === undefined) return 0
    let highest = state.mark
    for (const seq of state.above) if (seq > highest) highest = seq
    return highest
  }

  add (author: string, seq: number): void {
    let state = this.byAuthor.get(author)
    if (state === undefined) {
      state = { mark: 0, above: new Set() }
      this.byAuthor.set(author, state)
    }
    if (seq <= state.mark || state.above.has(seq)) return
    state.above.add(seq)
    while (state.above.delete(state.mark + 1)) state.mark++
    this.dirty.add(author)
  }

  /** adopt a peer's contiguous mark after merging everything it sent above ours */
  raise (author: string, mark: number): void {
    let state = this.byAuthor.get(author)
    if (state === undefined) {
      state = { mark: 0, above: new Set() }
      this.byAuthor.set(author, state)
    }
    if (mark <= state.mark) return
    state.mark = mark
    for (const seq of state.above) if (seq <= mark) state.above.delete(seq)
    while (state.above.delete(state.mark + 1)) state.mark++
    this.dirty.add(author)
  }

  mark (author: string): number {
    return this.byAuthor.get(author)?.mark ?? 0
  }

  toJSON (): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [author, state] of this.byAuthor) out[author] = state.mark
    return out
  }

  /** the authors changed since the last call, in the persisted form */
  takeDirty (): Record<string, AuthorMark> {
    const out: Record<string, AuthorMark> = {}
    for (const author of this.dirty) {
      const state = this.byAuthor.get(author)!
      out[author] = { mark: state.mark, above: [...state.above].sort((a, b) => a - b) }
    }
    this.dirty.clear()
    return out
  }

  snapshot (): Record<string, AuthorMark> {
    const out: Record<string, AuthorMark> = {}
    for (const [author, state] of this.byAuthor) out[author] = { mark: state.mark, above: [...state.above] }
    return out
  }

  restore (saved: Record<string, AuthorMark>): void {
    this.byAuthor.clear()
    for (const [author, { mark, above }] of Object.entries(saved)) this.byAuthor.set(author, { mark, above: new Set(above) })
  }
}
