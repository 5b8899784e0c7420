/**
 * Events that no single call site emits, found by watching the core once a
 * second (no I/O, no hooks into the loops of others):
 *   - placement: a replica placed on this node, and why it moved here; a
 *     replica that cannot be placed (said by one node only: the live
 *     member with the lowest id, so a mesh-wide read shows it once)
 *   - replica-healthy / replica-unhealthy: health changes of this node's containers
 *   - entry-rejected: entries refused by this node's state, with the reason
 *     (at most a few a second; a flood becomes one summary event)
 *   - node-removed: a removal this node wrote
 *   - state drift: how long each live peer's heartbeat has shown another
 *     state digest than this node holds (`disagreeingFor`); a drift that
 *     outlasts `DRIFT_AFTER_MS` is an event, and a problem for `minga status`
 *   - sync: anti-entropy had to pull entries (the state had drifted), at most once a
 *     minute, and not in the node's first minute (catching up after a start is routine)
 *   - clock: this node's clock went beyond a few seconds from the mesh's, or
 *     beyond the drift bound, or came back (clock-offset.ts; looked at every 10 s)
 */
import type { State } from '@minga/protocol'
import type { Assignment } from '@minga/scheduler'
import type { RuntimeContainer } from '../../runtime/types.js'
import type { Clock, Timer } from '../clock.js'
import type { EventSink } from '../components.js'
import { replicaKeysOn } from '../reconcile/assignment-index.js'
import type { EventKind } from './event-log.js'

export interface EventWatchInit {
  self: string
  state: State
  clock: Clock
  events: EventSink
  assignment: () => Assignment
  containers: () => RuntimeContainer[]
  status: (peer: string) => 'alive' | 'suspect' | 'dead'
  live: () => readonly string[]
  syncPulled: () => number
  /** this node's state digest, and each peer's as its last probe said (peers `status` calls dead are left out) */
  digest: () => string
  peerDigests: () => ReadonlyMap<string, string>
  /** what this node's offset from the mesh's clock means now (clock-offset.ts) */
  clockVerdict?: () => { level: 'ok' | 'warn' | 'refused', text: string }
  intervalMs?: number
}

const MAX_REJECTION_EVENTS_PER_TICK = 5
/** a state difference that lasts longer than this is not convergence in progress */
export const DRIFT_AFTER_MS = 15_000
const SYNC_EVENT_EVERY_MS = 60_000
/** catching up right after a start or a join is routine, not news */
const SYNC_QUIET_AFTER_START_MS = 60_000
/**
 * the clock is looked at every this many ticks (10 s): a clock drifts over hours, and one stepped by hand is told
 * within the 10 s; its estimate is a median over up to 64 peers' samples, a tenth of a quiet node's CPU at 1,000
 * members when it ran every second
 */
const CLOCK_EVERY_TICKS = 10

/**
 * Emits what no call site does (see above) by looking at the core every `intervalMs` (default 1 s);
 * `disagreeingFor(peer)` says how long a peer has shown another state digest
 */
export class EventWatch {
  private timer?: Timer
  private unsubscribe?: () => void
  private lastAssignment?: Assignment
  private unplaced = new Set<string>()
  private health = new Map<string, string>()
  private rejected = 0
  private pulled = 0
  private lastSyncEvent = 0
  private readonly drift = new Map<string, { since: number, told: boolean }>()
  private startedAt = 0
  private clockLevel = 'ok'
  private ticks = 0

  constructor (private readonly init: EventWatchInit) {}

  start (): void {
    this.rejected = total(this.init.state.stats().rejected)
    this.pulled = this.init.syncPulled()
    this.startedAt = this.init.clock.now()
    this.timer = this.init.clock.every(this.init.intervalMs ?? 1000, () => this.tick())
    this.unsubscribe = this.init.state.subscribe((applied) => {
      for (const entry of applied) {
        if (entry.key.startsWith('revoked/') && entry.author === this.init.self && entry.tombstone !== true) {
          this.emit('node-removed', entry.key.slice('revoked/'.length), 'removed from the mesh by this node')
        }
      }
    })
  }

  stop (): void {
    this.timer?.cancel()
    this.unsubscribe?.()
  }

  tick (): void {
    this.watchPlacement()
    this.watchHealth()
    this.watchRejections()
    this.watchSync()
    this.watchDrift()
    if (this.ticks++ % CLOCK_EVERY_TICKS === 0) this.watchClock()
  }

  private watchClock (): void {
    const verdict = this.init.clockVerdict?.()
    if (verdict === undefined || verdict.level === this.clockLevel) return
    this.clockLevel = verdict.level
    this.emit('clock', this.init.self, verdict.level === 'ok' ? 'this node\'s clock agrees with the mesh again' : verdict.text)
  }

