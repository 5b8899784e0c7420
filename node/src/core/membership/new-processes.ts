/**
 * Members whose new process (a restart) this node has heard of only
 * second-hand, in another member's gossip or table. The addresses it would
 * dial may still be the last process's (a restarted node may listen on
 * another port), so a refused dial says nothing of the new process until it
 * is heard from directly: then libp2p's identify has told its addresses.
 * memberlist carries the address in each alive message instead; minga's
 * alive updates carry none.
 *
 * Memory: one entry per such member, dropped when it is heard from, and
 * every entry older than the grace dropped whenever one is added.
 */
import type { Clock } from '../clock.js'

export class NewProcesses {
  /** member -> when its new process was heard of second-hand, ms */
  private readonly unheard = new Map<string, number>()

  constructor (private readonly clock: Clock, private readonly grace: number) {}

  /** a new process of `node`, heard of second-hand */
  heardOf (node: string): void {
    const now = this.clock.now()
    for (const [other, at] of this.unheard) if (now - at >= this.grace) this.unheard.delete(other)
    this.unheard.set(node, now)
  }

  /** `node` answered or asked this node directly: its current addresses are known */
  heardFrom (node: string): void {
    this.unheard.delete(node)
  }

  /**
   * whether a refused dial of `node` may be its last process's address: its new process was heard of second-hand
   * less than the grace ago and has not been heard from since
   */
  unconfirmed (node: string): boolean {
    const at = this.unheard.get(node)
    return at !== undefined && this.clock.now() - at < this.grace
  }
}
