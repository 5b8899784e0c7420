/**
 * The desired-state CRDT: a last-writer-wins map of signed entries. Per key
 * the entry with the highest (hlc, author) wins, tombstones included, so
 * merge is commutative, associative and idempotent. An entry merges only if
 * its signature verifies, its clock is not too far ahead, and its author may
 * write its key (auth.ts); anything else is rejected with a reason, counted,
 * and changes nothing. Batches are durable before `merge`/`write` resolve.
 */
import type { Json } from './canonical.js'
import type { AuthView, RejectCode, Verdict } from './auth.js'
import type { StatePersistence } from './persistence.js'
import { imageStores, type StateImage, type StateInit } from './state-init.js'
import type { InviteRecord, RecordEntry, RecordOf, RevokedRecord } from './records.js'
import { authorize, supersedes } from './auth.js'
import { StateDigest } from './digest.js'
import { listing } from './state-listings.js'
import { compareEntries, entryId, signEntry, verifyEntry, type Entry } from './entry.js'
import { UnauthorizedWriteError } from './errors.js'
import { HybridClock, hlcWall } from './hlc.js'
import type { Identity } from './identity.js'
import { isMembershipKey, keys, type KeyKind, type RecordKey } from './keys.js'
import { mapStores, type KeyedStore } from './keyed-store.js'
import { Marks } from './marks.js'
import type { MergeOptions, MergeResult, Rejection, StateListener } from './merge-result.js'

export type { MergeOptions, MergeResult, Rejection, StateListener } from './merge-result.js'

const DEFAULT_MAX_CLOCK_AHEAD = 60_000
const DEFAULT_MAX_PENDING = 10_000
const MAX_RECENT_REJECTIONS = 100

/**
 * The replicated state of one node: the winning entry per key (LWW by (hlc, author), first-wins and most-seqs
 * keys aside: mergeRule), merged only when signed, not too far ahead of this node's clock (`maxClockAhead`, ms)
 * and authorized (auth.ts). Reads are typed by key kind (`value`, `records`); `write` and `merge` resolve once
 * durable, and a write that would be refused throws UnauthorizedWriteError. Open it with `State.open`
 */
export class State implements AuthView {
  readonly meshId: string
  readonly root: string
  readonly clock: HybridClock
  private readonly persistence: StatePersistence
  private readonly now: () => number
  /** ms: entries stamped further ahead of this node's clock are refused */
  readonly maxClockAhead: number
  private readonly maxPending: number
  private readonly verify: (meshId: string, entry: Entry) => boolean
  private readonly winners: KeyedStore<Entry>
  private readonly marks: Marks
  private readonly digestAcc: StateDigest = new StateDigest()
  private readonly orgOf: KeyedStore<string>
  /** revocations held: while there are none, asking about one costs nothing */
  private revokedCount = 0
  private readonly pending = new Map<string, Entry>()
  private readonly listeners = new Set<StateListener>()
  private readonly rejectedByCode = new Map<RejectCode, number>()
  readonly recentRejections: Rejection[] = []
  private queue: Promise<unknown> = Promise.resolve()

  private constructor (init: StateInit) {
    this.meshId = init.meshId
    this.root = init.root
    this.persistence = init.persistence
    this.now = init.now
    this.maxClockAhead = init.maxClockAhead ?? DEFAULT_MAX_CLOCK_AHEAD
    this.maxPending = init.maxPending ?? DEFAULT_MAX_PENDING
    this.verify = init.verify ?? verifyEntry
    this.clock = new HybridClock(init.now)
    const image = init.image
    const stores = image === undefined ? init.stores ?? mapStores : imageStores(image)
    if (image !== undefined) {
      this.digestAcc = image.digest
      this.revokedCount = image.revoked
      this.clock.observe(image.hlc)
    }
    this.winners = stores<Entry>('winners')
    this.orgOf = stores<string>('orgs')
    this.marks = new Marks(stores)
  }

  /** a state on `init.persistence`: from `init.image` when given, otherwise by loading and replaying every entry saved */
  static async open (init: StateInit): Promise<State> {
    const state = new State(init)
    if (init.image !== undefined) return state
    const saved = await init.persistence.load()
    for (const entry of saved.entries) {
      state.install(entry)
      state.clock.observe(entry.hlc)
    }
    state.marks.restore(saved.marks)
    return state
  }

