/**
 * The reconcile planner: what this node must start, stop or restart so that
 * its containers match the assignment. Pure and synchronous; the node runs it
 * on every tick and executes the actions in order (stops, then restarts,
 * then starts). It keeps no memory between ticks, so back-off for crash
 * loops belongs to the caller.
 *
 * For each (service, replica) found on this node:
 * - service deleted, or replica index ≥ replicas (scale-down): stop at once.
 * - several containers: keep the best (live before down, then current hash
 *   before old, then serving before starting, then lowest container id) and
 *   stop the rest.
 * - assigned here: restart it in place when it exited or runs unhealthy; if
 *   its hash is outdated, replace it (stop, then start the new hash) when it
 *   is down, when rolling.ts says its turn has come, or when another node
 *   already serves it with the new hash (after a partition heals, that node
 *   waits for this one: see reconcileMoved). With `maxUnavailable: 0` the
 *   new copy starts beside the old one instead, one replica at a time, and
 *   the old one stops once the new one is healthy (see surge).
 * - assigned elsewhere (make before break): keep it — restarting it if it
 *   went down — until the new owner reports that replica healthy with the
 *   current hash, then stop it.
 * - unplaced everywhere: keep it; restart it if it went down.
 * Then every replica assigned here with no container here is started; a
 * container kept here but owned elsewhere or nowhere is stopped first if it
 * holds a host port that such a start needs (else two nodes swapping
 * host-port replicas would wait on each other forever).
 *
 * Singletons never run twice, so they break before make instead: a node that
 * no longer owns one stops it at once, the owner starts it only once no live
 * peer reports a copy, and a side of a partition without a majority stops it.
 * Across a partition the two sides cannot see each other's copies, so the
 * node layer must be slower to declare a peer dead than a peer is to notice
 * it lost the majority.
 */
import { formatPortKey, hostPortKeys } from './filters.js'
import { isDown, isHealthy, reportOf } from './health.js'
import { compareStrings, replicaCount } from './order.js'
import { replaceableNow, surges } from './rolling.js'
import type { Action, DesiredService, LocalReplica, PeerReplica, PlanInput, RestartAction, StartAction, StopAction, StopCause } from './types.js'

/**
 * What one node must do now to move its containers toward the assignment: `start`, `stop` and `restart` actions,
 * make before break (a moved replica stops here only once its new owner reports it healthy), rolling updates
 * `maxUnavailable` at a time, scale-down and delete at once. Pure and synchronous: same input, same actions
 */
export function plan (input: PlanInput): Action[] {
  return new Planner(input).run()
}

class Planner {
  private readonly input: PlanInput
  private readonly desired = new Map<string, DesiredService>()
  /** heartbeat reports by service, with this node's own containers in place of its (staler) heartbeat */
  private readonly reports = new Map<string, Array<{ node: string, report: PeerReplica }>>()
  private readonly budgets = new Map<string, Set<number>>()
  private readonly stops: StopAction[] = []
  private readonly restarts: RestartAction[] = []
  private readonly starts: StartAction[] = []
  /** containers kept here that this node does not own: they yield their host ports to replicas it does own */
  private readonly holdovers: Array<{ container: LocalReplica, ports: number[] }> = []

  constructor (input: PlanInput) {
    this.input = input
    for (const s of input.services) this.desired.set(s.id, s)
    for (const [node, replicas] of input.peers) {
      if (node !== input.self) for (const r of replicas) this.addReport(node, r)
    }
    for (const c of input.observed) this.addReport(input.self, reportOf(c))
  }

  run (): Action[] {
    const present = new Set<string>()
    for (const group of groupByReplica(this.input.observed)) {
      const { service, replica } = group[0]
      present.add(replicaKey(service, replica))
      this.reconcile(service, replica, group)
    }
    const services = [...this.desired.values()].sort((a, b) => compareStrings(a.id, b.id))
    for (const service of services) {
      const slots = this.input.assignment.services[service.id] ?? []
      for (let replica = 0; replica < replicaCount(service.spec); replica++) {
        if (slots[replica] !== this.input.self || present.has(replicaKey(service.id, replica))) continue
        if (service.spec.singleton && this.runsElsewhere(service.id, replica)) continue
        this.start(service, replica, 'assigned here')
      }
    }
    this.freePortsForStarts()
    const stopped = new Set(this.stops.map(s => s.containerId))
    const restarts = this.restarts.filter(r => !stopped.has(r.containerId))
    return [...this.stops.sort(byContainer), ...restarts.sort(byContainer), ...this.starts.sort(byReplica)]
  }

