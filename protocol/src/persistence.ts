/**
 * Where the state store keeps its entries between runs. `save` resolves only
 * once the batch is durable (fsync'd): the store acknowledges nothing before
 * that. Two implementations share one conformance suite
 * (test/persistence-suite.ts): an in-memory one for unit tests and the
 * simulator, and LevelDB on disk for real nodes (node/src/store/level-persistence.ts;
 * the suite is exported as `@minga/protocol/testing`).
 */
import type { Entry } from './entry.js'
import { mapStores, type KeyedStore, type StoreFactory } from './keyed-store.js'

/** what a store knows of one author: every seq up to `mark`, and these above it */
export interface AuthorMark {
  mark: number
  above: number[]
}

export interface PersistedState {
  /** the winning entry of every key, tombstones included */
  entries: Entry[]
  marks: Record<string, AuthorMark>
}

export interface StateBatch {
  entries: Entry[]
  marks: Record<string, AuthorMark>
}

export interface StatePersistence {
  load (): Promise<PersistedState>
  /** durable when it resolves; a rejected save changed nothing that load() would return */
  save (batch: StateBatch): Promise<void>
  close (): Promise<void>
}

/** keeps everything in memory; `snapshot()` lets a test or a simulated restart reload it */
export class MemoryPersistence implements StatePersistence {
  private readonly entries: KeyedStore<Entry>
  private readonly marks: KeyedStore<AuthorMark>
  private closed = false
  /** when set, the next save fails with this error (tests of full disks and crashes) */
  failNextSave?: Error

  /** `stores`: where it keeps its maps (the simulator shares them between nodes, as State does) */
  constructor (stores: StoreFactory = mapStores) {
    this.entries = stores<Entry>('winners')
    this.marks = stores<AuthorMark>('marks')
  }

  async load (): Promise<PersistedState> {
    this.closed = false
    return { entries: [...this.entries.values()], marks: Object.fromEntries(this.marks.entries()) }
  }

  async save (batch: StateBatch): Promise<void> {
    if (this.closed) throw new Error('Persistence is closed')
    if (this.failNextSave !== undefined) {
      const err = this.failNextSave
      this.failNextSave = undefined
      throw err
    }
    for (const entry of batch.entries) this.entries.set(entry.key, entry)
    for (const [author, mark] of Object.entries(batch.marks)) this.marks.set(author, { mark: mark.mark, above: [...mark.above] })
  }

  async close (): Promise<void> {
    this.closed = true
  }
}
