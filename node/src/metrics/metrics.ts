/**
 * The node's Prometheus metrics, computed from the core when scraped (no
 * timers, no bookkeeping on hot paths, no request to another node): nodes by
 * state, replicas desired per service (the replicated state) and this node's
 * own copies running / healthy / updated per service, sync lag, membership's probes, health and suspicions,
 * reconcile actions and errors, rejected entries by reason, events by kind,
 * log readers. One registry per node, so several nodes in one process
 * (tests, benchmarks) never mix their series; libp2p's own metrics
 * (@libp2p/prometheus-metrics) go into the same registry.
 *
 * @example
 * ```ts
 * const registry = new Registry()
 * nodeMetrics(core, { registry })
 * const text = await registry.metrics()
 * ```
 */
/* eslint-disable no-new -- prom-client's metrics register themselves in `registers` */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { ReconcileView } from '../core/components.js'
import type { EventLog } from '../core/events/event-log.js'
import type { MembershipService } from '../core/membership/service.js'
import type { LogsServer } from '../core/logs/logs-server.js'
import { nodesView, servicesView, type Reports, type ViewComponents } from '../core/ops/views.js'
import type { Reconciler } from '../core/reconcile/reconciler.js'
import type { Sync } from '../core/sync/sync.js'
import { counterFrom } from './counter-from.js'

/** node and cordon counts need no reports: the state and membership's verdicts say it */
const NO_REPORTS: Reports = new Map()

/** what the metrics read at scrape time: the views' components and the services' counters */
export interface MetricsComponents extends ViewComponents {
  membership: Pick<MembershipService, 'peerDigests' | 'ownReport' | 'figures'>
  reconciler: ReconcileView & Pick<Reconciler, 'stats'>
  sync: Pick<Sync, 'stats'>
  logs: Pick<LogsServer, 'stats' | 'openSessions'>
  events: Pick<EventLog, 'subscribe'>
}

export interface NodeMetricsOptions {
  registry?: Registry
  version?: string
  /** process and Node.js metrics (skip when libp2p's metrics already collect them) */
  processMetrics?: boolean
}

