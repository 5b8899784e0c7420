/**
 * Read-only views of the mesh for `minga ls`, `ps`, `nodes` and `status`,
 * built from the replicated state, the last assignment, this node's
 * containers and the reports the live nodes gave when asked (`reports`:
 * membership's NodeReports.gather).
 */
import { keys, type HealthProbe, type ReportMessage, type State } from '@minga/protocol'
import type { Clock } from '../clock.js'
import type { LiveSet, ReconcileView } from '../components.js'
import { replicaKey } from '../reconcile/replicas.js'

/** what the views read: the state, membership's verdicts, the reconcile loop's view */
export interface ViewComponents {
  /** this node's peer id */
  self: string
  state: State
  clock: Clock
  liveness: Pick<LiveSet, 'status'>
  reconciler: ReconcileView
}

/** the live nodes' reports, by node, as gathered for one view (this node's own included) */
export type Reports = ReadonlyMap<string, ReportMessage>

export interface ReplicaView {
  service: string
  replica: number
  /** where the scheduler wants it; null when it cannot be placed */
  assigned: string | null
  /** where it runs now, as nodes report it; `probe`: the last health check of a copy that fails it */
  running: Array<{ node: string, state: string, healthy: boolean, current: boolean, containerId?: string, probe?: HealthProbe }>
  /** why it is not running as wanted, when known */
  problem?: string
}

export interface ServiceView {
  id: string
  /** the Compose project that declared it */
  project?: string
  image: string
  replicas: number
  running: number
  /** replicas that a healthy copy serves, of the current spec or an older one (a rolling update serves with both) */
  healthy: number
  /** replicas that a healthy copy of the current spec serves (kubectl's UP-TO-DATE) */
  updated: number
  spread: string
  singleton: boolean
  hash: string
  created: string
  /** the git source and commit that last changed it (`minga apply --git`) */
  source?: { name: string, commit: string }
}

/** every reported replica per `service#replica`, this node's own from its runtime */
function reported (core: ViewComponents, reports: Reports): Map<string, ReplicaView['running']> {
  const out = new Map<string, ReplicaView['running']>()
  const add = (service: string, replica: number, item: ReplicaView['running'][number] & { hash: string }, desired: Map<string, string>): void => {
    const key = `${service}#${replica}`
    const list = out.get(key) ?? []
    const { hash, ...rest } = item
    list.push({ ...rest, current: desired.get(service) === hash })
    out.set(key, list)
  }
  const desired = new Map(core.reconciler.desired().map(s => [s.id, s.hash]))
  for (const c of core.reconciler.containers()) {
    add(c.service, c.replica, { node: core.self, state: c.state, healthy: c.state === 'running' && (c.health === 'healthy' || c.health === 'none'), current: false, containerId: c.id, hash: c.hash }, desired)
  }
  for (const [peer, report] of reports) {
    if (peer === core.self || core.liveness.status(peer) === 'dead') continue
    for (const r of report.replicas) add(r.service, r.replica, { node: peer, state: r.state, healthy: r.healthy, current: false, hash: r.hash }, desired)
  }
  return out
}

/**
 * `minga ps`: every replica of every desired service (or of one `org/name`): where it is assigned, where copies run, and what is wrong
 */
