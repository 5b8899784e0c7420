/**
 * `minga status`: one screen that says whether the mesh is healthy and,
 * when it is not, what to look at first. Problems make the mesh unhealthy
 * (and the command exit 1); notes are worth knowing but need no action now.
 * Every problem names the command that shows more.
 */
import type { EventLog } from '../events/event-log.js'
import { DRIFT_AFTER_MS } from '../events/event-watch.js'
import { clockVerdict, type ClockOffset } from '../membership/clock-offset.js'
import { nodesView, psView, servicesView, type Reports, type ViewComponents } from './views.js'

/** what `minga status` reads beyond the views: recent events, the clock offset, how long peers have disagreed */
export interface StatusComponents extends ViewComponents {
  events: Pick<EventLog, 'recent'>
  /** this node's clock against the mesh's; undefined before any peer is heard */
  clockOffset: () => ClockOffset | undefined
  /** ms for which a peer's probes have shown another state digest (0: they agree) */
  disagreeingFor: (peer: string) => number
}

export interface StatusView {
  node: string
  org: string
  meshId: string
  digest: string
  /** live nodes that report the same state digest as this node */
  agreeing: number
  nodes: { total: number, alive: number, suspect: number, dead: number, removed: number, cordoned: number }
  services: { total: number, degraded: string[] }
  /** healthy: served by a healthy copy of any spec; updated: of the current spec */
  replicas: { desired: number, running: number, healthy: number, updated: number, unplaced: number }
  /** requested by replicas / offered, over the live nodes (cpu in millicores, memory in bytes) */
  capacity: { cpu: { allocated: number, capacity: number }, memory: { allocated: number, capacity: number } }
  /** what this node observed in the last hour, by kind of trouble */
  recent: { crashes: number, startErrors: number, nodesDied: number, rejectedEntries: number }
  /** this node's clock against the mesh's (from probe round trips); absent before any peer answered */
  clock?: ClockOffset
  problems: string[]
  notes: string[]
  healthy: boolean
}

const HOUR = 3_600_000
const FULL_SHARE = 0.9

/**
 * `minga status`: the mesh's health from this node's view, its problems (each naming the command that shows more) and notes
 */
