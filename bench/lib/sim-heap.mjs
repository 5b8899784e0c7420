// The simulator's heap: it allocates short-lived objects at a great rate (every probe, message and timer of
// thousands of nodes), and with V8's default young generation (16 MB semi-spaces) a third of a run's CPU went to
// scavenges that also promote what would have died young. Importing this module first re-runs the bench in a
// child with larger semi-spaces (SIM_SEMI_SPACE_MB, default 128; 0 keeps V8's default) and a larger old generation
// (SIM_HEAP_MB, default the smaller of 16 GiB and 60 % of this machine's memory; 0 keeps V8's default), and exits
// with its status. V8's own old-generation limit is ~4.3 GB here (a quarter of the memory, capped), and 10,000
// nodes hold ~4–5 GB live within their first virtual seconds: sim-10000 then spent its time in back-to-back
// mark-compacts near the limit, or died out of memory. A limit is a ceiling, not a reservation: the heap grows
// with what is live. Measured on sim-1000 (SIM_BENCH_SECONDS=30) and sim-10000: see simulations/README.md,
// "What a run costs".
import { spawnSync } from 'node:child_process'
import { totalmem } from 'node:os'
import { argv, env, execArgv, execPath, exit } from 'node:process'

/** MB from the environment variable, or `fallback` when it is unset or empty */
const setting = (name, fallback) => env[name] === undefined || env[name] === '' ? fallback : Number(env[name])
const semiMb = setting('SIM_SEMI_SPACE_MB', 128)
const heapMb = setting('SIM_HEAP_MB', Math.min(16_384, Math.floor(totalmem() * 0.6 / 2 ** 20)))
const flags = [
  ...(semiMb > 0 && !execArgv.some(a => a.startsWith('--max-semi-space-size')) ? [`--max-semi-space-size=${semiMb}`] : []),
  ...(heapMb > 0 && !execArgv.some(a => a.startsWith('--max-old-space-size')) ? [`--max-old-space-size=${heapMb}`] : [])
]
if (flags.length > 0) {
  const run = spawnSync(execPath, [...flags, ...execArgv, ...argv.slice(1)], { stdio: 'inherit' })
  exit(run.status ?? 1)
}
