/** What a merge into the State reports, and what it takes (state.ts) */
import type { RejectCode } from './auth.js'
import type { Entry } from './entry.js'

export interface Rejection { entry: Entry, code: RejectCode, reason: string }

export interface MergeResult {
  /** entries that became the winner of their key */
  applied: Entry[]
  /** valid entries already superseded, or already held */
  ignored: number
  rejected: Rejection[]
  /** held back until the membership fact they need arrives */
  pending: number
}

export interface MergeOptions {
  /** the sender's marks, adopted for authors whose entries all merged (anti-entropy) */
  remoteMarks?: Record<string, number>
}

export type StateListener = (applied: Entry[]) => void
