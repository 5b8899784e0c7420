/**
 * The reconcile loop: place every desired service on the live nodes, plan
 * this node's share against the containers it observes, and carry out the
 * plan on the runtime. Runs on every relevant state change, live-set
 * change that touches this node's share, peer replica report its plan
 * reads (both share.ts) and runtime event (debounced), and every
 * `reconcileInterval` regardless. Failed starts back off exponentially per
 * replica (replica-backoff.ts), so a missing image or a crash loop never
 * spins the node.
 *
 * Stops run in the background: a replica that takes its grace period to
 * stop holds up only the starts that need what it frees (its own slot, or
 * host ports), never the loop. Whenever what this node runs changes, it
 * tells the nodes concerned at once (membership's replica records), because
 * they wait on it: an old owner stops a moved replica only once the new
 * owner reports it healthy, and a rolling update takes its next step only
 * once the last one serves. Only a singleton waits for what the nodes
 * concerned run of it before it starts (start-holds.ts).
 */
import { MemberPlacement, plan, type Action, type Assignment, type DesiredService, type LocalReplica, type PeerReplica } from '@minga/scheduler'
import { isHostModePort, type ReplicaProblemReport, type ReplicaReport, type Resources, type ServiceSpec } from '@minga/protocol'
import type { ReplicaSpec, Runtime, RuntimeContainer } from '../../runtime/types.js'
import type { Timer } from '../clock.js'
import type { CoreComponents, LiveSet, ReconcileView, ReplicaNote, ReplicaReports, VolumeHooks } from '../components.js'
import type { ImageHooks } from '../images/types.js'
import { allocatedBy, problemsForReport } from './own-report.js'
import { errorText, type Logger } from '../logger.js'
import { SerialTask } from '../task.js'
import { audienceOf, servicesOn } from './assignment-index.js'
import { memberList, setOfList } from '../membership/shared-lists.js'
import { ContainerChanges } from './container-changes.js'
import { desiredServices, memberCount, nodeInfos } from './desired.js'
import { LruPlacementCache, type PlacementCache } from './placement-cache.js'
import { OwnStops } from './own-stops.js'
import { ReplicaBackoff, type FailureDetails } from './replica-backoff.js'
import { replicaNotes, runNote, waitingNotes, withWaits } from './replica-notes.js'
import { isHealthy, replicaKey, replicaReports, servicesById } from './replicas.js'
import { watchRuntime } from './runtime-watch.js'
import { Semaphore } from './semaphore.js'
import { SingletonFences } from './singleton-fences.js'
import { readsReports, ShareWatch } from './share.js'
import { splitStandbys, WarmStandbys } from './standby.js'
import { heldStarts } from './start-holds.js'

export type { ReplicaNote } from '../components.js'

export interface ReconcilerComponents extends CoreComponents {
  /** who is live, what the peers concerned run, and where to tell what this node runs */
  liveness: LiveSet & ReplicaReports
  runtime: Runtime
  /** shared between nodes that see the same inputs (the simulator); default: this node's last placement */
  placementCache?: PlacementCache
  /** containers started at once, at most */
  concurrency?: number
  /** a replica's extras beyond its spec: secrets as environment, files with their content; throws when one is not here yet (retried with back-off) */
  inputs?: (spec: ServiceSpec) => Pick<ReplicaSpec, 'secretEnv' | 'files'>
  /** the images room: a pinned image fetched from the mesh before a start */
  images?: ImageHooks
  /** the volumes room: restores before a start, final snapshots after a stop */
  volumes?: VolumeHooks
}

const DEFAULT_CONCURRENCY = 4
const RECONCILE_KEYS = ['service/', 'node/', 'cordon/', 'member/', 'revoked/']

interface View { fingerprint: string, live: readonly string[], services: DesiredService[], assignment: Assignment, previous?: Assignment }

/**
 * The reconcile loop (see above): `start()` lists the runtime and watches it, state and liveness; each pass places,
 * plans this node's share and carries it out; `run()` is one pass now. Failures back off per replica and become notes
 */
