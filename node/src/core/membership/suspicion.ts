/**
 * One member's suspicion timer (Lifeguard's dogpile, memberlist's
 * suspicion.go): it starts at `max` and shrinks towards `min` as other
 * members confirm the suspicion independently, each counted once; the
 * accuser that started it never counts. When it runs out, `expire` is
 * called with the confirmations seen. With nobody left to confirm it
 * (`wanted` 0: a 2-node mesh, or every other member down) it runs its
 * longest: memberlist takes the shortest there, which in a small mesh kills
 * a member that merely stalled for two seconds on a loaded machine.
 */
import type { Clock, Timer } from '../clock.js'
import { remainingSuspicion } from './config.js'

/** a timer this late means this node stalled (its CPU, a GC pause), ms */
const STALLED_MS = 1000

export class Suspicion {
  private readonly confirmedBy = new Set<string>()
  private confirmations = 0
  private readonly startedAt: number
  private timer: Timer

  constructor (
    private readonly clock: Clock,
    /** who started it (never counted); undefined: nobody known (a peer's dead row), every confirmation counts */
    accuser: string | undefined,
    /** confirmations that bring it down to `min` */
    private readonly wanted: number,
    private readonly min: number,
    private readonly max: number,
    private readonly expire: (confirmations: number) => void
  ) {
    if (accuser !== undefined) this.confirmedBy.add(accuser)
    this.startedAt = clock.now()
    this.timer = this.arm(max)
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
    this.timer = this.arm(Math.max(0, remaining))
    return true
  }

  /**
   * After a stall of this node, its late timers fire before the messages
   * that waited meanwhile (Node's timers phase runs before its poll phase):
   * a timer that fires more than STALLED_MS late waits once more as long as
   * it was late (up to `min`), so a refutation already on its way counts
   */
  private arm (ms: number, regraced = false): Timer {
    const due = this.clock.now() + ms
    return this.clock.after(ms, () => {
      const late = this.clock.now() - due
      if (late > STALLED_MS && !regraced) this.timer = this.arm(Math.min(late, this.min), true)
      else this.expire(this.confirmations)
    })
  }

  cancel (): void {
    this.timer.cancel()
  }
}
