// volume-failover: kill -9 of the node that runs a stateful singleton → the singleton healthy on
// another node with its data. Four real nodes, each on its own Docker engine (acme, acme,
// riverside, coop); a singleton of acme (allowed on acme's nodes) whose named volume holds
// 100 MB of random data and a journal of lines, one every 100 ms, each stamped with its second;
// snapshots every 30 s (the shortest interval) onto riverside's and coop's nodes. Each run kills
// the minga process of the node that runs it (its supervisor stops the container) and measures
// the time from the kill to the singleton running healthy on the other acme node — after the
// restore of its volume, which precedes the start. `linesLost` counts the lines written before
// the last snapshot acknowledged before the kill that the restored volume lacks: it must be 0.
// Each run also prints how old that snapshot was at the kill (at most the interval plus a
// snapshot's duration) and its recovery point (the kill minus the last line restored). The killed node comes back between runs (the singleton
// moves back to it by a planned move, which loses nothing). VOLUME_FAILOVER_RUNS (default 3),
// VOLUME_FAILOVER_MB (default 100).
// Without Docker engines it prints a skipped line.
import { cpus, loadavg } from 'node:os'
import { DockerCluster, sleep } from '../test/dist/src/docker-cluster.js'
import { engines } from '../test/dist/src/docker-engines.js'
import { volumeFile, volumeName } from '../test/dist/src/docker-volumes.js'

const RUNS = Math.max(1, Number(process.env.VOLUME_FAILOVER_RUNS ?? 3))
const MB = Math.max(1, Number(process.env.VOLUME_FAILOVER_MB ?? 100))
const INTERVAL_S = 30
const SERVICE = 'acme/ledger'
const VOLUME = volumeName('acme', 'ledger', 'data')
const POLL_MS = 100

const started = await engines(['bench-a', 'bench-b', 'bench-c', 'bench-d'])
if (started === undefined) {
  console.log(JSON.stringify({ name: 'volume-failover', skipped: 'no Docker engines (see scripts/docker-engine.sh)' }))
  process.exit(0)
}

// 100 MB once; then a line every 100 ms, numbered on from what the volume holds
const script = `[ -f /data/bulk ] || head -c ${MB}000000 /dev/urandom > /data/bulk; i=$(cat /data/lines.log 2>/dev/null | wc -l); while true; do i=$((i+1)); echo line $i $(date +%s) >> /data/lines.log; sleep 0.1; done`
const spec = [
  'name: ledger',
  'image: minga/busybox:1',
  `command: ["sh", "-c", "${script}"]`,
  'singleton: true',
  'allowOrgs: [acme]',
  'resources: { cpu: 50m, memory: 16Mi }',
  'health: { cmd: ["test", "-s", "/data/lines.log"], interval: 1s }',
  'volumes:',
  `  - { name: data, path: /data, backup: { interval: ${INTERVAL_S}s, pre: "sync" } }`,
  ''
].join('\n')

const cluster = await DockerCluster.start(started, { orgs: ['acme', 'acme', 'riverside', 'coop'] })
const runs = []
let failed
try {
  await cluster.deploy(0, spec, ['--wait', '--timeout', '180s'])
  for (let run = 0; run < RUNS; run++) {
    const victim = await runsOn()
    const other = victim === 0 ? 1 : 0
    // a snapshot of the whole 100 MB exists (the first one), and the journal has run a while since
    await cluster.waitFor('a snapshot of the volume', async () => (await latestSnapshot()) !== undefined, 300_000)
    await sleep((INTERVAL_S + 5) * 1000)
    const snapshotAt = (await latestSnapshot()).time
    const t0 = Date.now()
    await cluster.kill(victim)
    let most = 0
    let back = false
    while (!back && Date.now() - t0 < 300_000) {
      const all = (await cluster.everywhere(SERVICE)).filter(c => c.state === 'running')
      most = Math.max(most, all.length)
      back = all.some(c => c.at === other && c.health === 'healthy')
      if (!back) await sleep(POLL_MS)
    }
    const totalMs = Date.now() - t0
    if (!back) throw new Error(`run ${run}: ${SERVICE} not healthy on node ${other} within 300 s`)
    // what the killed node had written (its volume stays on its engine) against what came back
    const written = parse(await volumeFile(cluster, victim, VOLUME, 'lines.log'))
    const restored = parse(await volumeFile(cluster, other, VOLUME, 'lines.log'))
    // the restored journal is the written one up to its snapshot, then goes on with new lines
    let kept = 0
    while (kept < restored.length && kept < written.length && restored[kept].n === written[kept].n && restored[kept].second === written[kept].second) kept++
    // a line written a second or more before the last snapshot acknowledged before the kill must be there
    const linesLost = written.slice(kept).filter(l => l.second < Math.floor(snapshotAt / 1000) - 1).length
    const lastRestored = written[kept - 1]
    runs.push({
      totalMs,
      linesLost,
      snapshotAgeAtKillS: Math.round((t0 - snapshotAt) / 1000),
      recoveryPointS: lastRestored === undefined ? undefined : Math.round(t0 / 1000 - lastRestored.second),
      copiesAtOnce: most
    })
    await cluster.up(victim)
    // the singleton goes back to the node it belongs on by a planned move; wait until it is settled there
    await cluster.waitFor('the ledger settles after the node returns', async () => {
      const all = (await cluster.everywhere(SERVICE)).filter(c => c.state === 'running')
      const ps = (await cluster.api(0, '/v1/ps')).filter(r => r.service === SERVICE)
      return all.length === 1 && all[0].health === 'healthy' && ps.length === 1 && ps.every(r => r.running.some(c => c.node === r.assigned && c.healthy))
    }, 300_000)
  }
} catch (err) {
  failed = err
} finally {
  await cluster.close({ failed: failed !== undefined })
}
if (failed !== undefined) {
  console.log(JSON.stringify({ name: 'volume-failover', error: String(failed?.message ?? failed) }))
  process.exit(1)
}

const totals = runs.map(r => r.totalMs).sort((a, b) => a - b)
console.log(JSON.stringify({
  name: 'volume-failover',
  runs: runs.length,
  volumeMb: MB,
  intervalS: INTERVAL_S,
  p50Ms: totals[Math.floor((totals.length - 1) / 2)],
  maxMs: totals[totals.length - 1],
  linesLost: runs.reduce((sum, r) => sum + r.linesLost, 0),
  recoveryPointS: runs.map(r => r.recoveryPointS),
  snapshotAgeAtKillS: runs.map(r => r.snapshotAgeAtKillS),
  maxCopiesAtOnce: Math.max(...runs.map(r => r.copiesAtOnce)),
  host: { cpus: cpus().length, loadAvg1m: Math.round(loadavg()[0] * 10) / 10 }
}))

/** the node whose engine runs the singleton */
async function runsOn () {
  let at
  await cluster.waitFor('the ledger runs', async () => {
    const serving = await cluster.serving(SERVICE)
    at = serving.length === 1 ? serving[0].at : undefined
    return at !== undefined
  }, 300_000)
  return at
}

/** the volume's latest snapshot as the mesh knows it ({ time: ms when taken, generation, … }), if any */
async function latestSnapshot () {
  return JSON.parse((await cluster.mustMinga(0, ['backup', 'ls', 'ledger', '--json'])).stdout).latest.data
}

/** the journal's lines: number and second */
function parse (text) {
  return (text ?? '').split('\n').flatMap(l => {
    const m = /^line (\d+) (\d+)$/.exec(l)
    return m === null ? [] : [{ n: Number(m[1]), second: Number(m[2]) }]
  })
}
