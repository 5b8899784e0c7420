/**
 * Watches a run: samples availability, agreement and bandwidth every
 * `sample` ms of virtual time, times every change until all live nodes
 * agree and the change is in effect (convergence) and every failure until
 * availability is back (recovery), counts replicas moved against the
 * least that had to move, and watches singletons on every replica start.
 */
import { DEFAULT_MEMBERSHIP, suspicionTimeout } from '@minga/node/core'
import { containerHash, type Entry, type ServiceSpec } from '@minga/protocol'
import type { Assignment } from '@minga/scheduler'
import type { Cluster } from '../cluster/cluster.js'
import type { SimNode } from '../cluster/sim-node.js'
import { DetectionWatch } from './detection.js'
import type { MeshSnapshot } from './invariants.js'
import { SlotTally } from './slot-tally.js'
import { activeContainers, agreement, assignmentKey, assignmentOf, forEachActive } from './views.js'
import type { Change, ChangeKind, FaultWindow, Sample } from './series.js'
import { VolumeWatch } from './volume-watch.js'

/** a failed probe (500 ms) and its indirect probes, a push-pull and their round trips, on a loaded mesh, ms */
const CATCH_UP_SLACK_MS = 5000

/** changes whose replica moves are counted against the optimum */
const MOVES = new Set<ChangeKind>(['kill', 'org-loss', 'restart', 'cordon'])
/** changes after which availability is expected back: failures, and writes (new replicas running) */
const RECOVERS = new Set<ChangeKind>(['kill', 'org-loss', 'partition', 'deploy', 'update', 'cordon'])

/** changes that add replicas: they are done when coverage (not availability) is back */
const WRITES = new Set<ChangeKind>(['deploy', 'update'])

/**
 * Samples the mesh every `sample` ms of virtual time (availability, agreement, replicas) and records each change
 * (deploy, update, kill) until the mesh converges on it
 */
export class Observer {
  readonly samples: Sample[] = []
  readonly changes: Change[] = []
  readonly windows: FaultWindow[] = []
  readonly acknowledged: Entry[] = []
  readonly singletonViolations: MeshSnapshot['singletonViolations'] = []
  readonly counts = { starts: 0, stops: 0, crashes: 0, errors: 0, deadReports: 0 }
  /** snapshots, restores and volume starts, in scenarios with volumes */
  readonly volumes?: VolumeWatch
  /** the failure detector's timings and false verdicts */
  readonly detection: DetectionWatch
  private readonly hashes = new WeakMap<ServiceSpec, string>()
  private lastAgreed?: Assignment
  private lastAvailability = 0
  private lastCoverage = 0
  private readonly pending: Change[] = []
  private readonly violated = new Set<string>()
  /** each sample's count of the replica slots, and the slots established (desired from the start or healthy once: their loss is an outage) */
  private readonly tally = new SlotTally()

  constructor (private readonly cluster: Cluster) {
    this.detection = new DetectionWatch(cluster)
    for (const [id, spec] of cluster.specs) this.tally.establish(id, spec.replicas)
    if (cluster.volumes !== undefined) this.volumes = new VolumeWatch(cluster)
    cluster.onEvent((node, event) => {
      if (event.kind === 'replica-start') { this.counts.starts++; this.checkSingleton(node, event.subject) } else if (event.kind === 'replica-stop') this.counts.stops++
      else if (event.kind === 'replica-crash') this.counts.crashes++
      else if (event.kind === 'replica-error') this.counts.errors++
      else if (event.kind === 'node-dead') this.counts.deadReports++
    })
  }

  private get elapsed (): number {
    return this.cluster.sim.elapsed
  }

  /** a change happens now; it is timed from here */
  note (kind: ChangeKind, label: string, nodes: string[] = [], extra: Partial<Change> = {}): Change {
    const change: Change = { at: this.elapsed, kind, label, acknowledged: [], pendingWrites: 0, nodes, converged: null, recovered: null, availabilityBefore: WRITES.has(kind) ? this.lastCoverage : this.lastAvailability, assignmentBefore: this.lastAgreed, ...extra }
    this.changes.push(change)
    this.pending.push(change)
    return change
  }

  acknowledge (change: Change, entry: Entry): void {
    change.acknowledged.push(entry)
    this.acknowledged.push(entry)
  }

  window (from: number, to: number, kind: string, label: string): void {
    this.windows.push({ from, to, kind, label })
  }

  sample (): Sample {
    const live = this.cluster.live
    const specs = this.cluster.specs
    const tally = this.tally
    tally.begin()
    for (const node of live) {
      forEachActive(node, (service, replica, hash, healthy) => {
        const spec = specs.get(service)
        if (spec === undefined || replica >= spec.replicas) return
        tally.add(service, spec.replicas, replica, healthy, healthy && hash === this.hashOf(spec))
      })
    }
    const slots = tally.count(specs)
    const desired = slots.desired
    const agreed = agreement(live)
    if (agreed.agree) this.lastAgreed = agreed.assignment
    const seconds = this.cluster.scenario.sample / 1000
    const bytes = this.cluster.net.traffic.window()
    const sample: Sample = {
      t: this.elapsed / 1000,
      availability: slots.established === 0 ? 1 : slots.establishedHealthy / slots.established,
      coverage: desired === 0 ? 1 : slots.healthy / desired,
      updated: desired === 0 ? 1 : slots.updated / desired,
      desired,
      extraCopies: slots.extra,
      live: live.length,
      agree: agreed.agree,
      bytesPerNode: live.length === 0 ? 0 : bytes / seconds / live.length,
      bytes
    }
    this.samples.push(sample)
    this.lastAvailability = sample.availability
    this.lastCoverage = sample.coverage
    this.settle(live, agreed.agree ? agreed.assignment : undefined, sample)
    return sample
  }