  /** ms for which `peer`'s heartbeats have shown another state than this node's (0: they agree) */
  disagreeingFor (peer: string): number {
    const drift = this.drift.get(peer)
    return drift === undefined ? 0 : this.init.clock.now() - drift.since
  }

  private watchDrift (): void {
    const now = this.init.clock.now()
    const digest = this.init.digest()
    // every second of every node: peers that agree (nearly all) cost a comparison, no allocation and no status look-up
    let seen: Set<string> | undefined
    // forEach: an entries() loop allocates a pair per peer
    this.init.peerDigests().forEach((theirs, id) => {
      if (theirs === digest || this.init.status(id) === 'dead') return
      ;(seen ??= new Set()).add(id)
      const drift = this.drift.get(id) ?? { since: now, told: false }
      this.drift.set(id, drift)
      if (!drift.told && now - drift.since > DRIFT_AFTER_MS) {
        drift.told = true
        this.emit('sync', id, `its state has differed from this node's for ${Math.round((now - drift.since) / 1000)} s (anti-entropy should have healed it; see rejected entries)`)
      }
    })
    for (const id of this.drift.keys()) if (seen?.has(id) !== true) this.drift.delete(id)
  }

  private watchPlacement (): void {
    const assignment = this.init.assignment()
    const previous = this.lastAssignment
    if (assignment === previous) return
    this.lastAssignment = assignment
    const { self } = this.init
    if (previous !== undefined) {
      // only this node's share: every node reports what moved to it
      const before = new Set(replicaKeysOn(previous, self))
      for (const key of replicaKeysOn(assignment, self)) {
        if (before.has(key)) continue
        const at = key.lastIndexOf('#')
        const from = previous.services[key.slice(0, at)]?.[Number(key.slice(at + 1))]
        const reason = from === undefined
          ? 'placed here (new replica)'
          : from === null ? 'placed here; it could not be placed before' : `moved here from ${from.slice(-8)}: ${this.whyMoved(from)}`
        this.emit('placement', key, reason)
      }
    }
    const unplaced = new Set(assignment.unplaced.map(u => `${u.service}#${u.replica}`))
    // live() is sorted: its first member reports what cannot be placed, once for the mesh
    const reporter = this.init.live()[0] === self
    if (previous !== undefined && reporter) {
      for (const u of assignment.unplaced) {
        const key = `${u.service}#${u.replica}`
        if (!this.unplaced.has(key)) this.emit('placement', key, `cannot be placed: ${u.reason}`)
      }
    }
    this.unplaced = unplaced
  }

  private whyMoved (from: string): string {
    if (this.init.state.revoked(from) !== undefined) return 'that node was removed'
    if (this.init.status(from) === 'dead') return 'that node is dead'
    if (this.init.state.value(`cordon/${from}`) !== undefined) return 'that node is cordoned'
    return 'rebalanced after nodes or capacity changed'
  }

  private watchHealth (): void {
    const seen = new Map<string, string>()
    for (const c of this.init.containers()) {
      const now = c.state === 'running' ? c.health : c.state
      seen.set(c.id, now)
      const before = this.health.get(c.id)
      if (before === undefined || before === now) continue
      const subject = `${c.service}#${c.replica}`
      if (now === 'healthy') this.emit('replica-healthy', subject, 'health check passes')
      else if (now === 'unhealthy') this.emit('replica-unhealthy', subject, 'health check fails')
    }
    this.health = seen
  }

  private watchRejections (): void {
    const { state } = this.init
    const count = total(state.stats().rejected)
    const fresh = count - this.rejected
    if (fresh <= 0) return
    this.rejected = count
    const recent = state.recentRejections.slice(-Math.min(fresh, MAX_REJECTION_EVENTS_PER_TICK))
    for (const r of recent) this.emit('entry-rejected', r.entry.key, `${r.code}: ${r.reason} (written by ${r.entry.author.slice(-8)})`)
    if (fresh > recent.length) this.emit('entry-rejected', '*', `${fresh - recent.length} more entries rejected in the last second; "minga status" and the metrics count them by reason`)
  }

  private watchSync (): void {
    const pulled = this.init.syncPulled()
    const now = this.init.clock.now()
    if (pulled <= this.pulled || now - this.lastSyncEvent < SYNC_EVENT_EVERY_MS) return
    if (now - this.startedAt < SYNC_QUIET_AFTER_START_MS) { this.pulled = pulled; return }
    this.emit('sync', 'state', `anti-entropy pulled ${pulled - this.pulled} entries this node lacked (lost gossip or a healed partition)`)
    this.pulled = pulled
    this.lastSyncEvent = now
  }

  private emit (kind: EventKind, subject: string, reason: string): void {
    this.init.events.emit({ time: this.init.clock.now(), node: this.init.self, kind, subject, reason })
  }
}

function total (counts: Record<string, number>): number {
  let sum = 0
  for (const n of Object.values(counts)) sum += n
  return sum
}