export function psView (core: ViewComponents, reports: Reports, service?: string): ReplicaView[] {
  const assignment = core.reconciler.currentAssignment()
  const runningBy = reported(core, reports)
  // this node's own notes, and what the other nodes report of the replicas they run or are assigned
  const problems = new Map<string, { error: string, probe?: HealthProbe }>()
  for (const [peer, report] of reports) {
    if (peer === core.self || core.liveness.status(peer) === 'dead') continue
    for (const p of report.problems ?? []) problems.set(`${replicaKey(p.service, p.replica)}@${peer}`, { error: `node ${peer.slice(-8)} reports: ${p.error}`, probe: p.probe })
  }
  for (const p of core.reconciler.replicaProblems()) problems.set(`${replicaKey(p.service, p.replica)}@${core.self}`, p)
  const unplaced = new Map(assignment.unplaced.map(u => [`${u.service}#${u.replica}`, u.reason]))
  const out: ReplicaView[] = []
  for (const s of core.reconciler.desired()) {
    if (service !== undefined && s.id !== service) continue
    for (let replica = 0; replica < s.spec.replicas; replica++) {
      const key = `${s.id}#${replica}`
      const running = (runningBy.get(key) ?? []).map(copy => {
        const probe = copy.healthy ? undefined : problems.get(`${key}@${copy.node}`)?.probe
        return probe === undefined ? copy : { ...copy, probe }
      })
      const view: ReplicaView = { service: s.id, replica, assigned: assignment.services[s.id]?.[replica] ?? null, running }
      // the assigned node's note, else a note of a copy that runs elsewhere (an old owner's, failing its check)
      const problem = (view.assigned === null ? undefined : problems.get(`${key}@${view.assigned}`)?.error) ??
        unplaced.get(key) ?? running.map(copy => problems.get(`${key}@${copy.node}`)?.error).find(e => e !== undefined)
      if (problem !== undefined) view.problem = problem
      out.push(view)
    }
  }
  return out
}

/** `minga ls`: each desired service with its replicas running, healthy (any spec) and updated (current spec), sorted by id */
export function servicesView (core: ViewComponents, reports: Reports): ServiceView[] {
  const runningBy = reported(core, reports)
  return core.reconciler.desired().map(s => {
    const source = core.state.value(keys.service(s.spec.org, s.spec.name))?.source
    let running = 0
    let healthy = 0
    let updated = 0
    for (let replica = 0; replica < s.spec.replicas; replica++) {
      const copies = runningBy.get(`${s.id}#${replica}`) ?? []
      if (copies.some(c => c.state === 'running')) running++
      if (copies.some(c => c.healthy)) healthy++
      if (copies.some(c => c.healthy && c.current)) updated++
    }
    return { id: s.id, ...(s.spec.project === undefined ? {} : { project: s.spec.project }), image: s.spec.image, replicas: s.spec.replicas, running, healthy, updated, spread: s.spec.spread, singleton: s.spec.singleton, hash: s.hash, created: s.created, ...(source === undefined ? {} : { source }) }
  }).sort((a, b) => a.id.localeCompare(b.id))
}

export interface NodeView {
  id: string
  org: string
  status: string
  self: boolean
  cordoned: boolean
  cordonReason?: string
  revoked: boolean
  capacity?: { cpu: number, memory: number }
  allocated?: { cpu: number, memory: number }
  labels: Record<string, string>
  replicas: number
  /** ms since its report was read (absent: it did not answer) */
  lastSeenMs?: number
  version?: string
  digest?: string
  addrs: string[]
}

/**
 * `minga nodes`: every member with its liveness, capacity (millicores, bytes), allocation, labels, and how old its report is (ms)
 */
export function nodesView (core: ViewComponents, reports: Reports): NodeView[] {
  const now = core.clock.now()
  const out: NodeView[] = []
  for (const [id, org] of core.state.members()) {
    const record = core.state.value(keys.node(id))
    const cordon = core.state.value(keys.cordon(id))
    const self = id === core.self
    const report = reports.get(id)
    const view: NodeView = {
      id,
      org,
      status: core.state.revoked(id) !== undefined ? 'removed' : core.liveness.status(id),
      self,
      cordoned: cordon !== undefined,
      revoked: core.state.revoked(id) !== undefined,
      capacity: report?.capacity ?? record?.capacity,
      allocated: report?.allocated,
      labels: record?.labels ?? {},
      replicas: report?.replicas.length ?? 0,
      version: report?.version,
      digest: report?.digest,
      addrs: record?.addrs ?? []
    }
    if (cordon !== undefined) view.cordonReason = cordon.reason
    // its own clock's time of answering, against ours: how old the report is, clock offset aside
    if (!self && report !== undefined) view.lastSeenMs = Math.max(0, now - report.time)
    out.push(view)
  }
  return out.sort((a, b) => a.org.localeCompare(b.org) || a.id.localeCompare(b.id))
}