  /**
   * A holdover that holds a host port a replica assigned here needs is stopped
   * first. Without this, two nodes that swap host-port replicas would each
   * wait for the other forever.
   */
  private freePortsForStarts (): void {
    for (const start of this.starts) {
      const service = this.desired.get(start.service)
      if (service === undefined) continue
      const needed = new Set(hostPortKeys(service.spec))
      for (const { container, ports } of this.holdovers) {
        const clash = ports.find(p => needed.has(p))
        if (clash === undefined || this.stops.some(s => s.containerId === container.containerId)) continue
        this.stop(container, `host port ${formatPortKey(clash)} is needed by ${start.service} replica ${start.replica}, assigned here`, 'ports')
      }
    }
  }

  private reconcile (serviceId: string, replica: number, group: LocalReplica[]): void {
    const service = this.desired.get(serviceId)
    if (service === undefined) {
      for (const c of group) this.stop(c, `service ${serviceId} no longer exists`, 'deleted')
      return
    }
    const replicas = replicaCount(service.spec)
    if (!Number.isInteger(replica) || replica < 0 || replica >= replicas) {
      for (const c of group) this.stop(c, `scaled down to ${replicas} ${replicas === 1 ? 'replica' : 'replicas'}`, 'scaled-down')
      return
    }
    const owner = this.input.assignment.services[serviceId]?.[replica] ?? null
    if (owner === this.input.self && this.surge(service, replica, group)) return
    const [keeper, ...extra] = [...group].sort((a, b) => rank(a, service.hash) - rank(b, service.hash) || compareStrings(a.containerId, b.containerId))
    for (const c of extra) this.stop(c, `duplicate of ${keeper.containerId}`, 'duplicate')

    if (owner === this.input.self) {
      this.reconcileOwned(service, keeper)
      return
    }
    if (owner !== null) this.reconcileMoved(service, keeper, owner)
    else this.reconcileUnplaced(service, keeper)
    const ports = hostPortKeys(service.spec)
    if (ports.length > 0) this.holdovers.push({ container: keeper, ports })
  }

  /**
   * `maxUnavailable: 0`: an outdated replica that serves keeps serving while
   * its new copy starts beside it, one replica of the service at a time;
   * once the new copy is healthy, the old one is a duplicate and stops.
   * True when this took care of the replica
   */
  private surge (service: DesiredService, replica: number, group: LocalReplica[]): boolean {
    if (!surges(service.spec)) return false
    const serving = group.filter(c => c.hash !== service.hash && isHealthy(c))
    const fresh = group.filter(c => c.hash === service.hash && !isDown(c))
    if (serving.length === 0 || fresh.some(isHealthy)) return false
    if (fresh.length === 0 && this.surgeTurn(service) === replica) this.start(service, replica, `rolling update to ${service.hash}: the new copy starts before the old one stops`)
    return true
  }

  /**
   * The replica whose turn it is to surge: the lowest index that some node
   * serves with an old hash and none with the current one (a replica that
   * runs nowhere, e.g. unplaced, never holds up the others)
   */
  private surgeTurn (service: DesiredService): number | undefined {
    const current = new Set<number>()
    const outdated = new Set<number>()
    for (const { report } of this.reports.get(service.id) ?? []) {
      if (report.healthy) (report.hash === service.hash ? current : outdated).add(report.replica)
    }
    let turn: number | undefined
    for (const r of outdated) if (!current.has(r) && (turn === undefined || r < turn)) turn = r
    return turn
  }

  private reconcileOwned (service: DesiredService, c: LocalReplica): void {
    if (c.hash === service.hash) {
      if (isDown(c)) this.restart(c, downReason(c))
      return
    }
    if (!isHealthy(c)) {
      this.replace(service, c, 'outdated and not healthy, replacing it with the new spec')
    } else if (!surges(service.spec) && this.budget(service).has(c.replica)) {
      this.replace(service, c, `rolling update to ${service.hash}`)
    } else if (!service.spec.singleton && this.currentElsewhere(service, c.replica)) {
      // another node (e.g. the other side of a healed partition) serves the new spec and waits
      // for this owner to do so before it stops: replacing costs no availability, and waiting would be forever
      this.replace(service, c, `outdated while another node serves ${service.hash}, replacing it`)
    }
  }

