// Simulator speed: 1,000 nodes, 30 orgs, 3,000 services, 10 virtual minutes of churn
// (MTBF 2 h, repair 5 min), the real node core on every node. Target: under 60 s wall.
//   npx tsc -b simulations && node bench/sim-1000.mjs
// SIM_BENCH_SECONDS=120 shortens the virtual time (the figures then say so). SIM_BENCH_SETTLE=120 lets the mesh settle
// up to that many virtual seconds after the churn before the invariant check (cpuMs still counts the whole run;
// runCpuMs the churn alone). The mesh starts warm (every node
// knows every member's alive update: simulations/src/cluster/warm.ts); SIM_BENCH_COLD=1 boots it cold instead
// (1,000 nodes learning 1,000 alive updates each first: ~25 virtual s of n² gossip).
// first: re-runs this bench with the simulator's heap settings (bench/lib/sim-heap.mjs)
import './lib/sim-heap.mjs'
import { fileURLToPath } from 'node:url'
import { loadavg } from 'node:os'
import { loadScenario, runScenario } from '../simulations/dist/src/index.js'

const seconds = Number(process.env.SIM_BENCH_SECONDS ?? 600)
const base = await loadScenario(fileURLToPath(new URL('../simulations/scenarios/churn-1000.yaml', import.meta.url)))
const warm = process.env.SIM_BENCH_COLD !== '1'
const settle = Number(process.env.SIM_BENCH_SETTLE ?? 0)
const scenario = { ...base, warm, duration: seconds * 1000, settle: settle * 1000, timeline: [{ at: Math.min(60_000, seconds * 100), kind: 'churn', until: seconds * 1000, mtbf: 2 * 3_600_000, repair: 300_000 }] }
const t0 = performance.now()
const cpuMs = () => Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000)
let runCpuMs
const result = await runScenario(scenario, {
  onProgress: p => {
    if (runCpuMs === undefined && p.phase !== 'build' && p.phase !== 'run') runCpuMs = cpuMs()
    process.stderr.write(`sim-1000: ${p.phase} ${Math.round(p.elapsed / 1000)}/${seconds} s virtual, ${Math.round(p.wallMs / 1000)} s wall, ${Math.round(cpuMs() / 1000)} s CPU, rss ${Math.round(process.memoryUsage().rss / 1e6)} MB\n`)
  }
})
const s = result.summary
const cpu = cpuMs()
console.log(JSON.stringify({
  name: 'sim-1000',
  ms: Math.round(performance.now() - t0),
  // CPU this process used (user + system): on a shared, loaded machine the wall time says more of the others
  cpuMs: cpu,
  runCpuMs,
  settleSeconds: settle,
  quiescentAfterMs: s.quiescentAfterMs,
  loadAvg1m: Math.round(loadavg()[0] * 10) / 10,
  eventsPerSec: s.speed.eventsPerSec,
  virtualSeconds: s.virtualSeconds,
  warm,
  nodes: s.nodes,
  services: s.services,
  events: s.speed.events,
  // the work per node and virtual second (with churn mostly SWIM's own: probes, indirect probes, gossip while updates
  // wait, each a request and its answer), and the run's CPU per modelled request: what a 60 s run would have to cut
  requests: s.traffic.requests,
  eventsPerNodeSecond: Math.round(s.speed.events / s.nodes / s.virtualSeconds * 10) / 10,
  requestsPerNodeSecond: Math.round(s.traffic.requests / s.nodes / s.virtualSeconds * 10) / 10,
  // of those, the ones that dialled first (past the connection limit a probe of an unconnected member; each a handshake on a real host)
  dialsPerNodeSecond: Math.round(s.traffic.dials / s.nodes / s.virtualSeconds * 100) / 100,
  cpuUsPerRequest: Math.round(cpu * 1000 / Math.max(1, s.traffic.requests)),
  buildMs: s.speed.buildMs,
  peakRssMb: s.speed.peakRssMb,
  availability: s.availability.mean,
  failures: result.changes.filter(c => c.kind === 'kill').length,
  // without SIM_BENCH_SETTLE the run ends mid-churn, so a check may catch a node that has not caught up yet
  invariantsOk: s.invariants.ok,
  // every violation, per invariant (the summary keeps the first 50 only)
  violations: s.invariants.counts,
  firstViolation: s.invariants.violations[0]?.detail
}))
