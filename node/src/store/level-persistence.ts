/**
 * The on-disk store: LevelDB (classic-level). Every batch is written with
 * `sync: true`, so it is on disk before `save` resolves; LevelDB's own log
 * recovery gives back exactly the batches that completed after a kill -9.
 * It passes protocol's persistence conformance suite, as MemoryPersistence
 * does (node/test/level-persistence.test.ts).
 */
import { ClassicLevel } from 'classic-level'
import { messageOf, parseEntry, StorageError, type AuthorMark, type Entry, type PersistedState, type StateBatch, type StatePersistence } from '@minga/protocol'

const ENTRY_PREFIX = 'e!'
const MARK_PREFIX = 'm!'

export interface LevelPersistenceInit {
  /** called for each damaged record skipped on load */
  onDamaged?: (key: string, reason: string) => void
}

/**
 * StatePersistence in LevelDB at `path` (see above): `save` resolves once the batch is on disk; StorageError when the
 * store cannot be opened (in use by another process, unwritable) or written
 */
export class LevelPersistence implements StatePersistence {
  private readonly db: ClassicLevel<string, string>
  private readonly onDamaged: (key: string, reason: string) => void

  constructor (readonly path: string, init: LevelPersistenceInit = {}) {
    this.db = new ClassicLevel<string, string>(path, { valueEncoding: 'utf8', keyEncoding: 'utf8' })
    this.onDamaged = init.onDamaged ?? (() => {})
  }

  async load (): Promise<PersistedState> {
    try {
      await this.db.open()
    } catch (err) {
      const cause = causeOf(err)
      if (/lock/i.test(String(cause))) throw new StorageError(`The state store at ${this.path} is in use by another process; stop the other minga node first`)
      throw new StorageError(`Cannot open the state store at ${this.path}: ${cause}`)
    }
    const entries: Entry[] = []
    const marks: Record<string, AuthorMark> = {}
    for await (const [key, text] of this.db.iterator()) {
      try {
        if (key.startsWith(ENTRY_PREFIX)) {
          const entry = parseEntry(JSON.parse(text))
          if (entry.key !== key.slice(ENTRY_PREFIX.length)) throw new Error('entry stored under the wrong key')
          entries.push(entry)
        } else if (key.startsWith(MARK_PREFIX)) {
          marks[key.slice(MARK_PREFIX.length)] = parseMark(JSON.parse(text))
        }
      } catch (err) {
        this.onDamaged(key, messageOf(err))
      }
    }
    return { entries, marks }
  }

  async save (batch: StateBatch): Promise<void> {
    const ops: Array<{ type: 'put', key: string, value: string }> = []
    for (const entry of batch.entries) ops.push({ type: 'put', key: ENTRY_PREFIX + entry.key, value: JSON.stringify(entry) })
    for (const [author, mark] of Object.entries(batch.marks)) ops.push({ type: 'put', key: MARK_PREFIX + author, value: JSON.stringify(mark) })
    if (ops.length === 0) return
    try {
      await this.db.batch(ops, { sync: true })
    } catch (err) {
      throw new StorageError(`Could not write the state store at ${this.path} (${causeOf(err)}); free disk space or check the disk, then retry`)
    }
  }

  async close (): Promise<void> {
    await this.db.close()
  }
}

function parseMark (value: unknown): AuthorMark {
  const { mark, above } = (value ?? {}) as { mark?: unknown, above?: unknown }
  if (typeof mark !== 'number' || !Number.isSafeInteger(mark) || !Array.isArray(above) || !above.every(n => Number.isSafeInteger(n))) throw new Error('bad mark record')
  return { mark, above: above as number[] }
}

/** classic-level wraps LevelDB's own error as `cause`: its message says what went wrong */
function causeOf (err: unknown): string {
  const cause = (err as { cause?: unknown } | null)?.cause
  return cause instanceof Error ? cause.message : messageOf(err)
}