  private reconcileMoved (service: DesiredService, c: LocalReplica, owner: string): void {
    if (service.spec.singleton) {
      this.stop(c, `singleton moved to ${owner}; stopping it here before it starts there`, 'moved')
    } else if (this.ownerServes(service, c.replica, owner)) {
      this.stop(c, `moved to ${owner}, which reports it healthy`, 'moved')
    } else if (isDown(c)) {
      this.restart(c, `${downReason(c)}; keeping it until ${owner} reports it healthy`)
    }
  }

  private reconcileUnplaced (service: DesiredService, c: LocalReplica): void {
    const unplaced = this.input.assignment.unplaced.find(u => u.service === service.id && u.replica === c.replica)
    if (service.spec.singleton && unplaced?.cause === 'no-majority') {
      this.stop(c, `${unplaced.reason}; stopping it so it never runs twice`, 'no-majority')
    } else if (isDown(c)) {
      this.restart(c, `${downReason(c)}; unplaced everywhere, so keeping it here`)
    }
  }

  /** the new owner reports this replica healthy with the current hash */
  private ownerServes (service: DesiredService, replica: number, owner: string): boolean {
    return (this.reports.get(service.id) ?? []).some(({ node, report }) =>
      node === owner && report.replica === replica && report.hash === service.hash && report.healthy)
  }

  /** another live node reports this replica healthy with the current hash */
  private currentElsewhere (service: DesiredService, replica: number): boolean {
    return (this.reports.get(service.id) ?? []).some(({ node, report }) =>
      node !== this.input.self && report.replica === replica && report.hash === service.hash && report.healthy)
  }

  /** another live node reports a copy of this replica, healthy or not */
  private runsElsewhere (serviceId: string, replica: number): boolean {
    return (this.reports.get(serviceId) ?? []).some(({ node, report }) => node !== this.input.self && report.replica === replica)
  }

  private budget (service: DesiredService): Set<number> {
    let budget = this.budgets.get(service.id)
    if (budget === undefined) {
      budget = replaceableNow(service, (this.reports.get(service.id) ?? []).map(r => r.report))
      this.budgets.set(service.id, budget)
    }
    return budget
  }

  private addReport (node: string, report: PeerReplica): void {
    let list = this.reports.get(report.service)
    if (list === undefined) this.reports.set(report.service, list = [])
    list.push({ node, report })
  }

  private replace (service: DesiredService, c: LocalReplica, reason: string): void {
    this.stop(c, reason, 'update')
    this.start(service, c.replica, reason)
  }

  private start (service: DesiredService, replica: number, reason: string): void {
    this.starts.push({ type: 'start', service: service.id, replica, hash: service.hash, reason })
  }

  private stop (c: LocalReplica, reason: string, cause: StopCause): void {
    this.stops.push({ type: 'stop', containerId: c.containerId, service: c.service, replica: c.replica, reason, cause })
  }

  private restart (c: LocalReplica, reason: string): void {
    this.restarts.push({ type: 'restart', containerId: c.containerId, service: c.service, replica: c.replica, reason })
  }
}

/**
 * Which duplicate to keep, lower first: a live copy before a dead one, the
 * current hash before an old one, serving before starting. A half-done
 * replacement (old copy serving, new one starting) so keeps the new one.
 */
function rank (c: LocalReplica, hash: string): number {
  if (isDown(c)) return c.hash === hash ? 4 : 5
  return (c.hash === hash ? 0 : 2) + (isHealthy(c) ? 0 : 1)
}

function downReason (c: LocalReplica): string {
  return c.state === 'exited' ? 'exited' : c.state === 'created' ? 'created but never started' : 'failing its health check'
}

function byReplica (a: { service: string, replica: number }, b: { service: string, replica: number }): number {
  return compareStrings(a.service, b.service) || a.replica - b.replica
}

function byContainer (a: StopAction | RestartAction, b: StopAction | RestartAction): number {
  return byReplica(a, b) || compareStrings(a.containerId, b.containerId)
}

function replicaKey (service: string, replica: number): string {
  return `${service}\u0000${replica}`
}

/** containers grouped by (service, replica), groups in a fixed order whatever the input order */
function groupByReplica (observed: readonly LocalReplica[]): LocalReplica[][] {
  const groups = new Map<string, LocalReplica[]>()
  for (const c of observed) {
    const key = replicaKey(c.service, c.replica)
    let group = groups.get(key)
    if (group === undefined) groups.set(key, group = [])
    group.push(c)
  }
  return [...groups.values()].sort((a, b) => compareStrings(a[0].service, b[0].service) || a[0].replica - b[0].replica)
}
