// The simulator's heap: it allocates short-lived objects at a great rate (every probe, message and timer of
// thousands of nodes), and with V8's default young generation (16 MB semi-spaces) a third of a run's CPU went to
// scavenges that also promote what would have died young. Importing this module first re-runs the bench in a
// child with larger semi-spaces (SIM_SEMI_SPACE_MB, default 128; 0 keeps V8's default) and exits with its status.
// Measured on sim-1000 (SIM_BENCH_SECONDS=30): see simulations/README.md, "What a run costs".
import { spawnSync } from 'node:child_process'
import { argv, env, execArgv, execPath, exit } from 'node:process'

const mb = Number(env.SIM_SEMI_SPACE_MB ?? 128)
if (mb > 0 && !execArgv.some(a => a.startsWith('--max-semi-space-size'))) {
  const run = spawnSync(execPath, [`--max-semi-space-size=${mb}`, ...execArgv, ...argv.slice(1)], { stdio: 'inherit' })
  exit(run.status ?? 1)
}
