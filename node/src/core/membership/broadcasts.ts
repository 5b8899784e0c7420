/**
 * Updates waiting to be piggy-backed: each is sent a limited number of
 * times (`retransmitLimit`), the least-sent first and, among those, the
 * newest first; a newer update about a member replaces the one queued
 * about it. After memberlist's TransmitLimitedQueue.
 */
import { updateBytes, type MemberUpdate } from '@minga/protocol'

interface Item {
  update: MemberUpdate
  bytes: number
  transmits: number
  /** false once replaced by a newer update about the same member */
  current: boolean
}

/**
 * Updates that do not fit the bytes left that one message looks past, at most. Updates differ by a few dozen bytes,
 * so the rest of a long queue (thousands at a mesh's boot) would hardly fit better, and scanning it for every message
 * made the queue the simulator's hottest path at 1,000 nodes
 */
const MAX_SKIPPED = 8

export class BroadcastQueue {
  /** items by transmits so far; each list newest last */
  private readonly byTransmits: Item[][] = []
  private readonly byNode = new Map<string, Item>()
  /** items in the lists, replaced ones included (they are dropped lazily) */
  private listed = 0

  get size (): number {
    return this.byNode.size
  }

  /** queue an update (frozen: it is sent as it is, and the wire checks a frozen update once), replacing the one queued about the same member */
  push (update: MemberUpdate): void {
    Object.freeze(update)
    const previous = this.byNode.get(update.node)
    if (previous !== undefined) previous.current = false
    const item: Item = { update, bytes: updateBytes(update), transmits: 0, current: true }
    this.byNode.set(update.node, item)
    this.bucket(0).push(item)
    this.listed++
    if (this.listed > 4 * this.byNode.size + 64) this.compact()
  }

  /** the queued update about a member, if any */
  peek (node: string): MemberUpdate | undefined {
    return this.byNode.get(node)?.update
  }

  /**
   * Updates for one message, within `budget` bytes: each counts as sent once,
   * and is dropped once sent `limit` times
   */
  take (budget: number, limit: number): MemberUpdate[] {
    const out: MemberUpdate[] = []
    const moved: Item[] = []
    let left = budget
    for (let t = 0; t < this.byTransmits.length && left > 0; t++) {
      const list = this.byTransmits[t]
      const skipped: Item[] = []
      while (list.length > 0 && left > 0 && skipped.length < MAX_SKIPPED) {
        const item = list.pop()!
        this.listed--
        if (!item.current) continue
        if (item.bytes > left) { skipped.push(item); continue }
        left -= item.bytes
        out.push(item.update)
        item.transmits++
        if (item.transmits >= limit) this.forget(item)
        else moved.push(item)
      }
      // newest last again: what was skipped goes back in the order it came
      for (let i = skipped.length - 1; i >= 0; i--) list.push(skipped[i])
      this.listed += skipped.length
    }
    for (const item of moved) this.bucket(item.transmits).push(item)
    this.listed += moved.length
    return out
  }

  clear (): void {
    this.byTransmits.length = 0
    this.byNode.clear()
    this.listed = 0
  }

  /** drop the replaced items that wait in lists no message reached */
  private compact (): void {
    for (const list of this.byTransmits) {
      const kept = list.filter(item => item.current)
      list.length = 0
      list.push(...kept)
    }
    this.listed = this.byNode.size
  }

  private forget (item: Item): void {
    item.current = false
    if (this.byNode.get(item.update.node) === item) this.byNode.delete(item.update.node)
  }

  private bucket (transmits: number): Item[] {
    while (this.byTransmits.length <= transmits) this.byTransmits.push([])
    return this.byTransmits[transmits]
  }
}