  /** for another state to start from (`StateInit.image`): `copy` makes each map its own (a `new Map`, or an O(chunks) fork) */
  image (copy: <V>(store: KeyedStore<V>) => KeyedStore<V>): StateImage {
    return { winners: copy(this.winners), orgs: copy(this.orgOf), marks: copy(this.marks.store), digest: this.digestAcc.copy(), revoked: this.revokedCount, hlc: this.clock.peek() }
  }

  // --- reads -------------------------------------------------------------

  get (key: string): Entry | undefined {
    return this.winners.get(key)
  }

  /** the live value under a key (a `RecordKey<K>` reads as `RecordOf[K]`, any other as JSON); undefined when absent or deleted */
  value<K extends KeyKind> (key: RecordKey<K>): RecordOf[K] | undefined
  value (key: string): Json | undefined
  value (key: string): Json | undefined {
    const entry = this.winners.get(key)
    return entry === undefined || entry.tombstone === true ? undefined : entry.value
  }

  /** live (non-deleted) entries whose key starts with `prefix`; a new array the caller may change */
  list (prefix: string): Entry[] {
    return listing(this.digest(), prefix, this.winners, (kind) => this.list(kind))
  }

  /**
   * live entries of one kind, values typed, e.g. `records('secret', 'acme/web/')`
   * for the secrets of acme/web: `under` continues the key after `kind/`.
   * Every entry merged passed `checkRecord` for its kind, so its value is that kind's record
   */
  records<K extends KeyKind> (kind: K, under = ''): Array<RecordEntry<K>> {
    return this.list(`${kind}/${under}`) as Array<RecordEntry<K>>
  }

  all (): IterableIterator<Entry> {
    return this.winners.values()
  }

  get size (): number {
    return this.winners.size
  }

  digest (): string {
    return this.digestAcc.toString()
  }

  highWaterMarks (): Record<string, number> {
    return this.marks.toJSON()
  }

  memberOrg (peer: string): string | undefined {
    return this.orgOf.get(peer)
  }

  /** every admitted node and its org, the revoked ones included */
  members (): Map<string, string> {
    return new Map(this.orgOf.entries())
  }

  /** the admitted nodes' ids, revoked ones included, without copying */
  memberIds (): IterableIterator<string> {
    return this.orgOf.keys()
  }

  get memberCount (): number {
    return this.orgOf.size
  }

  /** how many nodes have been removed: with `memberCount`, changes whenever the membership does */
  get revocations (): number {
    return this.revokedCount
  }

  revoked (peer: string): RevokedRecord | undefined {
    return this.revokedCount === 0 ? undefined : this.value(keys.revoked(peer))
  }

  invite (id: string): InviteRecord | undefined {
    return this.value(keys.invite(id))
  }

  stats (): { entries: number, pending: number, rejected: Record<string, number> } {
    return { entries: this.winners.size, pending: this.pending.size, rejected: Object.fromEntries(this.rejectedByCode) }
  }

  /**
   * current entries the holder of `remote` marks lacks, oldest clock first,
   * in pages: pass the `cursor` of one page as `after` to get the next
   */
  entriesSince (remote: Record<string, number>, options: { limit?: number, after?: string } = {}): { entries: Entry[], more: boolean, cursor?: string } {
    const after = options.after === undefined ? undefined : parseCursor(options.after)
    const out: Entry[] = []
    for (const entry of this.winners.values()) {
      if (entry.seq > (remote[entry.author] ?? 0) && (after === undefined || isAfter(entry, after))) out.push(entry)
    }
    out.sort(compareEntries)
    const limit = options.limit ?? Infinity
    const page = out.length > limit ? out.slice(0, limit) : out
    const last = page.at(-1)
    return { entries: page, more: out.length > limit, cursor: last === undefined ? options.after : `${last.hlc}/${last.author}/${last.seq}` }
  }