export function statusView (core: StatusComponents, reports: Reports): StatusView {
  const nodes = nodesView(core, reports)
  const services = servicesView(core, reports)
  const assignment = core.reconciler.currentAssignment()
  const count = (status: string): number => nodes.filter(n => n.status === status).length
  const digest = core.state.digest()
  const short = (ids: string[]): string => ids.slice(0, 5).map(id => id.slice(-8)).join(', ') + (ids.length > 5 ? ', …' : '')
  const problems: string[] = []
  const notes: string[] = []
  const self = core.self

  const clock = core.clockOffset()
  const verdict = clockVerdict(clock, core.state.maxClockAhead)
  if (verdict.level !== 'ok') problems.push(verdict.text)
  if (core.state.memberOrg(self) === undefined) problems.push('This node is not a member of the mesh yet: its admission has not arrived; check that "minga join" succeeded')
  const dead = nodes.filter(n => n.status === 'dead')
  if (dead.length > 0) problems.push(`${dead.length} node(s) dead: ${short(dead.map(n => n.id))} — their replicas move to other nodes if they fit; see "minga nodes" and "minga events --kind node-dead"`)
  const suspect = nodes.filter(n => n.status === 'suspect')
  if (suspect.length > 0) notes.push(`${suspect.length} node(s) suspect (probes unanswered): ${short(suspect.map(n => n.id))}`)
  const live = nodes.filter(n => n.status === 'alive' || n.status === 'suspect')
  if (live.length === 1 && nodes.filter(n => !n.revoked).length > 1) problems.push('This node sees no other node alive: check its network and firewall (TCP 7946), or whether it is cut off from the mesh')

  const ps = psView(core, reports)
  const degraded = services.filter(s => s.healthy < s.replicas)
  for (const s of degraded.slice(0, 5)) {
    const why = ps.find(r => r.service === s.id && r.problem !== undefined)?.problem
    problems.push(`${s.id}: ${s.healthy}/${s.replicas} replicas healthy${why !== undefined ? ` (${why})` : ''} — "minga ps ${s.id}", "minga logs ${s.id}"`)
  }
  if (degraded.length > 5) problems.push(`${degraded.length - 5} more service(s) below their healthy replica count — "minga ls"`)
  // a rolling update under way serves with old and new copies; one whose new copies fail has halted
  for (const s of services.filter(s => s.updated < s.replicas && !degraded.includes(s)).slice(0, 5)) {
    const why = ps.find(r => r.service === s.id && r.problem !== undefined)?.problem
    if (why !== undefined) problems.push(`${s.id}: rolling update halted at ${s.updated}/${s.replicas} on the current spec, the rest serve the old one (${why}) — "minga ps ${s.id}"; deploy a fixed spec or the previous one`)
    else notes.push(`${s.id}: rolling update under way, ${s.updated}/${s.replicas} replicas on the current spec`)
  }
  if (assignment.unplaced.length > 0) problems.push(`${assignment.unplaced.length} replica(s) cannot be placed: ${assignment.unplaced[0].reason} — add capacity or relax the spec`)

  const agreeing = live.filter(n => n.digest === digest || n.self).length
  if (agreeing < live.length) {
    // right after a write the other nodes lag a moment: only a difference that lasts is a problem
    const others = live.filter(n => n.digest !== digest && !n.self).map(n => n.id)
    const lasting = others.filter(id => core.disagreeingFor(id) > DRIFT_AFTER_MS)
    if (lasting.length > 0) problems.push(`${lasting.length} live node(s) have held a different state for over ${DRIFT_AFTER_MS / 1000} s (${short(lasting)}) — "minga events --kind sync,entry-rejected" on both sides`)
    if (lasting.length < others.length) notes.push(`${others.length - lasting.length} node(s) are catching up with the latest changes`)
  }

  const capacity = { cpu: { allocated: 0, capacity: 0 }, memory: { allocated: 0, capacity: 0 } }
  for (const n of nodes) {
    if (n.status !== 'alive' || n.cordoned) continue
    capacity.cpu.capacity += n.capacity?.cpu ?? 0
    capacity.cpu.allocated += n.allocated?.cpu ?? 0
    capacity.memory.capacity += n.capacity?.memory ?? 0
    capacity.memory.allocated += n.allocated?.memory ?? 0
  }
  for (const [resource, used] of Object.entries(capacity)) {
    if (used.capacity > 0 && used.allocated / used.capacity >= FULL_SHARE) notes.push(`The mesh is ${Math.round(100 * used.allocated / used.capacity)}% full on ${resource}: new replicas may not fit`)
  }

  const since = core.clock.now() - HOUR
  const recentEvents = core.events.recent({ since })
  const recent = {
    crashes: recentEvents.filter(e => e.kind === 'replica-crash').length,
    startErrors: recentEvents.filter(e => e.kind === 'replica-error').length,
    nodesDied: recentEvents.filter(e => e.kind === 'node-dead').length,
    rejectedEntries: recentEvents.filter(e => e.kind === 'entry-rejected').length
  }
  const failing = core.reconciler.replicaProblems()
  if (failing.length > 0) {
    const first = failing[0]
    problems.push(`${failing.length} replica(s) on this node keep failing, e.g. ${first.service}#${first.replica}: ${first.error} — "minga logs ${first.service}", "minga events --kind replica-crash,replica-error"`)
  } else if (recent.crashes + recent.startErrors > 0) {
    notes.push(`${recent.crashes} crash(es) and ${recent.startErrors} failed start(s) on this node in the last hour — "minga events"`)
  }
  const rejected = Object.entries(core.state.stats().rejected)
  if (rejected.length > 0) notes.push(`Entries rejected since this node started: ${rejected.map(([reason, n]) => `${n} ${reason}`).join(', ')} — "minga events --kind entry-rejected"`)
  const cordoned = nodes.filter(n => n.cordoned && !n.revoked)
  if (cordoned.length > 0) notes.push(`${cordoned.length} node(s) cordoned: ${short(cordoned.map(n => n.id))} — "minga uncordon NODE" when done`)

  return {
    node: self,
    org: core.state.memberOrg(self) ?? '',
    meshId: core.state.meshId,
    digest,
    agreeing,
    nodes: { total: nodes.length, alive: count('alive'), suspect: suspect.length, dead: dead.length, removed: count('removed'), cordoned: cordoned.length },
    services: { total: services.length, degraded: degraded.map(s => s.id) },
    replicas: {
      desired: services.reduce((n, s) => n + s.replicas, 0),
      running: services.reduce((n, s) => n + s.running, 0),
      healthy: services.reduce((n, s) => n + s.healthy, 0),
      updated: services.reduce((n, s) => n + s.updated, 0),
      unplaced: assignment.unplaced.length
    },
    capacity,
    recent,
    ...(clock === undefined ? {} : { clock }),
    problems,
    notes,
    healthy: problems.length === 0
  }
}
