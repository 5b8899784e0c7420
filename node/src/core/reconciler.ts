/**
 * The reconcile loop: place every desired service on the live nodes, plan
 * this node's share against the containers it observes, and carry out the
 * plan on the runtime. Runs on every relevant state change, live-set
 * change, peer replica report and runtime event (debounced), and every
 * `reconcileInterval` regardless. Failed starts back off exponentially per
 * replica, so a missing image or a crash loop never spins the node.
 */
import { place, plan, type Action, type Assignment, type DesiredService, type LocalReplica, type PeerReplica } from '@minga/scheduler'
import type { Identity, ReplicaReport, ReplicaState, Resources, ServiceId, State } from '@minga/protocol'
import type { Runtime, RuntimeContainer } from '../runtime/types.js'
import type { Clock, Timer } from './clock.js'
import type { EventLog } from './events.js'
import type { Liveness } from './liveness.js'
import type { PlacementCache } from './placement-cache.js'
import type { Timing } from './timing.js'
import { LruPlacementCache } from './placement-cache.js'
import { Semaphore } from './semaphore.js'
import { desiredServices, liveNodeInfos, memberCount } from './view.js'

export interface ReconcilerInit {
  identity: Identity
  state: State
  liveness: Liveness
  runtime: Runtime
  clock: Clock
  timing: Timing
  events: EventLog
  placementCache?: PlacementCache
  /** containers started at once, at most */
  concurrency?: number
  /** the decrypted secrets a replica of a service gets as environment (secrets.ts); throws when one is not readable here yet */
  secretEnv?: (serviceId: string) => Record<string, string> | undefined
}

export interface ReplicaProblem { service: string, replica: number, error: string, at: number, retryAt: number }

const REPORTED_STATE: Record<RuntimeContainer['state'], ReplicaState> = { created: 'pending', starting: 'starting', running: 'running', exited: 'failed' }
const BACKOFF_FIRST = 1000
const BACKOFF_MAX = 60_000
/** healthy this long after its last failure, a replica starts over with a clean record */
const STEADY_AFTER = 30_000
const DEFAULT_CONCURRENCY = 4
const RECONCILE_KEYS = ['service/', 'node/', 'cordon/', 'member/', 'revoked/']

export class Reconciler {
  private readonly cache: PlacementCache
  private readonly slots: Semaphore
  private readonly timers: Timer[] = []
  private readonly unsubscribe: Array<() => void> = []
  private readonly inFlight = new Set<string>()
  private readonly problems = new Map<string, ReplicaProblem & { failures: number }>()
  private pendingRun?: Timer
  private running = false
  private again = false
  private stopped = true
  private observed: RuntimeContainer[] = []
  private assignment: Assignment = { services: {}, unplaced: [] }
  private services: DesiredService[] = []
  readonly stats = { runs: 0, starts: 0, stops: 0, failures: 0 }

  constructor (private readonly init: ReconcilerInit) {
    this.cache = init.placementCache ?? new LruPlacementCache(1)
    this.slots = new Semaphore(init.concurrency ?? DEFAULT_CONCURRENCY)
  }

  async start (): Promise<void> {
    const { state, liveness, runtime, clock, timing } = this.init
    this.stopped = false
    this.observed = await runtime.list()
    this.unsubscribe.push(state.subscribe((applied) => {
      if (applied.some(e => RECONCILE_KEYS.some(prefix => e.key.startsWith(prefix)))) this.schedule()
    }))
    this.unsubscribe.push(liveness.onChange(() => this.schedule()))
    this.timers.push(clock.every(timing.reconcileInterval, () => this.schedule()))
    void this.watchRuntime()
    this.schedule()
  }

  async stop (): Promise<void> {
    this.stopped = true
    this.pendingRun?.cancel()
    for (const timer of this.timers.splice(0)) timer.cancel()
    for (const off of this.unsubscribe.splice(0)) off()
    this.events?.abort()
  }

  /** the last computed assignment of the whole mesh */
  currentAssignment (): Assignment {
    return this.assignment
  }

  /** the desired services as of the last pass */
  desired (): DesiredService[] {
    return this.services
  }

  containers (): RuntimeContainer[] {
    return this.observed
  }

  replicaProblems (): ReplicaProblem[] {
    return [...this.problems.values()].map(({ failures, ...p }) => p)
  }

  /** what this node reports in its heartbeat */
  replicaReport (): ReplicaReport[] {
    return this.observed.map(c => ({ service: c.service as ServiceId, replica: c.replica, hash: c.hash, state: REPORTED_STATE[c.state], healthy: isHealthy(c) }))
  }

  allocated (): Resources {
    const byId = new Map(this.services.map(s => [s.id, s.spec.resources]))
    const total = { cpu: 0, memory: 0 }
    for (const c of this.observed) {
      if (c.state === 'exited') continue
      const r = byId.get(c.service)
      if (r !== undefined) { total.cpu += r.cpu; total.memory += r.memory }
    }
    return total
  }

  schedule (): void {
    if (this.stopped || this.pendingRun !== undefined) return
    this.pendingRun = this.init.clock.after(this.init.timing.reconcileDebounce, () => {
      this.pendingRun = undefined
      void this.run()
    })
  }

