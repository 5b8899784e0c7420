// standby-start: what a warm standby saves on a real Docker engine, measured through minga's own Docker
// runtime. STANDBY_RUNS rounds (default 10) of two starts of one replica (minga/busybox:1 running the
// failover benchmark's loop, which stops at SIGTERM):
//   - cold: `runtime.start` with no standby (`docker create` + `docker start`, the image present)
//   - standby: `runtime.prepare` first (not timed), then `runtime.start`, which only starts it
// Prints the p50 of each, their ratio (`standbyShare`: the share of a cold start a standby's start
// costs; the memory runtime's model takes it, node/src/runtime/constants.ts STANDBY_START_SHARE), the
// 1-minute load average and the process's CPU time. Without a Docker engine it prints a skipped line.
import { cpus, loadavg } from 'node:os'
import { defaultSpec } from '../protocol/dist/src/index.js'
import { DockerRuntime } from '../node/dist/src/runtime/index.js'
import { engines } from '../test/dist/src/docker-engines.js'
import { LOOP_COMMAND } from '../test/dist/src/docker-specs.js'
import { median } from './lib/stats.mjs'

const RUNS = Math.max(1, Number(process.env.STANDBY_RUNS ?? 10))
const started = await engines(['bench-standby'])
if (started === undefined) {
  console.log(JSON.stringify({ name: 'standby-start', skipped: 'no Docker engine (see scripts/docker-engine.sh)' }))
  process.exit(0)
}
const runtime = new DockerRuntime({ meshId: 'bench', nodeId: 'standby-start', socketPath: started[0].socket })
const cpu0 = process.cpuUsage()
const cold = []
const warm = []
const loads = []
try {
  for (let run = 0; run < RUNS; run++) {
    loads.push(loadavg()[0])
    const replica = (kind) => ({ service: `acme/${kind}`, replica: 0, hash: `${kind}${run}`.padEnd(12, '0').slice(0, 12), spec: defaultSpec('acme', kind, 'minga/busybox:1', { command: LOOP_COMMAND }) })
    let t = performance.now()
    const c = await runtime.start(replica('cold'))
    cold.push(performance.now() - t)
    const standby = await runtime.prepare(replica('warm'))
    t = performance.now()
    const w = await runtime.start(replica('warm'))
    warm.push(performance.now() - t)
    if (w.id !== standby.id) throw new Error('the start created a container instead of starting the standby')
    await runtime.stop(c.id)
    await runtime.stop(w.id)
  }
} finally {
  await runtime.close()
}
const cpu = process.cpuUsage(cpu0)
console.log(JSON.stringify({
  name: 'standby-start',
  runs: RUNS,
  coldP50Ms: Math.round(median(cold)),
  standbyP50Ms: Math.round(median(warm)),
  standbyShare: Math.round(median(warm) / median(cold) * 100) / 100,
  coldMs: cold.map(Math.round),
  standbyMs: warm.map(Math.round),
  loadAvg1m: loads.map(l => Math.round(l * 10) / 10),
  cores: cpus().length,
  cpuMs: Math.round((cpu.user + cpu.system) / 1000)
}))
