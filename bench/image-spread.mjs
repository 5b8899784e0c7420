// image-spread (issue 15): a 100 MB image, built on one node's Docker engine, reaches N-1 other
// nodes through the mesh with no registry. Each node runs `minga up` on an engine of its own; node 0
// builds the image (FROM the test image, plus IMAGE_SPREAD_MB of random bytes), `minga image push`es
// it (pushMs), then deploys a service of N replicas (spread: node) pinned to it; `ms` is the time from
// the deploy to the image being on every engine (polled every 100 ms), `healthyMs` to every replica
// running healthy. `singleLinkMs`, in the same run: one `docker save | docker load` of the same image
// between two of the engines, the figure a registry-less operator would otherwise pay per node.
// IMAGE_SPREAD_NODES (default 10), IMAGE_SPREAD_MB (default 100). Without Docker it prints a skipped line.
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { DockerCluster, sleep } from '../test/dist/src/docker-cluster.js'
import { engines } from '../test/dist/src/docker-engines.js'
import { longRunning } from '../test/dist/src/docker-specs.js'

const exec = promisify(execFile)
const NODES = Math.max(2, Number(process.env.IMAGE_SPREAD_NODES ?? 10))
const MB = Math.max(1, Number(process.env.IMAGE_SPREAD_MB ?? 100))
const TAG = 'acme/spread:1'

const loadAtStart = Math.round(loadavg()[0] * 10) / 10
const started = await engines(Array.from({ length: NODES }, (_, i) => `bench-${String.fromCharCode(97 + i)}`))
if (started === undefined) {
  console.log(JSON.stringify({ name: 'image-spread', skipped: 'no Docker engines (see scripts/docker-engine.sh)' }))
  process.exit(0)
}
const docker = async (engine, args) => (await exec('docker', ['-H', `unix://${engine.socket}`, ...args], { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 })).stdout.trim()
const has = async (engine, id) => await docker(engine, ['image', 'inspect', id]).then(() => true, () => false)

// the image: unique to this run, so no engine has it yet
const dir = await mkdtemp(join(tmpdir(), 'minga-spread-'))
await writeFile(join(dir, 'payload'), randomBytes(MB * 1024 * 1024))
await writeFile(join(dir, 'Dockerfile'), 'FROM minga/busybox:1\nCOPY payload /payload\n')
for (const engine of started) await docker(engine, ['rmi', '-f', TAG]).catch(() => '')
await docker(started[0], ['build', '--network', 'none', '-q', '-t', TAG, dir])
await rm(dir, { recursive: true, force: true })
const id = await docker(started[0], ['image', 'inspect', '--format', '{{.Id}}', TAG])

// one docker save | docker load between two engines
const t1 = Date.now()
await new Promise((resolve, reject) => {
  const save = spawn('docker', ['-H', `unix://${started[0].socket}`, 'save', id])
  const load = spawn('docker', ['-H', `unix://${started[1].socket}`, 'load'], { stdio: ['pipe', 'ignore', 'inherit'] })
  save.stdout.pipe(load.stdin)
  save.on('error', reject)
  load.on('error', reject)
  load.on('close', code => code === 0 ? resolve() : reject(new Error(`docker load exited ${code}`)))
})
const singleLinkMs = Date.now() - t1
await docker(started[1], ['rmi', '-f', id])

const cluster = await DockerCluster.start(started, { orgs: started.map(() => 'acme') })
let result
let failed
try {
  const t2 = Date.now()
  await cluster.mustMinga(0, ['image', 'push', TAG], 600_000)
  const pushMs = Date.now() - t2
  const t0 = Date.now()
  await cluster.deploy(0, longRunning({ name: 'spread', replicas: NODES, image: TAG }))
  let ms
  while (ms === undefined && Date.now() - t0 < 600_000) {
    const held = await Promise.all(started.map(e => has(e, id)))
    if (held.every(Boolean)) ms = Date.now() - t0
    else await sleep(100)
  }
  if (ms === undefined) throw new Error('the image did not reach every engine within 10 minutes')
  while ((await cluster.serving('acme/spread')).length < NODES) {
    if (Date.now() - t0 > 600_000) throw new Error('the replicas were not all healthy within 10 minutes')
    await sleep(200)
  }
  const healthyMs = Date.now() - t0
  // how each node got it: the seconds of each fetch, the holders it took chunks from, failed starts on the way
  const events = (await Promise.all(started.map(async (_, i) => await cluster.api(i, '/v1/events').catch(() => [])))).flat().filter((e, i, all) => all.findIndex(x => x.time === e.time && x.node === e.node && x.reason === e.reason) === i)
  const fetches = events.filter(e => e.kind === 'image' && /^fetched /.test(e.reason)).map(e => /in ([\d.]+) s from (\d+) node/.exec(e.reason)).filter(Boolean)
  const seconds = fetches.map(m => Number(m[1])).sort((a, b) => a - b)
  const errors = events.filter(e => e.kind === 'replica-error' && e.subject.startsWith('acme/spread'))
  result = {
    pushMs,
    ms,
    healthyMs,
    fetchS: seconds.length === 0 ? null : { n: seconds.length, min: seconds[0], median: seconds[Math.floor(seconds.length / 2)], max: seconds.at(-1) },
    holdersPerFetch: fetches.map(m => Number(m[2])),
    failedStarts: errors.length,
    ...(errors.length === 0 ? {} : { firstError: errors[0].reason.slice(0, 300) })
  }
} catch (err) {
  failed = err
} finally {
  await cluster.close({ failed: failed !== undefined })
  for (const engine of started) await docker(engine, ['rmi', '-f', id]).catch(() => '')
}
if (failed !== undefined) {
  console.log(JSON.stringify({ name: 'image-spread', error: String(failed?.message ?? failed) }))
  process.exit(1)
}
console.log(JSON.stringify({
  name: 'image-spread',
  nodes: NODES,
  mb: MB,
  ...result,
  singleLinkMs,
  host: { cpus: cpus().length, loadAvg1mAtStart: loadAtStart, loadAvg1m: Math.round(loadavg()[0] * 10) / 10 }
}))
