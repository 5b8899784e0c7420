/**
 * Every chart and figure of the report agrees with the run's summary: the
 * test reads the numbers back out of the HTML (each svg carries its scale)
 * and compares them with summary.json's. `deploy-kill-10` samples every
 * 100 ms, where a chart of raw samples (each a heartbeat burst or nothing)
 * drew about 80 kB/s for a run whose figures said 11 kB/s.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { renderReport, runScenario, type SimResult } from '../src/index.js'
import { scenario } from './helpers.js'

interface Chart { x0: number, x1: number, y0: number, y1: number, lines: Map<string, Array<[number, number]>>, bars: Map<string, number[]> }

/** the numbers a chart draws, from its svg's scale and coordinates */
function chart (html: string, id: string): Chart {
  const figure = new RegExp(`<figure class="chart" data-chart="${id}">.*?</figure>`, 's').exec(html)?.[0]
  assert.ok(figure !== undefined, `chart ${id} is in the report`)
  const attr = (name: string): string => new RegExp(`${name}="([^"]*)"`).exec(figure)![1]
  const [x0, x1, y0, y1] = ['data-x0', 'data-x1', 'data-y0', 'data-y1'].map(a => Number(attr(a)))
  const [left, top, width, height] = attr('data-plot').split(' ').map(Number)
  const x = (px: number): number => x0 + (px - left) / width * (x1 - x0)
  const y = (px: number): number => y0 + (top + height - px) / height * (y1 - y0)
  const lines = new Map<string, Array<[number, number]>>()
  for (const m of figure.matchAll(/<path class="series" data-label="([^"]*)" d="([^"]*)"/g)) {
    lines.set(m[1], [...m[2].matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map(p => [x(Number(p[1])), y(Number(p[2]))]))
  }
  const bars = new Map<string, number[]>()
  for (const m of figure.matchAll(/<rect class="bar" data-series="([^"]*)" x="[^"]*" y="[^"]*" width="[^"]*" height="([^"]*)"/g)) {
    bars.set(m[1], [...(bars.get(m[1]) ?? []), Number(m[2]) / height * (y1 - y0)])
  }
  return { x0, x1, y0, y1, lines, bars }
}

/** the figures table: row name → its text */
function figures (html: string): Map<string, string> {
  const table = /<table id="figures">(.*?)<\/table>/s.exec(html)![1]
  return new Map([...table.matchAll(/<tr><th>([^<]*)<\/th><td>(.*?)<\/td><\/tr>/gs)].map(m => [m[1], m[2].replace(/<[^>]+>/g, ' ')]))
}

const close = (actual: number, expected: number, tolerance: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} drawn, ${expected} in the summary`)

let result: SimResult
let html: string

test.before(async () => {
  result = await runScenario(await scenario('deploy-kill-10', { duration: 100_000, settle: 20_000 }))
  html = renderReport(result)
})

test('bandwidth over time: 1 s windows whose level and mean are the summary\'s, with the run\'s mean drawn', () => {
  const s = result.summary
  assert.ok(result.scenario.sample < 1000, 'the scenario samples under a second')
  const c = chart(html, 'bandwidth-time')
  const points = c.lines.get('bytes/node/s')!
  // the last window holds what is left of the run
  for (let i = 1; i < points.length - 1; i++) assert.ok(points[i][0] - points[i - 1][0] >= 0.99, `windows of at least a second (${points[i - 1][0]} → ${points[i][0]})`)
  const mean = points.reduce((sum, p) => sum + p[1], 0) / points.length
  const mean0 = s.traffic.bytesPerNodePerSec.mean
  close(mean, mean0, mean0 * 0.02, 'the windows\' mean')
  const sorted = points.map(p => p[1]).sort((a, b) => a - b)
  const typical = sorted[sorted.length >> 1]
  // membership's probes are steady, the deploys and the kill come in bursts: a typical second is within a few times the mean, not 0 or a burst
  assert.ok(typical > mean0 / 4 && typical < mean0 * 2, `a typical window (${Math.round(typical)} B/s) reads near the run's rate (${mean0} B/s)`)
  for (const [, level] of c.lines.get('run mean')!) close(level, mean0, (c.y1 - c.y0) / 188, 'the dashed run mean')
  const shown = mean0 >= 1000 ? `${(mean0 / 1000).toFixed(1)} kB` : `${Math.round(mean0)} B`
  assert.match(figures(html).get('traffic')!, new RegExp(`^${shown}/s `))
})