  /** the mesh as the invariant checks see it */
  snapshot (): MeshSnapshot {
    const cordoned = new Set(this.changes.filter(c => c.kind === 'cordon').flatMap(c => c.nodes))
    return {
      nodes: this.cluster.nodes.map(node => {
        const assignment = assignmentOf(node)
        const state = node.current?.state
        return {
          id: node.id,
          up: node.up,
          cordoned: cordoned.has(node.id),
          upFor: node.current === undefined ? undefined : this.cluster.sim.now() - node.current.startedAt,
          downFor: node.current !== undefined || node.diedAt === undefined ? undefined : this.cluster.sim.now() - node.diedAt,
          live: node.current?.core.membership.live(),
          digest: state?.digest(),
          assignmentKey: assignment === undefined ? undefined : assignmentKey(assignment),
          assignment: assignment?.services,
          containers: activeContainers(node),
          entry: (key: string) => state?.get(key)
        }
      }),
      acknowledged: this.acknowledged,
      singletonViolations: this.singletonViolations,
      catchUp: catchUp(this.cluster.nodes.length),
      deathSpread: longestSuspicion(this.cluster.nodes.length),
      ...(this.volumes === undefined ? {} : { volumes: this.volumes.snapshot() })
    }
  }

  private settle (live: SimNode[], agreed: Assignment | undefined, sample: Sample): void {
    const now = this.elapsed
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const change = this.pending[i]
      if (change.converged === null && now > change.at && this.inEffect(change, live, agreed)) {
        change.converged = now - change.at
        if (agreed !== undefined && change.assignmentBefore !== undefined && MOVES.has(change.kind)) this.countMoves(change, change.assignmentBefore, agreed)
      }
      const recovers = RECOVERS.has(change.kind)
      const level = WRITES.has(change.kind) ? sample.coverage : sample.availability
      if (recovers && change.recovered === null && now > change.at && change.pendingWrites === 0 && level >= change.availabilityBefore - 1e-9) change.recovered = now - change.at
      if (change.converged !== null && (!recovers || change.recovered !== null)) this.pending.splice(i, 1)
    }
  }

  private inEffect (change: Change, live: SimNode[], agreed: Assignment | undefined): boolean {
    if (change.kind === 'partition') {
      // each side on its own: every node places only on its own side
      const side = change.side ?? new Set<string>()
      return live.every(node => {
        const a = assignmentOf(node)
        if (a === undefined) return false
        const mine = side.has(node.id)
        return Object.values(a.services).every(slots => slots.every(o => o === null || side.has(o) === mine))
      })
    }
    if (agreed === undefined || change.pendingWrites > 0) return false
    if (!change.acknowledged.every(entry => live.every(node => node.current!.state.get(entry.key) !== undefined && !isOlder(node.current!.state.get(entry.key)!, entry)))) return false
    if (change.kind === 'kill' || change.kind === 'org-loss' || change.kind === 'cordon') {
      const gone = new Set(change.nodes)
      return Object.values(agreed.services).every(slots => slots.every(o => o === null || !gone.has(o)))
    }
    if (change.kind === 'restart') {
      return change.nodes.every(id => live.every(node => node.id === id || node.current!.core.liveness.status(id) === 'alive'))
    }
    return true
  }

  /** replicas placed before and after whose node changed, against those that had to (on a node that left, or that a returning node takes) */
  private countMoves (change: Change, before: Assignment, after: Assignment): void {
    let moved = 0
    for (const [service, slots] of Object.entries(before.services)) {
      const next = after.services[service]
      if (next === undefined) continue
      slots.forEach((owner, r) => { if (owner !== null && next[r] !== undefined && next[r] !== null && next[r] !== owner) moved++ })
    }
    change.moved = moved
    const touched = new Set(change.nodes)
    let optimal = 0
    const source = change.kind === 'restart' ? after : before
    for (const slots of Object.values(source.services)) for (const o of slots) if (o !== null && touched.has(o)) optimal++
    change.optimal = optimal
  }

  private hashOf (spec: ServiceSpec): string {
    let hash = this.hashes.get(spec)
    if (hash === undefined) { hash = containerHash(spec); this.hashes.set(spec, hash) }
    return hash
  }

  private checkSingleton (node: SimNode, subject: string): void {
    const [service, replica] = subject.split('#')
    if (this.cluster.specs.get(service)?.singleton !== true) return
    const holders = this.cluster.nodes.filter(n => activeContainers(n).some(c => c.service === service && String(c.replica) === replica && c.healthy))
    if (holders.length < 2) return
    const key = `${subject}@${holders.map(h => h.index).join(',')}`
    if (this.violated.has(key)) return
    this.violated.add(key)
    this.singletonViolations.push({ at: this.elapsed, service: subject, nodes: holders.map(h => h.id) })
  }
}

function isOlder (held: Entry, entry: Entry): boolean {
  return held.hlc < entry.hlc || (held.hlc === entry.hlc && held.author < entry.author)
}

/**
 * how long a node that started may place on members that died while it was down, ms: the shortest suspicion among
 * `members` (a peer's dead row is one confirmation, its own failed probe another) plus a failed direct and indirect
 * probe, a push-pull and their round trips, with the nodes' default timing
 */
function catchUp (members: number): number {
  return suspicionTimeout(DEFAULT_MEMBERSHIP, members) + CATCH_UP_SLACK_MS
}

/** the longest suspicion among `members` with the simulator's membership timing (the nodes' defaults), ms */
function longestSuspicion (members: number): number {
  return DEFAULT_MEMBERSHIP.suspicionMaxMult * suspicionTimeout(DEFAULT_MEMBERSHIP, members)
}
