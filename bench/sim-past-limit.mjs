// sim-past-limit: what the simulator's CPU model charges a node of an idle mesh with more live members than a host
// keeps connections (every probe of a member not connected dials, and the trim closes the connection again), at
// sizes this machine cannot run as real processes. The costs are measured first on this machine, as cpu-costs
// measures them: a message, and a connection's life per end (bench/lib/cpu-costs.mjs, `connectionCosts`). Each node
// has a core of its own (one server each); the mesh starts warm (every member known, as after the joins), runs
// until its kept connections are full (30 virtual s, and half a second per kept connection: a node probes one member
// every 500 ms; the first 30 s of a 250-member run still dialled twice as often), and the steps charged in the next
// 60 virtual s are counted (bench/lib/step-counts.mjs). Members on one LAN
// (0.5 ms), no loss, no services: membership's own traffic, as `membership-past-limit` runs it on real hosts.
// Compare the first pair with that bench's real figures (20 members keeping 14: CPU per member and second, beyond
// the same 20 with no limit).
//   SIM_PAST_LIMIT_SIZES=20/14,20/100,250/200,1000/200   members/kept, one run each (the default)
//   SIM_PAST_LIMIT_COSTS=0.44/30.4                        message/dial in ms, instead of measuring them
//   npx tsc -b && node bench/sim-past-limit.mjs
import { loadavg } from 'node:os'
import { resolveScenario, runScenario } from '../simulations/dist/src/index.js'
import { connectionCosts } from './lib/cpu-costs.mjs'
import { countSteps } from './lib/step-counts.mjs'

/** virtual ms before the window, for `kept` connections kept */
const warmMs = (kept) => 30_000 + 500 * kept
const WINDOW_MS = 60_000
const sizes = (process.env.SIM_PAST_LIMIT_SIZES ?? '20/14,20/100,250/200,1000/200').split(',').map(s => s.split('/').map(Number))
const given = process.env.SIM_PAST_LIMIT_COSTS?.split('/').map(Number)
const { message, dial } = given === undefined ? await connectionCosts() : { message: given[0], dial: given[1] }
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d

for (const [nodes, keep] of sizes) {
  const t0 = performance.now()
  const scenario = resolveScenario({
    name: `past-limit-${nodes}-${keep}`,
    seed: 1,
    duration: `${(warmMs(keep) + WINDOW_MS) / 1000}s`,
    settle: 0,
    sample: '1s',
    mesh: { nodes, orgs: Math.min(30, Math.max(1, Math.round(nodes / 10))), warm: true },
    services: { count: 0 },
    network: { regions: ['lan'], latency: { sameOrg: '0.2ms', sameRegion: '0.5ms', jitter: 0.2 }, loss: 0, bandwidth: '1Gbit', maxConnections: keep },
    cpu: { message: `${message}ms`, dial: `${dial}ms` }
  })
  let clock
  // the costs as given: read through the counting wrapper, each read would count a step
  const stepCosts = scenario.cpu.costs
  const { costs, counts } = countSteps(stepCosts, () => clock?.elapsed ?? 0, (t) => t >= warmMs(keep) ? 'window' : undefined)
  scenario.cpu.costs = costs
  const result = await runScenario(scenario, { onCluster: (cluster) => { clock = cluster.sim } })
  const steps = counts.window ?? {}
  const perNodeSecond = (n) => n / nodes / (WINDOW_MS / 1000)
  const cpuBy = Object.fromEntries(Object.entries(steps).map(([step, n]) => [step, round(perNodeSecond(n * (stepCosts[step] ?? 0)))]))
  console.log(JSON.stringify({
    name: 'sim-past-limit',
    members: nodes,
    kept: keep,
    costsMs: { message: round(message, 2), dial: round(dial, 1) },
    // connections opened per node and second (each dial charges both of its ends)
    dialsPerNodeSecond: round(perNodeSecond((steps.dial ?? 0) / 2), 2),
    // ms of one core per node and second the model charges, by step, and in all
    cpuMsPerNodeSecond: round(Object.values(cpuBy).reduce((a, b) => a + b, 0)),
    cpuMsByStep: cpuBy,
    availability: result.summary.availability.mean,
    // verdicts about members that were running and reachable: the charged CPU delays what each node handles
    falseSuspicions: result.summary.detection.falseSuspicions,
    falseDeaths: result.summary.detection.falseDeaths,
    ms: Math.round(performance.now() - t0),
    loadAvg1m: round(loadavg()[0])
  }))
}
