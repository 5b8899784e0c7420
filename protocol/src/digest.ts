/**
 * An order-independent digest of the winning entries: the XOR of one hash
 * per winner, updated in place as winners change. Equal states give equal
 * digests, whatever order they were built in; nodes compare them to see
 * whether they agree.
 */
import { createHash } from 'node:crypto'
import type { Entry } from './entry.js'

/** one hash per entry object: replicas of the same entry (the simulator's thousands of nodes) hash it once */
const hashes = new WeakMap<Entry, Uint8Array>()

/**
 * An order-independent digest of a set of entries (the XOR of their hashes), updated per entry added or removed:
 * two nodes holding the same winners have the same `toString()`, whatever order they merged in
 */
export class StateDigest {
  private readonly acc = new Uint8Array(32)
  private count = 0
  /** `toString()` until the next change */
  private text?: string

  add (entry: Entry): void {
    this.xor(entry)
    this.count++
  }

  remove (entry: Entry): void {
    this.xor(entry)
    this.count--
  }

  /** a digest of the same entries that changes apart from this one */
  copy (): StateDigest {
    const other = new StateDigest()
    other.acc.set(this.acc)
    other.count = this.count
    return other
  }

  toString (): string {
    return (this.text ??= `${this.count}-${Buffer.from(this.acc.subarray(0, 16)).toString('hex')}`)
  }

  private xor (entry: Entry): void {
    this.text = undefined
    let hash = hashes.get(entry)
    if (hash === undefined) {
      hash = createHash('sha256').update(`${entry.key}\n${entry.author}\n${entry.seq}\n${entry.sig}`).digest()
      hashes.set(entry, hash)
    }
    for (let i = 0; i < 32; i++) this.acc[i] ^= hash[i]
  }
}
