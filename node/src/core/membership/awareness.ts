/**
 * Lifeguard's local health multiplier (LHM; memberlist awareness.go): a
 * score from 0 (healthy) to `max - 1`. A node that misses acks it should
 * have had, or must refute suspicions of itself, is probably the slow one:
 * it raises its score, and its probes wait `score + 1` times longer before
 * they give up or accuse anyone. Every probe answered in time lowers it.
 */
export class Awareness {
  private value = 0

  constructor (private readonly max: number) {}

  get score (): number {
    return this.value
  }

  apply (delta: number): void {
    this.value = Math.min(this.max - 1, Math.max(0, this.value + delta))
  }

  /** `ms` stretched by the current score */
  scale (ms: number): number {
    return ms * (this.value + 1)
  }
}

/**
 * This process's own event-loop lag, read from the timers membership runs
 * anyway (the probe tick, each request's timeout, the gossip tick): a timer
 * that fires more than `threshold` ms after it was due means this process
 * was starved of CPU (a loaded machine, a GC pause, a stall). While it is,
 * the acks it missed say nothing of the members it probed: it does not
 * accuse them (Lifeguard: the slow node is probably the one that notices)
 */
export class SelfLag {
  private lastAt = -Infinity

  constructor (private readonly now: () => number, private readonly threshold: number) {}

  /** a timer due at `due` fires now */
  fired (due: number): void {
    const now = this.now()
    if (now - due > this.threshold) this.lastAt = now
  }

  /** true when a timer fired late at or after `since` */
  seenSince (since: number): boolean {
    return this.lastAt >= since
  }
}