  subscribe (listener: StateListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  // --- writes ------------------------------------------------------------

  /**
   * sign and store a local write of a record (undefined: delete it);
   * resolves once it is durable, or throws UnauthorizedWriteError saying why
   * it is not allowed (its value is checked as every node checks it)
   */
  async write<K extends KeyKind> (identity: Identity, key: RecordKey<K>, value: RecordOf[K] | undefined): Promise<Entry> {
    return await this.writeJson(identity, key, value)
  }

  /** `write` of any JSON under any key, for tools and tests that build values by hand; the merge checks it as any entry */
  async writeJson (identity: Identity, key: string, value: Json | undefined): Promise<Entry> {
    return await this.serialize(async () => {
      const entry = this.sign(identity, key, value, this.marks.highest(identity.peerId) + 1)
      const result = await this.mergeNow([entry], {})
      const refused = result.rejected[0]
      if (refused !== undefined) throw new UnauthorizedWriteError(`Cannot write ${key}: ${refused.reason}`)
      if (result.applied.length === 0 && this.revoked(identity.peerId) !== undefined) throw new UnauthorizedWriteError(`Cannot write ${key}: this node was removed from the mesh`)
      if (result.applied.length === 0) throw new UnauthorizedWriteError(`Cannot write ${key}: this node is not a member of the mesh (yet)`)
      return entry
    })
  }

  /**
   * several local writes as one change: all are judged first and none is written unless all may stand
   * (UnauthorizedWriteError naming the first refused key); then one batch, so a crash leaves all or none
   */
  async writeMany (identity: Identity, writes: Array<{ key: string, value: Json | undefined }>): Promise<Entry[]> {
    if (writes.length === 0) return []
    return await this.serialize(async () => {
      const first = this.marks.highest(identity.peerId) + 1
      const entries = writes.map(({ key, value }, i) => this.sign(identity, key, value, first + i))
      for (const entry of entries) {
        const verdict = this.judge(entry)
        if (verdict !== 'held' && !verdict.ok) throw new UnauthorizedWriteError(`Cannot write ${entry.key}: ${verdict.reason}`)
      }
      const result = await this.mergeNow(entries, {})
      if (result.applied.length !== entries.length) throw new UnauthorizedWriteError(`Cannot write ${entries.length} entries: ${result.rejected[0]?.reason ?? 'this node is not a member of the mesh (yet)'}`)
      return entries
    })
  }

  private sign (identity: Identity, key: string, value: Json | undefined, seq: number): Entry {
    const unsigned = { author: identity.peerId, seq, hlc: this.clock.tick(), key }
    return signEntry(this.meshId, identity, value === undefined ? { ...unsigned, tombstone: true } : { ...unsigned, value })
  }

  /** merge entries from a peer; resolves once what was applied is durable */
  async merge (entries: Entry[], options: MergeOptions = {}): Promise<MergeResult> {
    return await this.serialize(async () => await this.mergeNow(entries, options))
  }

  private async mergeNow (incoming: Entry[], options: MergeOptions): Promise<MergeResult> {
    const result: MergeResult = { applied: [], ignored: 0, rejected: [], pending: 0 }
    const undo = new Map<string, Entry | undefined>()
    this.marks.begin()
    const unsettled = new Set<string>()
    let queue = incoming.slice().sort(compareEntries)
    let pulledPending = false
    while (queue.length > 0) {
      let membershipChanged = false
      const waiting = new Map<string, Entry>()
      for (const entry of queue) {
        const outcome = this.judge(entry)
        if (outcome === 'held') {
          result.ignored++
        } else if (!outcome.ok && outcome.pending) {
          waiting.set(entryId(entry), entry)
        } else if (!outcome.ok) {
          this.countRejection(result, entry, outcome)
          // an authentic entry refused on its merits is refused everywhere, so its seq is settled;
          // a forged or early one says nothing about the author's real entry of that seq
          if (outcome.code === 'bad-signature' || outcome.code === 'clock-ahead') unsettled.add(entry.author)
          else this.marks.add(entry.author, entry.seq)
        } else {
          this.clock.observe(entry.hlc)
          this.marks.add(entry.author, entry.seq)
          const current = this.winners.get(entry.key)
          if (current !== undefined && !supersedes(entry, current)) {
            result.ignored++
            continue
          }
          if (!undo.has(entry.key)) undo.set(entry.key, current)
          this.install(entry)
          result.applied.push(entry)
          if (isMembershipKey(entry.key)) membershipChanged = true
        }
      }
      if (membershipChanged && !pulledPending) {
        for (const [id, entry] of this.pending) waiting.set(id, entry)
        this.pending.clear()
        pulledPending = true
      }
      if (!membershipChanged) {
        for (const entry of waiting.values()) this.hold(entry, unsettled)
        break
      }
      queue = [...waiting.values()].sort(compareEntries)
    }
    result.pending = this.pending.size
    if (options.remoteMarks !== undefined) {
      for (const entry of this.pending.values()) unsettled.add(entry.author)
      for (const [author, mark] of Object.entries(options.remoteMarks)) {
        if (!unsettled.has(author) && Number.isSafeInteger(mark)) this.marks.raise(author, mark)
      }
    }
    try {
      await this.persistence.save({ entries: result.applied, marks: this.marks.takeDirty() })
      this.marks.commit()
    } catch (err) {
      this.rollback(undo)
      throw err
    }
    if (result.applied.length > 0) for (const listener of this.listeners) listener(result.applied)
    return result
  }

  /** 'held' when we already know this entry; otherwise the verdict on it */
  private judge (entry: Entry): 'held' | Verdict {
    if (this.marks.has(entry.author, entry.seq)) return 'held'
    if (hlcWall(entry.hlc) > this.now() + this.maxClockAhead) {
      return { ok: false, pending: false, code: 'clock-ahead', reason: `stamped ${new Date(hlcWall(entry.hlc)).toISOString()}, too far ahead of this node's clock` }
    }
    if (!this.verify(this.meshId, entry)) return { ok: false, pending: false, code: 'bad-signature', reason: `signature of ${entryId(entry)} does not verify` }
    return authorize(entry, this)
  }

  private hold (entry: Entry, unsettled: Set<string>): void {
    unsettled.add(entry.author)
    if (this.pending.size >= this.maxPending) {
      const oldest = this.pending.keys().next().value as string
      this.pending.delete(oldest)
    }
    this.pending.set(entryId(entry), entry)
  }

  private install (entry: Entry): void {
    const previous = this.winners.get(entry.key)
    if (previous !== undefined) this.digestAcc.remove(previous)
    this.winners.set(entry.key, entry)
    this.digestAcc.add(entry)
    if (previous === undefined && entry.key.startsWith('revoked/')) this.revokedCount++
    if (entry.key.startsWith('member/') && entry.tombstone !== true) {
      this.orgOf.set(entry.key.slice('member/'.length), (entry.value as { org: string }).org)
    }
  }

  private rollback (undo: Map<string, Entry | undefined>): void {
    for (const [key, previous] of undo) {
      if (previous !== undefined) {
        this.install(previous)
        continue
      }
      this.digestAcc.remove(this.winners.get(key)!)
      this.winners.delete(key)
      if (key.startsWith('revoked/')) this.revokedCount--
      if (key.startsWith('member/')) this.orgOf.delete(key.slice('member/'.length))
    }
    this.marks.rollback()
  }

  private countRejection (result: MergeResult, entry: Entry, verdict: Extract<Verdict, { ok: false }>): void {
    const rejection = { entry, code: verdict.code, reason: verdict.reason }
    result.rejected.push(rejection)
    this.rejectedByCode.set(verdict.code, (this.rejectedByCode.get(verdict.code) ?? 0) + 1)
    this.recentRejections.push(rejection)
    if (this.recentRejections.length > MAX_RECENT_REJECTIONS) this.recentRejections.shift()
  }

  private async serialize<T> (task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task)
    this.queue = run.catch(() => {})
    return await run
  }

  async close (): Promise<void> {
    await this.queue
    await this.persistence.close()
  }
}

interface Cursor { hlc: string, author: string, seq: number }

function parseCursor (text: string): Cursor | undefined {
  const [hlc, author, seq] = text.split('/')
  return hlc === undefined || author === undefined || seq === undefined ? undefined : { hlc, author, seq: Number(seq) }
}

/** strictly after the cursor in compareEntries order (the signature tie-break never matters between pages) */
function isAfter (entry: Entry, cursor: Cursor): boolean {
  if (entry.hlc !== cursor.hlc) return entry.hlc > cursor.hlc
  if (entry.author !== cursor.author) return entry.author > cursor.author
  return entry.seq > cursor.seq
}
