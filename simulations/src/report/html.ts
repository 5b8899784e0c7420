/**
 * The run as one self-contained HTML page: figures, invariant verdicts,
 * and inline SVG charts (availability with fault windows shaded,
 * convergence times, bandwidth per node, moved replicas, over-replication).
 * Optionally the same figures from real nodes side by side.
 */
import type { SimResult } from '../run.js'
import type { Summary } from '../measure/summary.js'
import { ingressLine } from '../measure/ingress.js'
import { formatDuration } from '../scenario/duration.js'
import { barChart, escapeHtml, histogram, lineChart, type Band } from './svg.js'

/** figures measured with real node processes (e.g. by test/), to show beside the simulation's */
export interface RealFigures {
  source: string
  deployConvergeMs?: number
  deployRunningMs?: number
  failoverConvergeMs?: number
  failoverRecoveredMs?: number
}

const CONVERGENCE_EDGES = [0, 250, 500, 1000, 2000, 5000, 10_000, 20_000, 60_000, 120_000]

/** the run's report: one self-contained HTML page with its figures and charts (beside the real figures, when given) */
export function renderReport (result: SimResult, real?: RealFigures): string {
  const { summary: s, samples, changes, windows, scenario } = result
  const bands: Band[] = windows.map(w => ({ from: w.from / 1000, to: w.to / 1000, label: w.label, kind: w.kind }))
  const bandwidth = bandwidthSeries(samples, scenario.sample, s.nodes)
  const charts = [
    lineChart('availability', 'Availability: healthy replicas / desired (shaded: faults and rollouts)', [
      { points: samples.map(x => [x.t, x.availability * 100]), color: '#1a73e8', label: 'available' },
      { points: samples.map(x => [x.t, x.coverage * 100]), color: '#fbbc04', label: 'deployed (new included)', dashed: true },
      { points: samples.map(x => [x.t, x.updated * 100]), color: '#34a853', label: 'on the current spec', dashed: true }
    ], { bands, xLabel: 'virtual seconds', yLabel: '%', yMin: 0, yMax: 100 }),
    barChart('convergence', 'Convergence: time for all live nodes to agree after each change', histogram(changes.filter(c => c.converged !== null).map(c => c.converged!), CONVERGENCE_EDGES), {
      series: [{ label: 'changes', color: '#1a73e8' }], xLabel: 'ms after the change (bin start)', yLabel: 'changes'
    }),
    lineChart('bandwidth-time', `Bandwidth: bytes sent per node per second, ${bandwidth.windowSeconds} s averages (dashed: the run's mean, as in the figures)`, [
      { points: bandwidth.points, color: '#a142f4', label: 'bytes/node/s' },
      { points: bandwidth.points.length === 0 ? [] : [[bandwidth.points[0][0], s.traffic.bytesPerNodePerSec.mean], [bandwidth.points.at(-1)![0], s.traffic.bytesPerNodePerSec.mean]], color: '#5f6368', label: 'run mean', dashed: true }
    ], { bands, xLabel: 'virtual seconds', yLabel: 'bytes/s' }),
    barChart('bandwidth-nodes', 'Bandwidth per node over the whole run (nodes per bin)', histogram(result.bytesPerNode, bandwidthEdges(result.bytesPerNode)), {
      series: [{ label: 'nodes', color: '#a142f4' }], xLabel: 'bytes sent per second (bin start)', yLabel: 'nodes'
    }),
    barChart('moved', 'Replicas moved against the least that had to move, per membership change', changes.filter(c => c.moved !== undefined).slice(0, 60).map(c => ({ label: `${Math.round(c.at / 1000)}s`, values: [c.moved!, c.optimal ?? 0] })), {
      series: [{ label: 'moved', color: '#ea4335' }, { label: 'optimal', color: '#fbbc04' }], xLabel: 'change (virtual time)', yLabel: 'replicas'
    }),
    lineChart('over-replication', 'Over-replication: running copies beyond one per replica', [
      { points: samples.map(x => [x.t, x.extraCopies]), color: '#ea4335', label: 'extra copies' }
    ], { bands, xLabel: 'virtual seconds', yLabel: 'copies' }),
    ...(result.requests === undefined
      ? []
      : [lineChart('ingress-answers', 'Requests through the routing mesh: time to answer, by when the answer came (a failover shows as one slow answer)', [
          { points: result.requests.filter(e => e.ok).map(e => [e.end / 1000, e.end - e.start]), color: '#1a73e8', label: 'answer ms' }
        ], { bands, xLabel: 'virtual seconds', yLabel: 'ms' })])
  ]
  const ok = s.invariants.ok && s.singletonViolations === 0
  const rows: Array<[string, string]> = [
    ['mesh', `${s.nodes} nodes, ${s.orgs} organizations, ${s.services} initial services`],
    ['virtual time', `${s.virtualSeconds} s (timeline ${formatDuration(scenario.duration)}, quiet ${s.quiescentAfterMs === null ? 'never within the settle time' : `${formatDuration(s.quiescentAfterMs)} after it`})`],
    ['availability', `mean ${pct(s.availability.mean)}, min ${pct(s.availability.min)} (from first full availability at ${s.availability.steadyFrom ?? '–'} s), final ${pct(s.availability.final)}`],
    ['convergence', `p50 ${ms(s.convergenceMs.p50)}, p99 ${ms(s.convergenceMs.p99)}, max ${ms(s.convergenceMs.max)} over ${s.convergenceMs.n} changes; never: ${s.convergenceMs.never}`],
    ['recovery', s.recoveries.length === 0 ? '–' : s.recoveries.slice(0, 8).map(r => `${escapeHtml(r.label)} at ${r.at} s: ${r.recoveredMs === null ? 'not within the run' : ms(r.recoveredMs)}`).join('<br>') + (s.recoveries.length > 8 ? `<br>… ${s.recoveries.length - 8} more` : '')],
    ['replicas moved', s.moved.ratio === null ? '–' : `${s.moved.moved} moved, ${s.moved.optimal} had to (ratio ${s.moved.ratio})`],
    ['over-replication', `at most ${s.overReplication.maxExtraCopies} extra copies (${s.overReplication.maxDuringPartition} during partitions)`],
    ['singleton violations', String(s.singletonViolations)],
    ...volumeRows(s.volumes),
    ...(s.ingress === undefined ? [] : [['routing mesh', escapeHtml(ingressLine(s.ingress))] as [string, string]]),
    ['failure detection', `crash detected in p50 ${ms(s.detection.crashDetectMs.p50)} (max ${ms(s.detection.crashDetectMs.max)}, ${s.detection.crashDetectMs.n} crashes), silent loss in p50 ${ms(s.detection.silentDetectMs.p50)} (max ${ms(s.detection.silentDetectMs.max)}, ${s.detection.silentDetectMs.n}); false verdicts: ${s.detection.falseDeaths} deaths, ${s.detection.falseSuspicions} suspicions; stalled or slowed nodes declared dead ${s.detection.deathsOfStalled} times`],
    ['traffic', `${bytes(s.traffic.bytesPerNodePerSec.mean)}/s and ${s.traffic.msgsPerNodePerSec.mean} messages/s sent per node (p99 ${bytes(s.traffic.bytesPerNodePerSec.p99)}/s); ${s.traffic.gossipDeliveries} gossip deliveries, ${s.traffic.recoveredCopies} recovered by IHAVE/IWANT, ${s.traffic.lostCopies} lost`],
    ['simulator', `${(s.speed.wallMs / 1000).toFixed(1)} s wall (build ${(s.speed.buildMs / 1000).toFixed(1)} s), ${s.speed.events} events, ${s.speed.eventsPerSec} events/s, ${s.speed.virtualPerWall}× real time, peak RSS ${s.speed.peakRssMb} MB`],
    ['run digest', `<code>${s.digest}</code> (seed ${s.seed})`]
  ]
  const byKind = Object.entries(s.convergenceByKind).map(([kind, k]) => `<tr><td>${kind}</td><td>${k.n}</td><td>${ms(k.p50)}</td><td>${ms(k.p99)}</td><td>${ms(k.max)}</td><td>${k.never}</td></tr>`).join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>minga sim: ${escapeHtml(s.scenario)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:820px;color:#202124}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}
th{font-weight:600;color:#5f6368}.verdict{padding:8px 12px;border-radius:6px;font-weight:600}
.ok{background:#e6f4ea;color:#137333}.bad{background:#fce8e6;color:#a50e0e}
figure{margin:18px 0}figcaption{font-weight:600;margin-bottom:4px}
.tick{font-size:10px;fill:#5f6368}.axis-label,.legend{font-size:11px;fill:#3c4043}code{font-size:12px}
</style></head><body>
<h1>minga simulation: ${escapeHtml(s.scenario)}</h1>
<p>${escapeHtml(scenario.description)}</p>
<p class="verdict ${ok ? 'ok' : 'bad'}" id="verdict">${ok ? 'All invariants held' : `Invariants broken: ${s.invariants.violations.length}`}</p>
${s.invariants.violations.length === 0 ? '' : `<ul id="violations">${s.invariants.violations.map(v => `<li><b>${v.invariant}</b>: ${escapeHtml(v.detail)}</li>`).join('')}</ul>`}
<h2>Figures</h2>
<table id="figures">${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>
<h2>Convergence by kind of change</h2>
<table><tr><th>change</th><th>n</th><th>p50</th><th>p99</th><th>max</th><th>never</th></tr>${byKind}</table>
${real === undefined ? '' : comparison(result, real)}
<h2>Charts</h2>
${charts.join('\n')}
${s.coreErrors.length === 0 ? '' : `<h2>Core exceptions</h2><pre>${escapeHtml(s.coreErrors.join('\n\n'))}</pre>`}
</body></html>
`
}

function comparison (result: SimResult, real: RealFigures): string {
  const deploy = result.changes.find(c => c.kind === 'deploy')
  const kill = result.changes.find(c => c.kind === 'kill')
  const row = (label: string, sim: number | null | undefined, actual: number | undefined): string =>
    `<tr><td>${label}</td><td>${sim === null || sim === undefined ? '–' : ms(sim)}</td><td>${actual === undefined ? '–' : ms(actual)}</td></tr>`
  return `<h2>Simulation and real nodes</h2><table id="comparison"><tr><th>measure</th><th>simulated</th><th>real (${escapeHtml(real.source)})</th></tr>
${row('deploy: all nodes agree', deploy?.converged, real.deployConvergeMs)}${row('deploy: replicas running', deploy?.recovered, real.deployRunningMs)}
${row('node killed: all nodes agree', kill?.converged, real.failoverConvergeMs)}${row('node killed: replicas back', kill?.recovered, real.failoverRecoveredMs)}</table>`
}

/** at most this many points on a line: a chart 760 px wide shows no more */
const MAX_POINTS = 380

/**
 * Bytes sent per node per second over windows of at least a second (and few
 * enough to draw): a 100 ms sample holds a heartbeat burst or none, and its
 * spikes drawn as a line read as the rate. Divided by every node of the run,
 * as the summary's figure is, so the windows' mean is the run's mean
 */
function bandwidthSeries (samples: SimResult['samples'], sampleMs: number, nodes: number): { points: Array<[number, number]>, windowSeconds: number } {
  const per = Math.max(Math.ceil(1000 / sampleMs), Math.ceil(samples.length / MAX_POINTS))
  const points: Array<[number, number]> = []
  for (let i = 0; i < samples.length; i += per) {
    const group = samples.slice(i, i + per)
    const bytes = group.reduce((sum, x) => sum + x.bytes, 0)
    points.push([group.at(-1)!.t, bytes / (group.length * sampleMs / 1000) / Math.max(1, nodes)])
  }
  return { points, windowSeconds: per * sampleMs / 1000 }
}

function bandwidthEdges (values: number[]): number[] {
  const max = Math.max(1, ...values)
  const step = max / 10
  return Array.from({ length: 10 }, (_, i) => Math.round(i * step))
}

function pct (x: number): string {
  return `${(x * 100).toFixed(3)}%`
}

function ms (x: number): string {
  return formatDuration(x)
}

function bytes (x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} MB`
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} kB`
  return `${Math.round(x)} B`
}

/** the report's rows for a run with volumes (none without) */
function volumeRows (v: Summary['volumes']): Array<[string, string]> {
  if (v === undefined) return []
  return [
    ['volumes', `${v.services} services, ${bytes(v.size)} each, snapshots and restores at ${bytes(v.throughput)}/s, R = ${v.copies} holders`],
    ['snapshots', `${v.snapshots} acknowledged, p50 ${ms(v.snapshotMs.p50)}, max ${ms(v.snapshotMs.max)}; ${v.backupErrors} failed or skipped`],
    ['restores', `${v.restores}, p50 ${ms(v.restoreMs.p50)}, max ${ms(v.restoreMs.max)}; ${v.asides} diverged copies kept aside`],
    ['snapshots lost', `${v.lost} (with fewer than R holders failed); ${v.unreadable} unreadable at the end; ${v.staleStarts} singleton starts on an older volume`]
  ]
}
