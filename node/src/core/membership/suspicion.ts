/**
 * One member's suspicion timer (Lifeguard's dogpile, memberlist's
 * suspicion.go): it starts at `max` and shrinks towards `min` as other
 * members confirm the suspicion independently, each counted once; the
 * accuser that started it never counts. When it runs out, `expire` is
 * called with the confirmations seen.
 */
import type { Clock, Timer } from '../clock.js'
import { remainingSuspicion } from './config.js'

export class Suspicion {
  private readonly confirmedBy = new Set<string>()
  private confirmations = 0
  private readonly startedAt: number
  private timer: Timer

  constructor (
    private readonly clock: Clock,
    accuser: string,
    /** confirmations that bring it down to `min` */
    private readonly wanted: number,
    private readonly min: number,
    private readonly max: number,
    private readonly expire: (confirmations: number) => void
  ) {
    this.confirmedBy.add(accuser)
    this.startedAt = clock.now()
    this.timer = clock.after(wanted < 1 ? min : max, () => this.expire(this.confirmations))
  }

  get count (): number {
    return this.confirmations
  }

  /** true when this is a new, independent confirmation (worth passing on) */
  confirm (from: string): boolean {
    if (this.confirmations >= this.wanted || this.confirmedBy.has(from)) return false
    this.confirmedBy.add(from)
    this.confirmations++
    const remaining = remainingSuspicion(this.confirmations, this.wanted, this.clock.now() - this.startedAt, this.min, this.max)
    this.timer.cancel()
    this.timer = this.clock.after(Math.max(0, remaining), () => this.expire(this.confirmations))
    return true
  }

  cancel (): void {
    this.timer.cancel()
  }
}