export class Reconciler implements ReconcileView {
  private readonly cache: PlacementCache
  private readonly slots: Semaphore
  private readonly timers: Timer[] = []
  private readonly unsubscribe: Array<() => void> = []
  /** service#replica of starts and restarts under way */
  private readonly inFlight = new Set<string>()
  /** stops under way, by container id */
  private readonly stopping = new Map<string, { key: string, ports: boolean, done: Promise<void> }>()
  /** containers this node stopped itself: their exit is a stop, not a crash */
  private readonly ownStops = new OwnStops()
  private readonly backoff = new ReplicaBackoff()
  private retryTimer?: { at: number, timer: Timer }
  private watcher?: AbortController
  private stopped = true
  /** this node's containers */
  private observed: RuntimeContainer[] = []
  /** this node's warm standbys (created, not started) */
  private standbys: RuntimeContainer[] = []
  private readonly warm: WarmStandbys
  private view?: View
  /** what the last pass read, and whether a live-set change touches it */
  private readonly share: ShareWatch
  private readonly fences: SingletonFences
  private readonly changes = new ContainerChanges()
  /** passes run, and what they did */
  readonly stats = { runs: 0, starts: 0, stops: 0, failures: 0 }

  private readonly log: Logger
  private readonly pass: SerialTask<Action[]>

  constructor (private readonly init: ReconcilerComponents) {
    this.log = init.logger.forComponent('reconcile')
    this.share = new ShareWatch(init.identity.peerId, init.liveness)
    this.pass = new SerialTask(init.clock, init.timing.reconcileDebounce, async () => await this.reconcile(), () => [])
    this.cache = init.placementCache ?? new LruPlacementCache(1)
    this.slots = new Semaphore(init.concurrency ?? DEFAULT_CONCURRENCY)
    this.fences = new SingletonFences({ liveness: init.liveness, clock: init.clock, fence: init.timing.singletonFence, passAt: (at) => this.passAt(at) })
    this.warm = new WarmStandbys({ runtime: init.runtime, self: init.identity.peerId, now: () => init.clock.now(), log: this.log, inputs: init.inputs, images: init.images, starting: (key) => this.inFlight.has(key) })
  }

  async start (): Promise<void> {
    const { state, liveness, runtime, clock, timing } = this.init
    this.stopped = false
    this.pass.start()
    ;({ replicas: this.observed, standbys: this.standbys } = splitStandbys(await runtime.list()))
    this.unsubscribe.push(state.subscribe((applied) => {
      if (applied.some(e => RECONCILE_KEYS.some(prefix => e.key.startsWith(prefix)))) this.schedule()
    }))
    // a live-set change matters only if it touches this node's share (share.ts), checked when the debounced pass would start
    // (not at each change: a burst places once); a peer's changed replicas only for services whose plan here reads them
    this.unsubscribe.push(liveness.onChange((change) => {
      if ([...change.services].some(service => readsReports(service, this.init.identity.peerId, this.view, this.observed))) this.schedule()
      else if (change.status) this.pass.schedule()
    }))
    this.timers.push(clock.every(timing.reconcileInterval, () => this.schedule()))
    void watchRuntime(this.init, {
      stopped: () => this.stopped,
      find: (id) => this.observed.find(o => o.id === id),
      ownStop: (id) => this.ownStops.has(id),
      changed: () => this.schedule(),
      watching: (controller) => { this.watcher = controller }
    })
    this.schedule()
  }

  async stop (): Promise<void> {
    this.stopped = true
    this.pass.stop()
    this.retryTimer?.timer.cancel()
    for (const timer of this.timers.splice(0)) timer.cancel()
    for (const off of this.unsubscribe.splice(0)) off()
    this.watcher?.abort()
  }

  /** the assignment of the whole mesh for the current state and live set */
  currentAssignment (): Assignment { return this.refresh().assignment }

  /** the desired services of the current state (not of the last pass: a deploy shows at once) */
  desired (): DesiredService[] { return this.refresh().services }

  containers (): RuntimeContainer[] { return this.observed }

  /** `listener` runs when this node's containers (their state, health or address) may have changed; returns its remover */
  onContainers (listener: () => void): () => void { return this.changes.on(listener) }

