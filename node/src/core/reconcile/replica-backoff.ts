/**
 * Per-replica failure records for the reconciler: a replica whose start
 * fails (missing image, engine refusal) or that crashes waits before its
 * next start, twice as long after each failure up to a minute, so a crash
 * loop or a missing image never spins the node. The last error is what
 * `minga ps` shows as the replica's problem. A replica that runs healthy for
 * a while is forgiven. A replica the placement takes away keeps its record
 * for as long (STEADY_AFTER): a placement that flaps away and back, as when a
 * peer is suspected on a loaded machine, must not start a failing replica's
 * back-off over at 1 s.
 */
import type { HealthProbe } from '@minga/protocol'
import { replicaKey } from './replicas.js'

export interface ReplicaProblem extends FailureDetails { service: string, replica: number, error: string, at: number, retryAt: number }

/** how a replica failed: `ran` when a copy ran and then crashed or failed its health check (else it could not start), with its last probe */
export interface FailureDetails { ran?: boolean, probe?: HealthProbe }

export const BACKOFF_FIRST = 1000
export const BACKOFF_MAX = 60_000
/** healthy this long after its last failure, a replica starts over with a clean record */
export const STEADY_AFTER = 30_000

/**
 * Failure records per replica (see above): `fail` returns when it may start again (1 s doubling to 60 s),
 * `waiting` says whether it must wait, `forgive` clears replicas healthy for 30 s or no longer wanted
 */
export class ReplicaBackoff {
  private readonly records = new Map<string, ReplicaProblem & { failures: number }>()
  /** the replicas wanted on this node at the last `forgive`; undefined before the first */
  private wanted: Set<string> | undefined

  get size (): number {
    return this.records.size
  }

  /** record a failure; returns when the replica may start again */
  fail (service: string, replica: number, error: string, now: number, how: FailureDetails = {}): number {
    const key = replicaKey(service, replica)
    const failures = (this.records.get(key)?.failures ?? 0) + 1
    const retryAt = now + Math.min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (failures - 1))
    this.records.set(key, { service, replica, error, at: now, retryAt, failures, ...how })
    return retryAt
  }

  /** true while the replica must not be started */
  waiting (key: string, now: number): boolean {
    const record = this.records.get(key)
    return record !== undefined && now < record.retryAt
  }

  /**
   * forget replicas that ran healthy for STEADY_AFTER since their last
   * failure, and replicas that have not been wanted since STEADY_AFTER after it
   */
  forgive (healthy: Iterable<string>, wanted: Set<string>, now: number): void {
    this.wanted = wanted
    if (this.records.size === 0) return
    for (const key of healthy) {
      const record = this.records.get(key)
      if (record !== undefined && now - record.at > STEADY_AFTER) this.records.delete(key)
    }
    for (const [key, record] of this.records) if (!wanted.has(key) && now - record.at > STEADY_AFTER) this.records.delete(key)
  }

  /** the problems of the replicas wanted here (a record kept for one placed elsewhere is not this node's problem) */
  list (): ReplicaProblem[] {
    return [...this.records].filter(([key]) => this.wanted?.has(key) ?? true).map(([, { failures, ...problem }]) => problem)
  }
}
