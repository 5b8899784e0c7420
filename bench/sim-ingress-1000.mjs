// The routing mesh's failover in the simulator at 1,000 nodes (simulations/scenarios/ingress-failover.yaml):
// a client loop against one node's published port, each request on a new connection, while the node of the
// only replica of `web` is killed (its host refuses connections, as after kill -9). The entry node forwards
// with the real core's Forwarder over the modelled network; the mesh detects the death, places the replica
// elsewhere, starts it (500 ms) and sees it healthy (1 s health check).
// Figures: requests, failedRequests, gapMs (the longest time between two answers), answerP50Ms, and the
// entry's first crash detection; beside them the real ingress-failover figures (3 nodes, docs/INGRESS.md).
//   npm run bench -- sim-ingress-1000        (SIM_INGRESS_SEEDS=1,2,3 runs several seeds)
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { loadScenario, runScenario } from '../simulations/dist/src/index.js'

const REAL = { source: 'bench/ingress-failover.mjs, 3 real nodes, 3 runs (load 18)', failedRequests: 0, gapP50Ms: 2800, gapMaxMs: 3400 }
const seeds = (process.env.SIM_INGRESS_SEEDS ?? '1').split(',').map(Number)
const base = await loadScenario(fileURLToPath(new URL('../simulations/scenarios/ingress-failover.yaml', import.meta.url)))
const t0 = performance.now()
const runs = []
for (const seed of seeds) {
  const result = await runScenario({ ...base, seed }, { onProgress: p => process.stderr.write(`sim-ingress-1000 seed ${seed}: ${p.phase} ${Math.round(p.elapsed / 1000)}/${Math.round(p.total / 1000)} s virtual, ${Math.round(p.wallMs / 1000)} s wall\n`) })
  const i = result.summary.ingress
  runs.push({ seed, requests: i.requests, failedRequests: i.failedRequests, gapMs: i.gapMs, answerP50Ms: i.answerMs.p50, retried: i.retried, attempts: i.attempts, crashDetectMs: result.summary.detection.crashDetectMs.p50, wallMs: result.summary.speed.wallMs, peakRssMb: result.summary.speed.peakRssMb })
}
const gaps = runs.map(r => r.gapMs).sort((a, b) => a - b)
console.log(JSON.stringify({
  name: 'sim-ingress-1000',
  nodes: base.nodes,
  runs: runs.length,
  requests: runs.reduce((a, r) => a + r.requests, 0),
  failedRequests: runs.reduce((a, r) => a + r.failedRequests, 0),
  gapMs: gaps[Math.floor((gaps.length - 1) / 2)],
  gapMaxMs: gaps.at(-1),
  perRun: runs,
  real: REAL,
  ms: Math.round(performance.now() - t0),
  load: loadavg().map(x => Math.round(x * 100) / 100)
}))
