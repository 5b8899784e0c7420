// failover: three real nodes (minga up), each on its own Docker engine, two services of two replicas
// (spread: node, health check every second). A node that runs replicas is killed with kill -9 and its
// engine stopped; the time from the kill to every one of its replicas running healthy on a survivor
// (seen through the survivors' engines, polled every 50 ms). The killed node and its engine come back
// between runs. FAILOVER_RUNS runs (default 5). Breakdown, from the survivors' event logs: detection
// (kill → a survivor declares the node dead), start (→ the last replacement container started),
// healthy (→ its first passing health check, as seen on the engine).
// The host's load average is printed too: on a busy host container starts and health checks take longer.
// Without Docker engines (no dockerd, not root) it prints a skipped line.
import { cpus, loadavg } from 'node:os'
import { DockerCluster, sleep } from '../test/dist/src/docker-cluster.js'
import { engines } from '../test/dist/src/docker-engines.js'
import { longRunning } from '../test/dist/src/docker-specs.js'

const RUNS = Math.max(1, Number(process.env.FAILOVER_RUNS ?? 5))
const SERVICES = [['web', 2], ['api', 2]]
const POLL_MS = 50
const TARGET_MS = 5000

const started = await engines(['bench-a', 'bench-b', 'bench-c'])
if (started === undefined) {
  console.log(JSON.stringify({ name: 'failover', skipped: 'no Docker engines (see scripts/docker-engine.sh)' }))
  process.exit(0)
}

const cluster = await DockerCluster.start(started, { orgs: ['acme', 'acme', 'riverside'] })
const runs = []
let failed
try {
  for (const [name, replicas] of SERVICES) await cluster.deploy(0, longRunning({ name, replicas }), ['--wait', '--timeout', '120s'])
  for (let run = 0; run < RUNS; run++) {
    await settled()
    const victim = await pickVictim(run)
    const lost = (await cluster.containers(victim)).filter(c => c.state === 'running').map(c => `${c.service}#${c.replica}`)
    const t0 = Date.now()
    const stopping = Promise.all([cluster.kill(victim), cluster.stopEngine(victim)])
    let back = false
    while (!back && Date.now() - t0 < 120_000) {
      const serving = new Set((await servingAll()).filter(c => c.at !== victim).map(c => `${c.service}#${c.replica}`))
      back = lost.every(k => serving.has(k))
      if (!back) await sleep(POLL_MS)
    }
    const totalMs = Date.now() - t0
    if (!back) throw new Error(`run ${run}: ${lost.join(', ')} not healthy elsewhere within 120 s`)
    await stopping
    runs.push({ totalMs, ...await breakdown(victim, lost, t0, totalMs) })
    await cluster.startEngine(victim)
    await cluster.up(victim)
  }
} catch (err) {
  failed = err
} finally {
  await cluster.close({ failed: failed !== undefined })
}
if (failed !== undefined) {
  console.log(JSON.stringify({ name: 'failover', error: String(failed?.message ?? failed) }))
  process.exit(1)
}

const pick = (key) => runs.map(r => r[key]).filter(v => v !== undefined).sort((a, b) => a - b)
const p50 = (values) => values.length === 0 ? undefined : values[Math.floor((values.length - 1) / 2)]
const totals = pick('totalMs')
console.log(JSON.stringify({
  name: 'failover',
  runs: runs.length,
  p50Ms: p50(totals),
  maxMs: totals[totals.length - 1],
  minMs: totals[0],
  targetMs: TARGET_MS,
  breakdownP50Ms: { detect: p50(pick('detectMs')), start: p50(pick('startMs')), healthy: p50(pick('healthyMs')) },
  replicasMoved: runs.map(r => r.moved),
  // Docker's create/start and health checks slow down on a busy host: say how busy it was
  host: { cpus: cpus().length, loadAvg1m: Math.round(loadavg()[0] * 10) / 10 }
}))

async function servingAll () {
  return (await cluster.everywhere()).filter(c => c.state === 'running' && c.health === 'healthy')
}

/** every replica healthy on its assigned node, one container each, every node alive */
async function settled () {
  await cluster.waitFor('the mesh settles', async () => {
    const ps = await cluster.api(0, '/v1/ps')
    const nodes = await cluster.api(0, '/v1/nodes')
    if (nodes.some(n => n.status !== 'alive')) return false
    const all = await cluster.everywhere()
    const running = all.filter(c => c.state === 'running')
    return running.length === ps.length && ps.every(r => r.running.some(c => c.node === r.assigned && c.healthy && c.current))
  }, 120_000)
  await sleep(1000)
}

/** a node that runs replicas, a different one each run where possible */
async function pickVictim (run) {
  for (let k = 0; k < cluster.nodes.length; k++) {
    const index = (run + k) % cluster.nodes.length
    if ((await cluster.containers(index)).some(c => c.state === 'running')) return index
  }
  throw new Error('no node runs a replica')
}

async function breakdown (victim, lost, t0, totalMs) {
  const peer = cluster.nodes[victim].peerId
  const survivors = cluster.nodes.filter(n => n.index !== victim)
  const events = (await Promise.all(survivors.map(n => cluster.api(n.index, `/v1/events?since=${t0}`)))).flat()
  const dead = events.filter(e => e.kind === 'node-dead' && e.subject === peer).map(e => e.time)
  const starts = events.filter(e => e.kind === 'replica-start' && lost.includes(e.subject)).map(e => e.time)
  const out = { moved: lost.length }
  if (dead.length > 0) out.detectMs = Math.min(...dead) - t0
  if (dead.length > 0 && starts.length > 0) out.startMs = Math.max(...starts) - Math.min(...dead)
  if (starts.length > 0) out.healthyMs = t0 + totalMs - Math.max(...starts)
  return out
}