  /** what is wrong with the replicas here, as it stands now (replica-notes.ts), the restores under way and the replicas waiting for their image */
  replicaProblems (): ReplicaNote[] {
    const now = this.init.clock.now()
    const restoring: ReplicaNote[] = (this.init.volumes?.restoreNotes() ?? []).map(n => ({ service: n.service, replica: n.replica, error: n.text, at: now }))
    const waits = this.init.images?.notes() ?? []
    const waiting = withWaits(restoring, waits.length === 0 ? [] : waitingNotes(waits, this.refresh().assignment, this.init.identity.peerId, this.observed, now))
    if (this.backoff.size === 0 && !this.observed.some(c => c.health === 'unhealthy')) return waiting
    const byId = servicesById(this.refresh().services)
    // a restore or an image on its way says more than the failure that came before it
    return withWaits(waiting, replicaNotes({ failures: this.backoff.list(), containers: this.observed, hashOf: (id) => byId.get(id)?.hash, now }))
  }

  /** stops a container so that the next pass starts its replica again (volumes: a newer snapshot chosen elsewhere, restored at the start) */
  restartReplica (containerId: string, reason: string): void {
    const c = this.observed.find(o => o.id === containerId)
    if (c === undefined) return
    this.stopInBackground({ type: 'stop', containerId, service: c.service, replica: c.replica, reason, cause: 'restore' })
  }

  /** the notes of replicas this node runs or is assigned, for its report: every node's `minga ps` shows them */
  problemReport (): ReplicaProblemReport[] {
    const assignment = this.view?.assignment
    return assignment === undefined ? [] : problemsForReport(this.replicaProblems(), assignment, this.init.identity.peerId, this.observed)
  }

  /** what this node runs, as its report says */
  replicaReport (): ReplicaReport[] { return replicaReports(this.observed) }

  allocated (): Resources {
    // the services of the last placement: a report asks, and a fresh view costs a pass over the live set
    return allocatedBy(this.view?.services ?? [], this.observed)
  }

  /** live-set changes that touched none of this node's share (no pass: share.ts) */
  get liveSkips (): number { return this.share.skips }

  /** a pass soon (debounced by `reconcileDebounce`) */
  schedule (): void { this.share.due(); this.pass.schedule() }

  /** one reconcile pass now; a pass requested while one runs happens right after it (and this answers []) */
  async run (): Promise<Action[]> { this.share.due(); return await this.pass.run() }

  private async reconcile (): Promise<Action[]> {
    if (!this.share.passNeeded(() => this.refresh(), () => this.observed.map(c => c.service))) return []
    try {
      this.stats.runs++
      // the simulator's CPU model charges the pass here (a real process just spends it)
      if (this.init.clock.work !== undefined) await this.init.clock.work('pass')
      ;({ replicas: this.observed, standbys: this.standbys } = splitStandbys(await this.init.runtime.list()))
      this.init.volumes?.observe(this.observed, (id) => this.service(id))
      this.announce()
      const actions = this.planNow()
      this.warm.sync({ assignment: this.refresh().assignment, services: servicesById(this.refresh().services), replicas: this.observed, standbys: this.standbys })
      const stops = actions.filter(a => a.type === 'stop').map(a => this.stopInBackground(a))
      for (const action of actions) {
        if (action.type === 'stop') continue
        // a start waits for the stops it needs: its own replica's old copy, or a copy holding host ports
        const needs = stops.filter(s => s.key === replicaKey(action.service, action.replica) || (s.ports && this.publishesPorts(action.service)))
        if (needs.length === 0) void this.execute(action)
        else void Promise.all(needs.map(async s => await s.done)).then(() => this.execute(action))
      }
      return actions
    } catch (err) {
      this.stats.failures++
      this.log.error('reconcile pass failed: %s', errorText(err))
      return []
    }
  }