/** minga's series, computed from the core at scrape time, into `options.registry` (a new one by default) */
export function nodeMetrics (core: MetricsComponents, options: NodeMetricsOptions = {}): Registry {
  const registry = options.registry ?? new Registry()
  const registers = [registry]
  if (options.processMetrics === true) collectDefaultMetrics({ register: registry })
  const self = core.self

  new Gauge({
    name: 'minga_info',
    help: 'This node: its peer id, organization, mesh and version (always 1)',
    labelNames: ['node', 'org', 'mesh', 'version'],
    registers,
    collect () {
      this.reset()
      this.set({ node: self, org: core.state.memberOrg(self) ?? '', mesh: core.state.meshId, version: options.version ?? '' }, 1)
    }
  })

  new Gauge({
    name: 'minga_nodes',
    help: 'Member nodes by state, as this node sees them',
    labelNames: ['state'],
    registers,
    collect () {
      const counts: Record<string, number> = { alive: 0, suspect: 0, dead: 0, removed: 0 }
      for (const node of nodesView(core, NO_REPORTS)) counts[node.status] = (counts[node.status] ?? 0) + 1
      for (const [state, count] of Object.entries(counts)) this.set({ state }, count)
    }
  })

  new Gauge({
    name: 'minga_nodes_cordoned',
    help: 'Member nodes that are cordoned (no new replicas)',
    registers,
    collect () {
      this.set(nodesView(core, NO_REPORTS).filter(n => n.cordoned && !n.revoked).length)
    }
  })

  // A scrape asks no other node: every node exports its own copies (Prometheus sums them: sum by (service, state)
  // (minga_node_replicas)), and the desired count comes from the replicated state. Gathering every member's report per
  // scrape cost N requests a scrape, N² a scrape interval when every node is scraped
  new Gauge({
    name: 'minga_service_replicas_desired',
    help: 'Replicas each service should have, from the replicated state (the same on every node: max by (service))',
    labelNames: ['service'],
    registers,
    collect () {
      this.reset()
      for (const s of core.reconciler.desired()) this.set({ service: s.id }, s.spec.replicas)
    }
  })

  new Gauge({
    name: 'minga_node_replicas',
    help: 'Replicas of each service this node runs a copy of: running (any spec), healthy (any spec) and updated (healthy on the current spec); sum by (service, state) over the nodes for the mesh',
    labelNames: ['service', 'state'],
    registers,
    collect () {
      this.reset()
      for (const s of servicesView(core, NO_REPORTS)) {
        if (s.running === 0 && s.healthy === 0) continue
        this.set({ service: s.id, state: 'running' }, s.running)
        this.set({ service: s.id, state: 'healthy' }, s.healthy)
        this.set({ service: s.id, state: 'updated' }, s.updated)
      }
    }
  })

  new Gauge({
    name: 'minga_replicas_unplaced',
    help: 'Replicas the scheduler cannot place on any live node (capacity, labels, policy)',
    registers,
    collect () { this.set(core.reconciler.currentAssignment().unplaced.length) }
  })

  const membership = (): ReturnType<MembershipService['figures']> => core.membership.figures()
  counterFrom(registry, 'minga_membership_probes_total', 'Probes of members, by outcome (failed: no ack, directly or through others; held back: failed, but its port accepts connections or this node lagged itself, so probed again instead of accused)', () => [[{ result: 'sent' }, membership().probes], [{ result: 'failed' }, membership().failed], [{ result: 'refused' }, membership().refused], [{ result: 'held back' }, membership().stalled], [{ result: 'held back for own lag' }, membership().lagged]], ['result'])
  counterFrom(registry, 'minga_membership_indirect_probes_total', 'Indirect probes asked of other members', () => [[{}, membership().indirect]])
  counterFrom(registry, 'minga_membership_refused_total', 'Membership messages refused, by reason', () => [[{ reason: 'stranger or malformed' }, membership().dropped], [{ reason: 'forged alive' }, membership().forged]], ['reason'])
  counterFrom(registry, 'minga_membership_sent_bytes_total', 'Bytes of membership messages this node sent (stream payload), by message type: probes (ping, ack, ping-req, nack), dissemination (gossip, push-pull), replica records (replicas), reports', () => [...membership().sentBytes].map(([type, bytes]) => [{ type }, bytes]), ['type'])
  counterFrom(registry, 'minga_replica_records_total', 'Replica records sent to the nodes concerned, received from them, and sends that failed', () => [[{ direction: 'sent' }, membership().records.sent], [{ direction: 'received' }, membership().records.received], [{ direction: 'failed' }, membership().records.failed]], ['direction'])
  new Gauge({
    name: 'minga_membership_local_health',
    help: 'Lifeguard\'s local health score: 0 healthy; higher means this node misses acks and stretches its timeouts',
    registers,
    collect () { this.set(membership().health) }
  })
  new Gauge({
    name: 'minga_membership_suspects',
    help: 'Members under suspicion now (no ack; they have a suspicion timeout to refute it)',
    registers,
    collect () { this.set(membership().suspects) }
  })

  new Gauge({
    name: 'minga_state_entries',
    help: 'Entries in this node\'s replicated state, and entries held back waiting for a membership fact',
    labelNames: ['kind'],
    registers,
    collect () {
      const stats = core.state.stats()
      this.set({ kind: 'current' }, stats.entries)
      this.set({ kind: 'pending' }, stats.pending)
    }
  })

  new Gauge({
    name: 'minga_sync_disagreeing_nodes',
    help: 'Live peers whose last probe showed another state digest than this node holds (sync lag)',
    registers,
    collect () {
      const digest = core.state.digest()
      let count = 0
      for (const [peer, theirs] of core.membership.peerDigests()) if (theirs !== digest && core.liveness.status(peer) !== 'dead') count++
      this.set(count)
    }
  })

  const sync = core.sync.stats
  counterFrom(registry, 'minga_sync_entries_pulled_total', 'Entries pulled by anti-entropy (non-zero when gossip was lost or a partition healed)', () => [[{}, sync.pulled]])
  counterFrom(registry, 'minga_sync_rounds_total', 'Anti-entropy rounds run', () => [[{}, sync.rounds]])
  counterFrom(registry, 'minga_sync_failures_total', 'Anti-entropy rounds that failed (peer unreachable or refused)', () => [[{}, sync.failures]])
  counterFrom(registry, 'minga_sync_gossip_entries_total', 'Entries sent and received on the entries topic', () => [[{ direction: 'in' }, sync.gossipIn], [{ direction: 'out' }, sync.gossipOut]], ['direction'])

  const reconcile = core.reconciler.stats
  counterFrom(registry, 'minga_reconcile_runs_total', 'Reconcile passes run', () => [[{}, reconcile.runs]])
  counterFrom(registry, 'minga_reconcile_actions_total', 'Containers started and stopped by the reconcile loop', () => [[{ action: 'start' }, reconcile.starts], [{ action: 'stop' }, reconcile.stops]], ['action'])
  counterFrom(registry, 'minga_reconcile_errors_total', 'Reconcile passes and actions that failed', () => [[{}, reconcile.failures]])

  new Gauge({
    name: 'minga_replicas_backing_off',
    help: 'Replicas on this node that failed to start or crashed and wait before the next try',
    registers,
    collect () { this.set(core.reconciler.replicaProblems().length) }
  })

  new Gauge({
    name: 'minga_containers',
    help: 'Containers of this node, by state',
    labelNames: ['state'],
    registers,
    collect () {
      const counts: Record<string, number> = { created: 0, starting: 0, running: 0, exited: 0 }
      for (const c of core.reconciler.containers()) counts[c.state] = (counts[c.state] ?? 0) + 1
      for (const [state, count] of Object.entries(counts)) this.set({ state }, count)
    }
  })

  new Gauge({
    name: 'minga_node_resources',
    help: 'This node\'s capacity and what its replicas request (cpu in cores, memory in bytes)',
    labelNames: ['resource', 'kind'],
    registers,
    collect () {
      const own = core.membership.ownReport()
      this.set({ resource: 'cpu', kind: 'capacity' }, own.capacity.cpu / 1000)
      this.set({ resource: 'memory', kind: 'capacity' }, own.capacity.memory)
      this.set({ resource: 'cpu', kind: 'allocated' }, own.allocated.cpu / 1000)
      this.set({ resource: 'memory', kind: 'allocated' }, own.allocated.memory)
    }
  })

  counterFrom(registry, 'minga_entries_rejected_total', 'Entries this node refused to merge, by reason', () => Object.entries(core.state.stats().rejected).map(([reason, count]) => [{ reason }, count]), ['reason'])

  const events = new Counter({ name: 'minga_events_total', help: 'Events this node observed or did, by kind', labelNames: ['kind'], registers })
  core.events.subscribe((event) => events.inc({ kind: event.kind }))

  new Gauge({
    name: 'minga_log_sessions',
    help: 'Log readers this node serves now',
    registers,
    collect () { this.set(core.logs.openSessions) }
  })
  const logs = core.logs.stats
  counterFrom(registry, 'minga_log_lines_sent_total', 'Container log lines sent to readers', () => [[{}, logs.linesSent]])
  counterFrom(registry, 'minga_log_lines_dropped_total', 'Live log lines dropped because a reader was too slow', () => [[{}, logs.linesDropped]])

  return registry
}
