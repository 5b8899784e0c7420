// ingress-failover: what a client of the routing mesh sees while a service's node dies. Three real nodes
// (minga up), each on its own Docker engine and publishing on a loopback address of its own; a web page of
// one replica (health check every second) published on port 18800, placed on nodes 1 and 2 only (labels),
// so node 0 always forwards over the mesh. A client loop sends one request after another to node 0, each
// on a new connection; the node that runs the replica is killed with kill -9 and its engine stopped.
// failedRequests: requests that got no answer; gapMs: the longest time between two answers (kill to the
// first answer of the moved replica, in practice); INGRESS_FAILOVER_RUNS runs (default 3), the killed node
// and its engine back between runs. The mesh holds a connection while no replica takes it (up to 30 s),
// so the gap shows as a slow answer rather than a refusal.
// Without Docker engines (no dockerd, not root) it prints a skipped line.
import { cpus, loadavg } from 'node:os'
import { DockerCluster, sleep } from '../test/dist/src/docker-cluster.js'
import { engines } from '../test/dist/src/docker-engines.js'
import { get, requestLoop } from '../test/dist/src/ingress-client.js'

const RUNS = Math.max(1, Number(process.env.INGRESS_FAILOVER_RUNS ?? 3))
const PORT = 18800
const WEB = `name: web
image: minga/busybox:1
command: ["sh", "-c", "echo web-$HOSTNAME > /var/www/index.html; exec httpd -f -p 8080 -h /var/www"]
ports: ["${PORT}:8080"]
constraints: { role: web }
resources: { cpu: 50m, memory: 16Mi }
health: { cmd: ["wget", "-q", "-O-", "http://127.0.0.1:8080/"], interval: 1s, timeout: 10s, retries: 3 }
`

const started = await engines(['bench-a', 'bench-b', 'bench-c'])
if (started === undefined) {
  console.log(JSON.stringify({ name: 'ingress-failover', skipped: 'no Docker engines (see scripts/docker-engine.sh)' }))
  process.exit(0)
}

const cluster = await DockerCluster.start(started, { orgs: ['acme', 'acme', 'riverside'], upArgs: [[], ['--label', 'role=web'], ['--label', 'role=web']] })
const entry = cluster.nodes[0].publishOn
const runs = []
let failed
try {
  await cluster.deploy(0, WEB, ['--wait', '--timeout', '120s'])
  for (let run = 0; run < RUNS; run++) {
    // settled: one copy, on the node the mesh assigns it to (a node that came back may take its replica back)
    await cluster.waitFor('one healthy replica where it belongs, answering through node 0', async () => {
      const copies = (await cluster.everywhere('acme/web')).filter(c => c.state === 'running')
      const [ps] = JSON.parse((await cluster.mustMinga(0, ['ps', 'web', '--json'])).stdout)
      if (copies.length !== 1 || copies[0].health !== 'healthy' || ps?.assigned !== cluster.nodes[copies[0].at].peerId) return false
      return (await get(entry, PORT, '/', { timeoutMs: 5000 })).body.startsWith('web-')
    }, 120_000)
    await sleep(3000)
    const [replica] = await cluster.serving('acme/web')
    let finish
    const stop = new Promise(resolve => { finish = resolve })
    let moved = false
    const loop = requestLoop(entry, PORT, '/', stop, { pauseMs: 20, onAnswer: (body) => { if (!body.includes(replica.id.slice(0, 12))) moved = true } })
    await sleep(2000)
    const killedAt = Date.now()
    await Promise.all([cluster.kill(replica.at), cluster.stopEngine(replica.at)])
    while (!moved && Date.now() - killedAt < 120_000) await sleep(50)
    const movedMs = Date.now() - killedAt
    await sleep(2000)
    finish()
    const result = await loop
    if (!moved) throw new Error(`run ${run}: no answer from a moved replica within 120 s (${result.errors.slice(0, 3).join('; ')})`)
    runs.push({ requests: result.requests, failed: result.failed, gapMs: result.gapMs, movedMs, errors: result.errors.slice(0, 3) })
    await cluster.startEngine(replica.at)
    await cluster.up(replica.at)
  }
} catch (err) {
  failed = err
} finally {
  await cluster.close({ failed: failed !== undefined })
}
if (failed !== undefined) {
  console.log(JSON.stringify({ name: 'ingress-failover', error: String(failed?.message ?? failed) }))
  process.exit(1)
}

const sorted = (key) => runs.map(r => r[key]).sort((a, b) => a - b)
const p50 = (values) => values[Math.floor((values.length - 1) / 2)]
console.log(JSON.stringify({
  name: 'ingress-failover',
  runs: runs.length,
  requests: runs.reduce((n, r) => n + r.requests, 0),
  failedRequests: runs.reduce((n, r) => n + r.failed, 0),
  gapMs: p50(sorted('gapMs')),
  maxGapMs: Math.max(...sorted('gapMs')),
  perRun: runs.map(r => ({ requests: r.requests, failed: r.failed, gapMs: r.gapMs })),
  errors: runs.flatMap(r => r.errors).slice(0, 5),
  host: { cpus: cpus().length, loadAvg1m: Math.round(loadavg()[0] * 10) / 10 }
}))
