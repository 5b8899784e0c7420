// Simulator scale: 10,000 nodes, 100 orgs, 10,000 services, steady state for 2 virtual
// minutes, the real node core on every node. Figures: wall ms and peak RSS.
//   npx tsc -b simulations && node --max-old-space-size=20000 bench/sim-10000.mjs
// SIM_BENCH_SECONDS and SIM_BENCH_NODES shrink it (the figures then say so). The mesh starts warm (see
// simulations/src/cluster/warm.ts: a cold boot of 10,000 nodes is ~2·10⁹ alive-update sends); SIM_BENCH_COLD=1 boots it cold.
// first: re-runs this bench with the simulator's heap settings (bench/lib/sim-heap.mjs)
import './lib/sim-heap.mjs?nodes=10000'
import { fileURLToPath } from 'node:url'
import { loadavg } from 'node:os'
import { loadScenario, runScenario } from '../simulations/dist/src/index.js'

const seconds = Number(process.env.SIM_BENCH_SECONDS ?? 120)
const nodes = Number(process.env.SIM_BENCH_NODES ?? 10_000)
const base = await loadScenario(fileURLToPath(new URL('../simulations/scenarios/steady-10000.yaml', import.meta.url)))
const warm = process.env.SIM_BENCH_COLD !== '1'
const scenario = { ...base, warm, nodes, services: { ...base.services, count: nodes, singletons: Math.round(nodes / 100) }, duration: seconds * 1000, settle: 0 }
const t0 = performance.now()
const cpuMs = () => Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000)
const result = await runScenario(scenario, { onProgress: p => process.stderr.write(`sim-10000: ${p.phase} ${Math.round(p.elapsed / 1000)}/${seconds} s virtual, ${Math.round(p.wallMs / 1000)} s wall, ${Math.round(cpuMs() / 1000)} s CPU, rss ${Math.round(process.memoryUsage().rss / 1e6)} MB\n`) })
const s = result.summary
console.log(JSON.stringify({
  name: 'sim-10000',
  ms: Math.round(performance.now() - t0),
  // CPU this process used (user + system): on a shared, loaded machine the wall time says more of the others
  cpuMs: cpuMs(),
  loadAvg1m: Math.round(loadavg()[0] * 10) / 10,
  peakRssMb: s.speed.peakRssMb,
  virtualSeconds: s.virtualSeconds,
  warm,
  nodes: s.nodes,
  services: s.services,
  events: s.speed.events,
  eventsPerSec: s.speed.eventsPerSec,
  buildMs: s.speed.buildMs,
  availability: s.availability.mean
}))