  /** services and assignment for the current state digest and live set, placed only when they changed */
  private refresh (): View {
    const { state, liveness } = this.init
    const digest = state.digest()
    const liveKey = liveness.liveKey()
    const confirmed = liveness.confirmed()
    const members = memberCount(state)
    // any majority places alike: a count that changes within one is no new input (nodes with the same inputs share a placement: the simulator's cache)
    const fingerprint = `${digest}|${liveKey}|${confirmed * 2 > members ? 'q' : confirmed}`
    if (this.view?.fingerprint === fingerprint) return this.view
    const live = liveness.live()
    const services = desiredServices(state)
    let assignment = this.cache.get(fingerprint)
    if (assignment === undefined) {
      // members not live are `absent`: a loss moves only the lost node's replicas (the members placed once per state)
      const placement = this.cache.members(digest, () => new MemberPlacement(services, nodeInfos(state, memberList(state))))
      assignment = placement.place(nodeInfos(state, live), { memberCount: members, confirmed, standby: true })
      this.cache.set(fingerprint, assignment)
    }
    const before = this.view
    if (before !== undefined) this.fences.moved(before.assignment, assignment, services, live)
    this.view = { fingerprint, live, services, assignment, previous: before?.assignment === assignment ? before.previous : before?.assignment }
    return this.view
  }

  /** the live nodes that hear what this node runs of `service` (`audienceOf`) */
  audience (service: string): string[] {
    const view = this.refresh()
    const singleton = servicesById(view.services).get(service)?.spec.singleton === true
    return audienceOf(service, [view.assignment, view.previous], this.init.liveness.reportsFor(service).keys(), this.init.identity.peerId, view.live, singleton)
  }

  /**
   * The plan for this node. The planner sees only the services this node
   * runs or is assigned, and the peers' reports of those: what it decides
   * for a service depends on nothing else, and a mesh of thousands of
   * services then costs each node only its own share
   */
  private planNow (): Action[] {
    const { liveness, identity, clock } = this.init
    const { services: all, assignment, live, previous } = this.refresh()
    const mine = new Set([...this.observed.map(c => c.service), ...servicesOn(assignment, identity.peerId)])
    this.share.read({ assignment, previous, live, mine, booting: liveness.booting() })
    const byId = servicesById(all)
    const services = [...mine].flatMap(id => byId.get(id) ?? [])
    const wanted = new Set(services.flatMap(s => Array.from({ length: s.spec.replicas }, (_, r) => replicaKey(s.id, r))))
    this.backoff.forgive(this.observed.filter(isHealthy).map(c => replicaKey(c.service, c.replica)), wanted, clock.now())
    const liveSet = setOfList(live)
    const singletons = new Set(services.filter(s => s.spec.singleton).map(s => s.id))
    const peers = new Map<string, PeerReplica[]>()
    for (const service of mine) {
      for (const [peer, reports] of liveness.reportsFor(service)) {
        if (!liveSet.has(peer) && !(singletons.has(service) && this.fences.holds(peer))) continue
        const list = peers.get(peer)
        if (list === undefined) peers.set(peer, [...reports])
        else list.push(...reports)
      }
    }
    this.fences.addCopies(peers, singletons, liveSet)
    const observed: LocalReplica[] = this.observed.map(c => ({ containerId: c.id, service: c.service, replica: c.replica, hash: c.hash, state: c.state, health: c.health }))
    liveness.refresh(mine)
    const held = heldStarts(singletons, liveness)
    return plan({ self: identity.peerId, services, assignment, observed, peers }).filter(a => a.type !== 'start' || !held.has(a.service))
  }

  /** the desired service with this id, in the current state */
  private service (id: string): DesiredService | undefined {
    return servicesById(this.refresh().services).get(id)
  }

  /** a port of mode host: its container binds it on this node, so an old copy must stop before a new one starts */
  private publishesPorts (service: string): boolean { return this.service(service)?.spec.ports.some(isHostModePort) ?? false }

  /** start the stop, or join the one already under way for that container */
  private stopInBackground (action: Action & { type: 'stop' }): { key: string, ports: boolean, done: Promise<void> } {
    const under = this.stopping.get(action.containerId)
    if (under !== undefined) return under
    const key = replicaKey(action.service, action.replica)
    const stop = { key, ports: this.publishesPorts(action.service), done: Promise.resolve() }
    this.stopping.set(action.containerId, stop)
    stop.done = this.carryOut(action).finally(() => {
      this.stopping.delete(action.containerId)
      this.schedule()
    })
    return stop
  }

