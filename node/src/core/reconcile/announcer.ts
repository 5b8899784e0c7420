/**
 * Tells the mesh at once when what this node runs changed: a heartbeat now
 * (peers wait on it: an old owner stops a moved replica only once the new
 * owner reports it healthy), but never faster than peers accept heartbeats.
 */
import type { ReplicaReport } from '@minga/protocol'
import type { Clock, Timer } from '../clock.js'
import type { HeartbeatSender } from '../components.js'
import type { Timing } from '../timing.js'
import { reportKey } from './replicas.js'

/** peers drop heartbeats that come faster than a quarter period; stay clear of that */
const MIN_BEAT_SHARE = 0.3

export class Announcer {
  private pending?: Timer

  constructor (private readonly init: { liveness: HeartbeatSender, clock: Clock, timing: Timing, report: () => ReplicaReport[], stopped: () => boolean }) {}

  /** a heartbeat now when the report changed since the last one (or as soon as peers accept one) */
  announce (): void {
    const { liveness, clock, timing } = this.init
    if (this.init.stopped()) return
    const report = reportKey(this.init.report())
    const last = liveness.own()
    if (last !== undefined && reportKey(last.replicas) === report) return
    if (this.pending !== undefined) return
    const gap = timing.heartbeatInterval * MIN_BEAT_SHARE
    const wait = last === undefined ? 0 : last.time + gap - clock.now()
    if (wait <= 0) {
      liveness.beat()
      return
    }
    this.pending = clock.after(wait, () => {
      this.pending = undefined
      this.announce()
    })
  }

  stop (): void {
    this.pending?.cancel()
  }
}
