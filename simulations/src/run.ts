/**
 * Runs one scenario: builds the mesh, plays the timeline in virtual time
 * while the observer samples it, lets the mesh settle, checks the
 * invariants and sums the figures up.
 */
import { Cluster } from './cluster/cluster.js'
import { checkAll, countInvariants } from './measure/invariants.js'
import { Observer } from './measure/observer.js'
import type { Change, FaultWindow, Sample } from './measure/series.js'
import { availabilityFigures, convergence, movedFigures, round, scenarioShape, stats, volumeFigures, type Summary } from './measure/summary.js'
import { Timeline } from './scenario/faults.js'
import { ClientLoops } from './scenario/clients.js'
import type { RequestEvent } from './measure/ingress.js'
import type { Scenario } from './scenario/types.js'

export interface Progress {
  phase: 'build' | 'run' | 'settle' | 'check'
  /** virtual ms done and planned */
  elapsed: number
  total: number
  events: number
  wallMs: number
}

export interface RunOptions {
  onProgress?: (progress: Progress) => void
  /** called with the mesh once built, before it starts (tests plant faults here) */
  onCluster?: (cluster: Cluster) => void
}

export interface SimResult {
  scenario: Scenario
  summary: Summary
  samples: Sample[]
  changes: Array<Omit<Change, 'acknowledged' | 'side' | 'assignmentBefore'> & { acknowledged: number }>
  windows: FaultWindow[]
  /** bytes sent per node per second over the run, one value per node */
  bytesPerNode: number[]
  /** every request of the routing mesh's clients, in scenarios with `ingress` (the summary's `ingress` figures come from these) */
  requests?: RequestEvent[]
}

/** samples in a row with nothing starting and everyone agreeing, to call the mesh quiet */
const QUIET_SAMPLES = 3

/**
 * Runs one scenario (see above) and returns its summary, samples, changes and fault windows; the summary's digest
 * fingerprints the run: one seed, one digest
 */
export async function runScenario (scenario: Scenario, options: RunOptions = {}): Promise<SimResult> {
  const wallStart = performance.now()
  const progress = (phase: Progress['phase'], elapsed: number, events: number): void => {
    options.onProgress?.({ phase, elapsed, total: scenario.duration, events, wallMs: performance.now() - wallStart })
  }
  progress('build', 0, 0)
  const cluster = await Cluster.create(scenario)
  const { sim } = cluster
  options.onCluster?.(cluster)
  const observer = new Observer(cluster)
  const timeline = new Timeline(cluster, observer)
  timeline.schedule(scenario.timeline)
  const clients = cluster.ingress === undefined || scenario.ingress === undefined ? undefined : new ClientLoops(cluster, cluster.ingress, scenario.ingress)
  clients?.schedule()
  await cluster.startAll()
  const buildMs = performance.now() - wallStart
  sim.every(scenario.sample, () => { observer.sample() })
  await sim.run(sim.epoch + scenario.duration, { onProgress: p => progress('run', p.elapsed, p.events) })

  let quiet = 0
  let quiescentAfter: number | null = null
  const settleEnd = sim.epoch + scenario.duration + scenario.settle
  while (sim.now() < settleEnd) {
    await sim.run(Math.min(settleEnd, sim.now() + scenario.sample))
    progress('settle', sim.elapsed, sim.events)
    const last = observer.samples.at(-1)
    const starting = cluster.live.some(n => n.current!.engine.all().some(c => c.state === 'starting'))
    quiet = last !== undefined && last.agree && !starting && timeline.inFlight.size === 0 ? quiet + 1 : 0
    if (quiet >= QUIET_SAMPLES) { quiescentAfter = sim.elapsed - scenario.duration; break }
  }
  progress('check', sim.elapsed, sim.events)
  const snapshot = observer.snapshot()
  const violations = checkAll(snapshot)
  const wallMs = performance.now() - wallStart
  const seconds = sim.elapsed / 1000
  const traffic = cluster.net.traffic
  const bytesPerNode = Array.from(traffic.bytesOut, b => round(b / seconds, 1))
  const msgsPerNode = Array.from(traffic.msgsOut, m => round(m / seconds, 2))
  const byKind: Summary['convergenceByKind'] = {}
  for (const kind of new Set(observer.changes.map(c => c.kind))) byKind[kind] = convergence(observer.changes.filter(c => c.kind === kind))
  const partitionSamples = observer.samples.filter(s => observer.windows.some(w => w.kind === 'partition' && s.t * 1000 >= w.from && s.t * 1000 <= w.to + scenario.network.reconnect))
  const summary: Summary = {
    ...scenarioShape(scenario),
    virtualSeconds: round(seconds, 1),
    digest: cluster.digest.toString(),
    availability: availabilityFigures(observer.samples),
    convergenceMs: convergence(observer.changes),
    convergenceByKind: byKind,
    recoveries: observer.changes.filter(c => c.kind === 'kill' || c.kind === 'org-loss' || c.kind === 'partition')
      .map(c => ({ label: c.label, at: round(c.at / 1000, 1), recoveredMs: c.recovered, availabilityBefore: round(c.availabilityBefore, 4) })),
    moved: movedFigures(observer.changes),
    overReplication: {
      maxExtraCopies: Math.max(0, ...observer.samples.map(s => s.extraCopies)),
      maxDuringPartition: Math.max(0, ...partitionSamples.map(s => s.extraCopies))
    },
    singletonViolations: observer.singletonViolations.length,
    ...(observer.volumes === undefined ? {} : { volumes: volumeFigures(scenario, observer.volumes, snapshot, violations) }),
    ...(clients === undefined ? {} : { ingress: clients.figures() }),
    detection: observer.detection.result(),
    traffic: {
      bytesPerNodePerSec: stats(bytesPerNode),
      msgsPerNodePerSec: stats(msgsPerNode),
      gossipDeliveries: traffic.deliveries,
      lostCopies: traffic.lost,
      recoveredCopies: traffic.recovered,
      requests: traffic.requests,
      dials: traffic.dials
    },
    containers: { starts: observer.counts.starts, stops: observer.counts.stops, startErrors: observer.counts.errors },
    quiescentAfterMs: quiescentAfter,
    invariants: { ok: violations.length === 0, violations: violations.slice(0, 50), counts: countInvariants(violations) },
    coreErrors: cluster.net.errors,
    speed: {
      wallMs: Math.round(wallMs),
      buildMs: Math.round(buildMs),
      events: sim.events,
      eventsPerSec: Math.round(sim.events / ((wallMs - buildMs) / 1000)),
      virtualPerWall: round(sim.elapsed / (wallMs - buildMs), 2),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      pathTrees: cluster.net.paths.computed,
      decodes: cluster.wire.decodes,
      heartbeatVerifies: cluster.wire.verifies
    }
  }
  return {
    scenario,
    summary,
    samples: observer.samples,
    changes: observer.changes.map(({ acknowledged, side, assignmentBefore, ...rest }) => ({ ...rest, acknowledged: acknowledged.length })),
    windows: observer.windows,
    bytesPerNode,
    ...(clients === undefined ? {} : { requests: clients.events })
  }
}