test('availability, over-replication, convergence, per-node bandwidth and moved replicas agree with the summary', () => {
  const s = result.summary
  const tick = (c: Chart): number => (c.y1 - c.y0) / 188
  const availability = chart(html, 'availability').lines.get('available')!
  close(availability.at(-1)![1], s.availability.final * 100, tick(chart(html, 'availability')), 'final availability')
  const steady = availability.filter(([t]) => s.availability.steadyFrom !== null && t >= s.availability.steadyFrom - 0.05)
  close(Math.min(...steady.map(p => p[1])), s.availability.min * 100, tick(chart(html, 'availability')), 'least availability after the first full one')
  const over = chart(html, 'over-replication')
  close(Math.max(...over.lines.get('extra copies')!.map(p => p[1])), s.overReplication.maxExtraCopies, tick(over), 'most extra copies')
  const convergence = chart(html, 'convergence').bars.get('changes')!
  close(convergence.reduce((a, b) => a + b, 0), s.convergenceMs.n, 0.5, 'changes in the convergence histogram')
  const perNode = chart(html, 'bandwidth-nodes').bars.get('nodes')!
  close(perNode.reduce((a, b) => a + b, 0), s.nodes, 0.5, 'nodes in the per-node bandwidth histogram')
  const moved = chart(html, 'moved')
  if (result.changes.filter(c => c.moved !== undefined).length <= 60) {
    close((moved.bars.get('moved') ?? []).reduce((a, b) => a + b, 0), s.moved.moved, 0.5, 'replicas moved')
    close((moved.bars.get('optimal') ?? []).reduce((a, b) => a + b, 0), s.moved.optimal, 0.5, 'replicas that had to move')
  }
})

test('the figures table says what the summary says', () => {
  const s = result.summary
  const f = figures(html)
  assert.match(f.get('mesh')!, new RegExp(`^${s.nodes} nodes, ${s.orgs} organizations, ${s.services} initial services$`))
  assert.match(f.get('virtual time')!, new RegExp(`^${s.virtualSeconds} s `))
  const pct = (x: number): string => `${(x * 100).toFixed(3)}%`
  assert.ok(f.get('availability')!.includes(`mean ${pct(s.availability.mean)}, min ${pct(s.availability.min)}`), f.get('availability'))
  assert.ok(f.get('availability')!.includes(`final ${pct(s.availability.final)}`))
  assert.match(f.get('convergence')!, new RegExp(` over ${s.convergenceMs.n} changes; never: ${s.convergenceMs.never}$`))
  assert.match(f.get('replicas moved')!, s.moved.ratio === null ? /^–$/ : new RegExp(`^${s.moved.moved} moved, ${s.moved.optimal} had to \\(ratio ${s.moved.ratio}\\)$`))
  assert.is(f.get('over-replication'), `at most ${s.overReplication.maxExtraCopies} extra copies (${s.overReplication.maxDuringPartition} during partitions)`)
  assert.is(f.get('singleton violations'), String(s.singletonViolations))
  assert.match(f.get('traffic')!, new RegExp(` ${s.traffic.gossipDeliveries} gossip deliveries, ${s.traffic.recoveredCopies} recovered by IHAVE/IWANT, ${s.traffic.lostCopies} lost$`))
  assert.match(f.get('run digest')!, new RegExp(`${s.digest} .*\\(seed ${s.seed}\\)`))
})

test.run()