  private async execute (action: Action): Promise<void> {
    const key = replicaKey(action.service, action.replica)
    if (this.stopped || this.inFlight.has(key) || this.backoff.waiting(key, this.init.clock.now())) return
    this.inFlight.add(key)
    try {
      await this.slots.acquire()
      try {
        await this.carryOut(action)
      } finally {
        this.slots.release()
      }
    } finally {
      this.inFlight.delete(key)
      this.schedule()
    }
  }

  private async carryOut (action: Action): Promise<void> {
    const { runtime, clock, identity, events } = this.init
    const key = replicaKey(action.service, action.replica)
    const emit = (kind: 'replica-start' | 'replica-stop' | 'replica-error', reason: string): void =>
      events.emit({ time: clock.now(), node: identity.peerId, kind, subject: key, reason })
    try {
      if (action.type === 'stop' || action.type === 'restart') {
        const down = this.observed.find(c => c.id === action.containerId)
        this.ownStops.add(action.containerId)
        const doStop = async (): Promise<void> => { await runtime.stop(action.containerId) }
        if (action.type === 'stop' && this.init.volumes !== undefined) await this.init.volumes.stopReplica(this.service(action.service)?.spec, action.replica, action.cause, doStop)
        else await doStop()
        this.stats.stops++
        this.observed = this.observed.filter(c => c.id !== action.containerId)
        if (action.type === 'stop') emit('replica-stop', action.reason)
        // a crashed or unhealthy replica counts against its back-off, so a crash loop slows down; its note says why, until a copy serves
        else this.recordFailure(action, down === undefined ? action.reason : runNote(down, action.reason), { ran: true, probe: down?.probe })
        this.announce()
      }
      if (action.type === 'start' || action.type === 'restart') {
        const service = this.service(action.service)
        if (service === undefined) return
        await this.init.images?.prepare(service.spec)
        await this.init.volumes?.prepare(service.spec, action.replica)
        // a restore or handoff takes a while, unseen by peers: a singleton the mesh moved meanwhile (a heal, a return) is not started beside the new copy
        if (this.init.volumes !== undefined && service.spec.singleton && !this.planNow().some(a => a.type === 'start' && a.service === action.service && a.replica === action.replica)) return
        this.log('start %s (%s): %s', key, this.standbys.some(c => c.service === action.service && c.replica === action.replica && c.hash === service.hash) ? 'its warm standby' : 'no standby', action.reason)
        const started = await runtime.start({ service: service.id, replica: action.replica, hash: service.hash, spec: service.spec, ...this.init.inputs?.(service.spec) })
        // tell the nodes concerned at once, without waiting for the next pass to list it
        this.observed = [...this.observed.filter(c => c.id !== started.id), started]
        this.stats.starts++
        emit('replica-start', action.reason)
        this.announce()
      }
    } catch (err) {
      const message = errorText(err)
      this.stats.failures++
      this.log.error('%s of %s failed: %s', action.type, key, message)
      this.recordFailure(action, message)
      emit('replica-error', message)
    }
  }

  private recordFailure (action: Action, error: string, how?: FailureDetails): void {
    // a pass when the back-off ends, not only at the next periodic one
    this.passAt(this.backoff.fail(action.service, action.replica, error, this.init.clock.now(), how))
  }

  /** a pass at this time (local clock), unless one is due before */
  private passAt (at: number): void {
    const clock = this.init.clock
    if (this.stopped || (this.retryTimer !== undefined && this.retryTimer.at <= at)) return
    this.retryTimer?.timer.cancel()
    this.retryTimer = { at, timer: clock.after(Math.max(0, at - clock.now()), () => { this.retryTimer = undefined; this.schedule() }) }
  }

  /** tell the nodes concerned with each service what this node runs of it, when that changed (membership batches and diffs) */
  private announce (): void {
    if (this.stopped) return
    this.changes.notice(this.observed)
    this.init.liveness.update(this.replicaReport())
  }
}
