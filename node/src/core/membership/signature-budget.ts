/**
 * How many alive signatures this node checks for each sender: a token
 * bucket per sender, a burst of 128 then 64 a second, for the last 256
 * senders, so a member cannot make it verify floods of forged updates.
 */
import type { Clock } from '../clock.js'

const VERIFY_BURST = 128
const VERIFY_PER_SECOND = 64
const VERIFY_SENDERS = 256

export class SignatureBudget {
  private readonly budgets = new Map<string, { tokens: number, at: number }>()

  constructor (private readonly clock: Clock) {}

  /** spends one check of `from`'s budget: false when it has none left */
  spend (from: string): boolean {
    const now = this.clock.now()
    let budget = this.budgets.get(from)
    if (budget === undefined) {
      if (this.budgets.size >= VERIFY_SENDERS) this.budgets.delete(this.budgets.keys().next().value as string)
      this.budgets.set(from, budget = { tokens: VERIFY_BURST, at: now })
    }
    budget.tokens = Math.min(VERIFY_BURST, budget.tokens + (now - budget.at) * VERIFY_PER_SECOND / 1000)
    budget.at = now
    if (budget.tokens < 1) return false
    budget.tokens--
    return true
  }
}
