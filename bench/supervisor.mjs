// supervisor: how long a node's containers outlive its minga process. One real node (minga up) on a real
// Docker engine runs two services: `polite` (stops at once on SIGTERM) and `stubborn` (ignores SIGTERM, so only
// the SIGKILL at the end of the stop grace ends it). The daemon is killed with kill -9 (SUPERVISOR_RUNS times,
// default 5) and the engine polled every 50 ms until each container has stopped:
//   supervisorKillMs        kill -9 → polite stopped (the attach grace, then one stop)
//   supervisorKillStubbornMs kill -9 → stubborn stopped (the attach grace plus the stop grace)
//   engineHungKillMs        the same with the engine frozen (SIGSTOP of dockerd): the supervisor stops the
//                           processes itself (seen in /proc), one run
//   restartAttachMs         `minga up` started again → attached to the supervisor (a restart faster than the
//                           attach grace adopts the containers)
//   supervisorRssMb         the supervisor process's resident memory
// boundMs is the promise the singleton fence relies on (node/src/core/supervision/budget.ts); every figure
// must stay under it. Without Docker engines (no dockerd, not root) it prints a skipped line.
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { DockerCluster, sleep } from '../test/dist/src/docker-cluster.js'
import { engines } from '../test/dist/src/docker-engines.js'
import { supervisorBoundMs } from '../node/dist/src/core/supervision/budget.js'

const RUNS = Math.max(1, Number(process.env.SUPERVISOR_RUNS ?? 5))
const POLL_MS = 50
const ENGINE = 'bench-sup'

const started = await engines([ENGINE])
if (started === undefined) {
  console.log(JSON.stringify({ name: 'supervisor', skipped: 'no Docker engines (see scripts/docker-engine.sh)' }))
  process.exit(0)
}

const service = (name, script) => [
  `name: ${name}`,
  'image: minga/busybox:1',
  `command: ["sh", "-c", ${JSON.stringify(script)}]`,
  'replicas: 1',
  'resources: { cpu: 50m, memory: 16Mi }',
  ''
].join('\n')

const cluster = await DockerCluster.start(started, { orgs: ['acme'] })
const runs = []
let hung
let rssMb
let failed
try {
  await cluster.deploy(0, service('polite', "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"), ['--wait', '--timeout', '120s'])
  await cluster.deploy(0, service('stubborn', "trap '' TERM; while true; do sleep 1; done"), ['--wait', '--timeout', '120s'])
  for (let run = 0; run < RUNS; run++) {
    await bothRun()
    rssMb = Math.max(rssMb ?? 0, supervisorRss())
    const t0 = Date.now()
    await cluster.kill(0)
    const stopped = await stopTimes(t0, async () => await runningServices())
    const restart = Date.now()
    await cluster.up(0)
    runs.push({ ...stopped, restartAttachMs: await attachedAt(restart) - restart })
  }
  // the engine frozen at the moment the daemon dies: only the processes can be seen (and signalled)
  await bothRun()
  const pids = await containerPids()
  const dockerd = Number(readFileSync(join(process.env.MINGA_DOCKER_ROOT ?? '/tmp/minga-docker', ENGINE, 'docker.pid'), 'utf8').trim())
  process.kill(dockerd, 'SIGSTOP')
  try {
    const t0 = Date.now()
    await cluster.kill(0)
    hung = await stopTimes(t0, async () => new Set(Object.entries(pids).filter(([, pid]) => processRuns(pid)).map(([name]) => name)))
  } finally {
    process.kill(dockerd, 'SIGCONT')
  }
} catch (err) {
  failed = err
} finally {
  await cluster.close({ failed: failed !== undefined })
}
if (failed !== undefined) {
  console.log(JSON.stringify({ name: 'supervisor', error: String(failed?.message ?? failed) }))
  process.exit(1)
}

const sorted = (key) => runs.map(r => r[key]).sort((a, b) => a - b)
const p50 = (values) => values[Math.floor((values.length - 1) / 2)]
const kill = sorted('politeMs')
const stubborn = sorted('stubbornMs')
const attach = sorted('restartAttachMs')
console.log(JSON.stringify({
  name: 'supervisor',
  runs: runs.length,
  supervisorKillMs: p50(kill),
  supervisorKillMaxMs: kill[kill.length - 1],
  supervisorKillStubbornMs: p50(stubborn),
  supervisorKillStubbornMaxMs: stubborn[stubborn.length - 1],
  engineHungKillMs: hung?.politeMs,
  engineHungKillStubbornMs: hung?.stubbornMs,
  boundMs: supervisorBoundMs(),
  restartAttachMs: p50(attach),
  restartAttachMaxMs: attach[attach.length - 1],
  supervisorRssMb: rssMb,
  host: { cpus: cpus().length, loadAvg1m: Math.round(loadavg()[0] * 10) / 10 }
}))

async function runningServices () {
  return new Set((await cluster.containers(0)).filter(c => c.state === 'running').map(c => c.service.split('/')[1]))
}

async function bothRun () {
  await cluster.waitFor('both services run', async () => (await runningServices()).size === 2, 120_000)
}

/** ms from t0 until each service no longer runs, by `running()` polled every 50 ms */
async function stopTimes (t0, running) {
  const out = {}
  while (Date.now() - t0 < 120_000) {
    const now = await running()
    const at = Date.now() - t0
    if (out.politeMs === undefined && !now.has('polite')) out.politeMs = at
    if (out.stubbornMs === undefined && !now.has('stubborn')) out.stubbornMs = at
    if (out.politeMs !== undefined && out.stubbornMs !== undefined) return out
    await sleep(POLL_MS)
  }
  throw new Error(`containers still run 120 s after kill -9 of the daemon: ${JSON.stringify(out)}`)
}

/** when the supervisor last logged a daemon attaching (ms since epoch) */
async function attachedAt (after) {
  const lines = (await readFile(join(cluster.nodes[0].dataDir, 'supervisor.log'), 'utf8')).split('\n').filter(l => / attached$/.test(l))
  const at = lines.map(l => Date.parse(l.slice(0, 24))).filter(t => t >= after - 1000)
  if (at.length === 0) throw new Error('no attach in the supervisor log after the restart')
  return Math.min(...at)
}

async function containerPids () {
  const out = {}
  for (const c of await cluster.containers(0)) {
    if (c.state !== 'running') continue
    const info = await cluster.nodes[0].engine.api.call('GET', `/containers/${c.id}/json`)
    out[c.service.split('/')[1]] = info.body.State.Pid
  }
  return out
}

function processRuns (pid) {
  try { return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { return false }
}

function supervisorRss () {
  const dir = cluster.nodes[0].dataDir
  const file = readFileSync(join(dir, 'supervisor.log'), 'utf8').split('\n').filter(l => / attached$/.test(l)).pop()
  const pid = Number(/supervisor (\d+):/.exec(file ?? '')?.[1])
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024 * 10) / 10
}
