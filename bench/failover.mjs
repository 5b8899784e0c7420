// failover: three real nodes (minga up), each on its own Docker engine and in a network namespace of
// its own on one switch (test/src/netns.ts), two services of two replicas (spread: node, health check
// every second). Two ways to lose a node that runs replicas, FAILOVER_RUNS runs each (default 5):
//   - kill: the node is killed with kill -9 and its engine stopped (a crashed process: the survivors'
//     dials are refused, the fast path). `p50Ms`
//   - silent: the node's port on the switch goes down: its packets are dropped from then on, no reset,
//     no refusal (a server that loses power or network). Its process and containers go on, cut off.
//     `silentP50Ms`
// Each figure is the time from the loss to every one of the node's replicas healthy on a survivor, as
// the mesh sees it (the survivors' replica-healthy events, polled every 50 ms). The node comes back
// between runs.
// Breakdown, from the survivors' event logs: detect (loss → a survivor declares the node dead), start
// (→ the last replacement container started; a warm standby is started, not created), healthy (→ its
// first passing health check, minga's own first probe).
// The host's load average is printed too: on a busy host container starts and health checks take longer.
// Without Docker engines (no dockerd, not root) it prints a skipped line; without root (no namespaces)
// the nodes share loopback and the silent runs are skipped.
import { cpus, loadavg } from 'node:os'
import { DockerCluster, isStandby, sleep } from '../test/dist/src/docker-cluster.js'
import { engines } from '../test/dist/src/docker-engines.js'
import { longRunning } from '../test/dist/src/docker-specs.js'
import { NetnsSwitch } from '../test/dist/src/netns.js'

const RUNS = Math.max(1, Number(process.env.FAILOVER_RUNS ?? 5))
const SERVICES = [['web', 2], ['api', 2]]
const POLL_MS = 50
const TARGET_MS = 2000
const SILENT_TARGET_MS = 6000

const started = await engines(['bench-a', 'bench-b', 'bench-c'])
if (started === undefined) {
  console.log(JSON.stringify({ name: 'failover', skipped: 'no Docker engines (see scripts/docker-engine.sh)' }))
  process.exit(0)
}

const lan = NetnsSwitch.available() ? await NetnsSwitch.create(started.length) : undefined
const cluster = await DockerCluster.start(started, {
  orgs: ['acme', 'acme', 'riverside'],
  ...(lan === undefined ? {} : { netns: lan.nodes, upArgs: started.map(() => ['--subnet', 'off']) })
})
const runs = { kill: [], silent: [] }
const loads = []
let failed
try {
  for (const [name, replicas] of SERVICES) await cluster.deploy(0, longRunning({ name, replicas }), ['--wait', '--timeout', '120s'])
  for (let run = 0; run < RUNS; run++) {
    for (const how of lan === undefined ? ['kill'] : ['kill', 'silent']) {
      await settled()
      loads.push(loadavg()[0])
      runs[how].push(await lose(how, await pickVictim(run)))
    }
  }
} catch (err) {
  failed = err
} finally {
  await cluster.close({ failed: failed !== undefined })
  await lan?.close()
}
if (failed !== undefined) {
  console.error(failed?.stack)
  console.log(JSON.stringify({ name: 'failover', error: String(failed?.message ?? failed) }))
  process.exit(1)
}

const pick = (list, key) => list.map(r => r[key]).filter(v => v !== undefined).sort((a, b) => a - b)
const p50 = (values) => values.length === 0 ? undefined : values[Math.floor((values.length - 1) / 2)]
const breakdownOf = (list) => ({ detect: p50(pick(list, 'detectMs')), start: p50(pick(list, 'startMs')), healthy: p50(pick(list, 'healthyMs')) })
const totals = pick(runs.kill, 'totalMs')
const silent = pick(runs.silent, 'totalMs')
console.log(JSON.stringify({
  name: 'failover',
  runs: runs.kill.length,
  p50Ms: p50(totals),
  maxMs: totals[totals.length - 1],
  minMs: totals[0],
  targetMs: TARGET_MS,
  breakdownP50Ms: breakdownOf(runs.kill),
  replicasMoved: runs.kill.map(r => r.moved),
  // every run's figures, so an outlier shows its own breakdown (its survivors' events go to stderr)
  perRun: { kill: runs.kill, ...(lan === undefined ? {} : { silent: runs.silent }) },
  warmStarts: runs.kill.map(r => r.warm),
  ...(lan === undefined
    ? { silentP50Ms: null, silentSkipped: 'network namespaces need root' }
    : { silentP50Ms: p50(silent), silentMaxMs: silent[silent.length - 1], silentMinMs: silent[0], silentTargetMs: SILENT_TARGET_MS, silentBreakdownP50Ms: breakdownOf(runs.silent), silentWarmStarts: runs.silent.map(r => r.warm) }),
  // Docker's create/start and health checks slow down on a busy host: say how busy it was (1 min load at each loss)
  host: { cpus: cpus().length, loadAvg1m: Math.round(loadavg()[0] * 10) / 10, loadAvg1mAtLosses: loads.map(l => Math.round(l * 10) / 10) }
}))

