// The simulator's heap. Importing this module first re-runs the bench in a child with V8 settings for it, and
// exits with the child's status:
// - semi-spaces of 128 MB per 1,000 simulated nodes (at least 128, at most 1,024; SIM_SEMI_SPACE_MB sets them,
//   0 keeps V8's default of 16 MB). The simulator allocates short-lived objects at a rate that grows with the nodes
//   (every probe, message and timer), and objects live a fixed virtual time (a probe's timeout, a message's
//   latency): with a fixed young generation, scavenges come N times as often, so each finds more of what it holds
//   still alive, copies and promotes it, and the old generation fills with what dies soon after: at 1,000 nodes
//   and 16 MB a third of the CPU went to scavenges; at 10,000 nodes and 128 MB the collector's share grew 14-fold
//   for 3.3 times the nodes of a 3,000-node run. Young space in proportion to the nodes keeps a scavenge's
//   interval in virtual time about constant.
// - an old generation of up to the smaller of 16 GiB and 60 % of this machine's memory (SIM_HEAP_MB; 0 keeps V8's
//   default, ~4.3 GB here, which 10,000 nodes outgrow within their first virtual seconds). A limit, not a
//   reservation: the heap grows with what is live.
// The bench says its nodes in the import's query (`./lib/sim-heap.mjs?nodes=10000`); SIM_BENCH_NODES overrides it.
// Measured on sim-1000 and sim-10000: see simulations/README.md, "What a run costs" and "10,000 nodes".
import { spawnSync } from 'node:child_process'
import { totalmem } from 'node:os'
import { argv, env, execArgv, execPath, exit } from 'node:process'

/** MB from the environment variable, or `fallback` when it is unset or empty */
const setting = (name, fallback) => env[name] === undefined || env[name] === '' ? fallback : Number(env[name])
const nodes = setting('SIM_BENCH_NODES', Number(new URL(import.meta.url).searchParams.get('nodes') ?? 1000))
const semiMb = setting('SIM_SEMI_SPACE_MB', Math.min(1024, Math.max(128, 128 * Math.ceil(nodes / 1000))))
const heapMb = setting('SIM_HEAP_MB', Math.min(16_384, Math.floor(totalmem() * 0.6 / 2 ** 20)))
const flags = [
  ...(semiMb > 0 && !execArgv.some(a => a.startsWith('--max-semi-space-size')) ? [`--max-semi-space-size=${semiMb}`] : []),
  ...(heapMb > 0 && !execArgv.some(a => a.startsWith('--max-old-space-size')) ? [`--max-old-space-size=${heapMb}`] : [])
]
if (flags.length > 0) {
  const run = spawnSync(execPath, [...flags, ...execArgv, ...argv.slice(1)], { stdio: 'inherit' })
  exit(run.status ?? 1)
}
