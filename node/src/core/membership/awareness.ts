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
