/**
 * Warm standbys. The scheduler names each replica's standby: the node that
 * would take it over if its owner were gone (the next in its rendezvous
 * order, `Assignment.standby`). On that node the replica's image is kept
 * present (a pinned one fetched from the mesh) and its container created, not started (`Runtime.prepare`): it
 * costs disk, no CPU, no memory and binds no port. When the owner dies the
 * planner starts the replica here as usual, and the runtime starts the
 * created container instead of creating one (Docker's create is about half
 * of a cold start on a busy host).
 *
 * Only for services whose spec allows it (`standbyWanted`: not singletons
 * nor named volumes, whose one copy moves with a restore). A standby whose
 * spec changed (another container hash), whose replica moved elsewhere, or
 * whose service is gone is removed; after a restart the node finds its
 * standbys in the runtime's listing and keeps or removes them alike, so none
 * is left behind. A standby is never a replica: `ps` and the node's reports
 * see only containers that were started.
 */
import { standbyWanted } from '@minga/protocol'
import type { Assignment, DesiredService } from '@minga/scheduler'
import type { ReplicaSpec, Runtime, RuntimeContainer } from '../../runtime/types.js'
import type { ImageHooks } from '../images/types.js'
import { errorText, type Logger } from '../logger.js'
import { replicaKey } from './replicas.js'
import { standbysOn } from './assignment-index.js'

/** a standby that could not be created is tried again after this long */
export const STANDBY_RETRY_MS = 30_000

export interface StandbyView {
  assignment: Assignment
  services: ReadonlyMap<string, DesiredService>
  /** this node's containers that are not standbys */
  replicas: readonly RuntimeContainer[]
  /** this node's standbys, as listed */
  standbys: readonly RuntimeContainer[]
}

export interface StandbyInit {
  runtime: Runtime
  /** this node's peer id */
  self: string
  now: () => number
  log: Logger
  /** the images room: a pinned image is fetched from the mesh for the standby as for a start */
  images?: Pick<ImageHooks, 'prepare'>
  /** a replica's extras (secrets, files); throws when one is not here yet */
  inputs?: (spec: DesiredService['spec']) => Pick<ReplicaSpec, 'secretEnv' | 'files'>
  /** true while a start of that replica (`org/name#r`) is under way here: its standby is left to it */
  starting: (key: string) => boolean
}

/** keeps this node's warm standbys in line with the assignment (see above); one sync at a time, the latest view wins */
export class WarmStandbys {
  private running = false
  private next?: StandbyView
  /** key → when a failed prepare may be tried again */
  private readonly failed = new Map<string, number>()

  constructor (private readonly init: StandbyInit) {}

  /** bring the standbys in line with `view` in the background */
  sync (view: StandbyView): void {
    if (this.init.runtime.prepare === undefined) return
    this.next = view
    if (this.running) return
    this.running = true
    void this.drain().finally(() => { this.running = false })
  }

  /** the standbys this node should keep: replica key → its service */
  wanted (view: StandbyView): Map<string, { service: DesiredService, replica: number }> {
    const { self } = this.init
    const out = new Map<string, { service: DesiredService, replica: number }>()
    const here = new Set(view.replicas.map(c => replicaKey(c.service, c.replica)))
    // the assignment's index by node (assignment-index.ts): this node's share, not the whole mesh's
    for (const { service: id, replica } of standbysOn(view.assignment, self)) {
      const service = view.services.get(id)
      if (service === undefined || !standbyWanted(service.spec)) continue
      const key = replicaKey(id, replica)
      if (view.assignment.services[id]?.[replica] !== self && !here.has(key)) out.set(key, { service, replica })
    }
    return out
  }

  private async drain (): Promise<void> {
    while (this.next !== undefined) {
      const view = this.next
      this.next = undefined
      await this.once(view)
    }
  }

  private async once (view: StandbyView): Promise<void> {
    const { runtime, now, log } = this.init
    const wanted = this.wanted(view)
    for (const c of view.standbys) {
      const key = replicaKey(c.service, c.replica)
      const want = wanted.get(key)
      if (want !== undefined && want.service.hash === c.hash) { wanted.delete(key); continue }
      // a replica that just became this node's: its start takes this very container
      const mine = view.assignment.services[c.service]?.[c.replica] === this.init.self && view.services.get(c.service)?.hash === c.hash
      if (mine || this.init.starting(key)) continue
      await runtime.stop(c.id, { graceMs: 0 }).catch((err: unknown) => { log.error('removing the standby of %s failed: %s', key, errorText(err)) })
    }
    for (const [key, { service, replica }] of wanted) {
      if ((this.failed.get(key) ?? 0) > now() || this.init.starting(key)) continue
      try {
        await this.init.images?.prepare(service.spec)
        await runtime.prepare?.({ service: service.id, replica, hash: service.hash, spec: service.spec, ...this.init.inputs?.(service.spec) })
        this.failed.delete(key)
      } catch (err) {
        this.failed.set(key, now() + STANDBY_RETRY_MS)
        log.error('the standby of %s could not be created (a failover will create it): %s', key, errorText(err))
      }
    }
    for (const key of this.failed.keys()) if (!wanted.has(key)) this.failed.delete(key)
  }
}

/** a listing of the runtime, its standbys apart: they are never replicas */
export function splitStandbys (list: RuntimeContainer[]): { replicas: RuntimeContainer[], standbys: RuntimeContainer[] } {
  return { replicas: list.filter(c => c.standby !== true), standbys: list.filter(c => c.standby === true) }
}