/** lose the victim (`kill`: kill -9 and its engine stopped; `silent`: cut off the switch), time its replicas back elsewhere, bring it back */
async function lose (how, victim) {
  const lost = (await cluster.containers(victim)).filter(c => c.state === 'running').map(c => `${c.service}#${c.replica}`)
  const standbys = new Set((await cluster.everywhere(undefined, { standbys: true })).filter(c => c.at !== victim && isStandby(c)).map(c => c.id))
  const t0 = Date.now()
  const losing = how === 'kill' ? Promise.all([cluster.kill(victim), cluster.stopEngine(victim)]) : lan.cut(victim)
  // healthy as the mesh sees it (what it routes to): a survivor's replica-healthy event, minga's own first probe
  // included; Docker's own status follows one interval after the start
  let healthyAt
  while (healthyAt === undefined && Date.now() - t0 < 120_000) {
    healthyAt = await healthyElsewhere(victim, lost, t0)
    if (healthyAt === undefined) await sleep(POLL_MS)
  }
  if (healthyAt === undefined) throw new Error(`${how}: ${lost.join(', ')} not healthy elsewhere within 120 s`)
  const totalMs = healthyAt - t0
  await losing
  // replacements that were warm standbys (started, not created)
  const warm = (await cluster.everywhere()).filter(c => c.at !== victim && c.state === 'running' && standbys.has(c.id) && lost.includes(`${c.service}#${c.replica}`)).length
  const result = { totalMs, warm, ...await breakdown(victim, lost, t0, totalMs) }
  if (totalMs > 3 * (how === 'silent' ? SILENT_TARGET_MS : TARGET_MS)) await tellOutlier(how, victim, t0, totalMs)
  if (how === 'kill') {
    await cluster.startEngine(victim)
    await cluster.up(victim)
  } else {
    await lan.mend(victim)
  }
  return result
}

/** when the last of `lost` was first reported healthy by a survivor since t0 (its event's time), or undefined while one is not */
async function healthyElsewhere (victim, lost, t0) {
  const survivors = cluster.nodes.filter(n => n.index !== victim)
  const events = (await Promise.all(survivors.map(n => cluster.api(n.index, `/v1/events?since=${t0}`)))).flat()
  const times = lost.map(key => Math.min(...events.filter(e => e.kind === 'replica-healthy' && e.subject === key && e.time >= t0).map(e => e.time)))
  return times.every(Number.isFinite) ? Math.max(...times) : undefined
}

/** every replica healthy on its assigned node, one container each, every node alive */
async function settled () {
  await cluster.waitFor('the mesh settles', async () => {
    const ps = await cluster.api(0, '/v1/ps')
    const nodes = await cluster.api(0, '/v1/nodes')
    if (nodes.some(n => n.status !== 'alive')) return false
    const all = await cluster.everywhere(undefined, { standbys: true })
    const running = all.filter(c => c.state === 'running')
    // and each replica's warm standby created on the node that would take it over
    const standbys = all.filter(isStandby)
    return running.length === ps.length && standbys.length >= ps.length && ps.every(r => r.running.some(c => c.node === r.assigned && c.healthy && c.current))
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

/** an outlier's survivors' events since the loss, relative to it, on stderr: what the figure alone cannot say */
async function tellOutlier (how, victim, t0, totalMs) {
  const survivors = cluster.nodes.filter(n => n.index !== victim)
  const lines = []
  for (const n of survivors) {
    for (const e of await cluster.api(n.index, `/v1/events?since=${t0}`)) {
      if (e.time <= t0 + totalMs + 1000) lines.push(`  +${e.time - t0} ms node ${n.index} ${e.kind} ${e.subject} ${e.reason}`)
    }
  }
  process.stderr.write(`failover: ${how} of node ${victim} took ${totalMs} ms; the survivors' events:\n${lines.sort((a, b) => parseInt(a.slice(3)) - parseInt(b.slice(3))).join('\n')}\n`)
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