  /** one reconcile pass; a pass requested while one runs happens right after it */
  async run (): Promise<Action[]> {
    if (this.running) { this.again = true; return [] }
    this.running = true
    try {
      this.stats.runs++
      const { runtime } = this.init
      this.observed = await runtime.list()
      this.forgiveSteadyReplicas()
      const actions = this.planNow()
      // stops first and to completion: a start may need the host port or the capacity they free
      await Promise.all(actions.filter(a => a.type === 'stop').map(async a => await this.execute(a)))
      for (const action of actions) if (action.type !== 'stop') void this.execute(action)
      return actions
    } catch (err: any) {
      this.stats.failures++
      return []
    } finally {
      this.running = false
      if (this.again) {
        this.again = false
        this.schedule()
      }
    }
  }

  private planNow (): Action[] {
    const { state, liveness, identity } = this.init
    this.services = desiredServices(state)
    const live = liveness.live().sort()
    const fingerprint = `${state.digest()}|${live.join(',')}`
    let assignment = this.cache.get(fingerprint)
    if (assignment === undefined) {
      assignment = place(this.services, liveNodeInfos(state, live), { memberCount: memberCount(state) })
      this.cache.set(fingerprint, assignment)
    }
    this.assignment = assignment
    const peers = new Map<string, PeerReplica[]>()
    for (const peer of live) {
      const heartbeat = liveness.peer(peer)?.heartbeat
      if (heartbeat !== undefined) peers.set(peer, heartbeat.replicas.map(r => ({ service: r.service, replica: r.replica, hash: r.hash, healthy: r.healthy })))
    }
    const observed: LocalReplica[] = this.observed.map(c => ({ containerId: c.id, service: c.service, replica: c.replica, hash: c.hash, state: c.state, health: c.health }))
    return plan({ self: identity.peerId, services: this.services, assignment, observed, peers })
  }

  private async execute (action: Action): Promise<void> {
    const key = `${action.service}#${action.replica}`
    if (this.inFlight.has(key)) return
    const problem = this.problems.get(key)
    if (action.type !== 'stop' && problem !== undefined && this.init.clock.now() < problem.retryAt) return
    this.inFlight.add(key)
    try {
      if (action.type !== 'stop') await this.slots.acquire()
      try {
        await this.carryOut(action)
      } finally {
        if (action.type !== 'stop') this.slots.release()
      }
    } finally {
      this.inFlight.delete(key)
      this.schedule()
    }
  }

  private async carryOut (action: Action): Promise<void> {
    const { runtime, clock, identity, events, liveness } = this.init
    const key = `${action.service}#${action.replica}`
    const emit = (kind: 'replica-start' | 'replica-stop' | 'replica-error', reason: string): void =>
      events.emit({ time: clock.now(), node: identity.peerId, kind, subject: key, reason })
    try {
      if (action.type === 'stop' || action.type === 'restart') {
        await runtime.stop(action.containerId)
        this.stats.stops++
        if (action.type === 'stop') emit('replica-stop', action.reason)
        // a crashed or unhealthy replica counts against its back-off, so a crash loop slows down
        else this.recordFailure(action, action.reason)
      }
      if (action.type === 'start' || action.type === 'restart') {
        const service = this.services.find(s => s.id === action.service)
        if (service === undefined) return
        const started = await runtime.start({ service: service.id, replica: action.replica, hash: service.hash, spec: service.spec, secretEnv: this.init.secretEnv?.(service.id) })
        // report it in the very next heartbeat, without waiting for the next pass to list it
        this.observed = [...this.observed.filter(c => c.id !== started.id), started]
        this.stats.starts++
        emit('replica-start', action.reason)
        // tell the mesh now: an old owner is waiting for this replica to be healthy
        liveness.beat()
      }
    } catch (err: any) {
      this.stats.failures++
      this.recordFailure(action, err.message)
      emit('replica-error', err.message)
    }
  }

  private recordFailure (action: Action, error: string): void {
    const key = `${action.service}#${action.replica}`
    const failures = (this.problems.get(key)?.failures ?? 0) + 1
    const now = this.init.clock.now()
    const retryAt = now + Math.min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (failures - 1))
    this.problems.set(key, { service: action.service, replica: action.replica, error, at: now, retryAt, failures })
  }

  /** a replica that has run healthy for a while is forgiven its past failures */
  private forgiveSteadyReplicas (): void {
    if (this.problems.size === 0) return
    const now = this.init.clock.now()
    for (const c of this.observed) {
      const key = `${c.service}#${c.replica}`
      const problem = this.problems.get(key)
      if (problem !== undefined && isHealthy(c) && now - problem.at > STEADY_AFTER) this.problems.delete(key)
    }
    const wanted = new Set(this.services.flatMap(s => Array.from({ length: s.spec.replicas }, (_, r) => `${s.id}#${r}`)))
    for (const key of this.problems.keys()) if (!wanted.has(key)) this.problems.delete(key)
  }

  private events?: AbortController

  private async watchRuntime (): Promise<void> {
    this.events = new AbortController()
    try {
      for await (const event of this.init.runtime.events({ signal: this.events.signal })) {
        if (event.type === 'die') {
          const c = this.observed.find(o => o.id === event.id)
          if (c !== undefined) this.init.events.emit({ time: this.init.clock.now(), node: this.init.identity.peerId, kind: 'replica-crash', subject: `${c.service}#${c.replica}`, reason: `exited with code ${event.exitCode}` })
        }
        this.schedule()
      }
    } catch {
      // the runtime's event stream ended; the periodic pass keeps reconciling
    }
  }
}

function isHealthy (c: RuntimeContainer): boolean {
  return c.state === 'running' && (c.health === 'healthy' || c.health === 'none')
}
