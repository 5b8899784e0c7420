// mesh-converge-5: five real node processes (minga up, in-memory runtime, 127.0.0.1). 50 deploys
// through the control API, one at a time; for each, the time from POST /v1/deploy returning to all
// five nodes holding the service (GET /v1/services/ORG/NAME answers 200 everywhere, polled every 20 ms).
// On a loaded machine the figures include the nodes' wait for a CPU: loadAvg1m says how loaded it was (at the
// first deploy and at the last), cpuMs what the five nodes spent meanwhile.
import { join } from 'node:path'
import { loadavg } from 'node:os'
import { apiClient } from '../packages/cli/dist/src/index.js'
import { cpuMs, startCluster, sleep } from '../test/dist/src/index.js'

const DEPLOYS = 50
const NODES = 5
const POLL_MS = 20
const TIMEOUT_MS = 30_000

const mesh = await startCluster({ nodes: ['acme', 'acme', 'riverside', 'acme', 'riverside'] })
try {
  const apis = mesh.nodes.map(n => apiClient(join(n.dir, 'api.sock')))
  await mesh.waitForSameDigest(mesh.nodes, 60_000)
  await sleep(2000)
  const times = []
  let timeouts = 0
  const cpu0 = await Promise.all(mesh.nodes.map(async n => await cpuMs(n.process.pid)))
  const load0 = loadavg()[0]
  for (let i = 0; i < DEPLOYS; i++) {
    const from = mesh.nodes[i % NODES]
    const name = `c${i}`
    const text = `name: ${name}\nimage: minga/busybox:1\nreplicas: 1\nresources: { cpu: 10m, memory: 8Mi }\n`
    await apis[i % NODES].post('/v1/deploy', { text })
    const start = performance.now()
    const holds = new Array(NODES).fill(false)
    while (!holds.every(Boolean) && performance.now() - start < TIMEOUT_MS) {
      await Promise.all(apis.map(async (api, k) => {
        if (holds[k]) return
        holds[k] = await api.get(`/v1/services/${from.org}/${name}`).then(() => true, () => false)
      }))
      if (!holds.every(Boolean)) await sleep(POLL_MS)
    }
    if (!holds.every(Boolean)) timeouts++
    times.push(performance.now() - start)
  }
  const cpu1 = await Promise.all(mesh.nodes.map(async n => await cpuMs(n.process.pid)))
  times.sort((a, b) => a - b)
  const at = q => times[Math.min(times.length - 1, Math.floor(q * times.length))]
  console.log(JSON.stringify({
    name: 'mesh-converge-5',
    nodes: NODES,
    deploys: DEPLOYS,
    p50Ms: Math.round(at(0.5)),
    p99Ms: Math.round(at(0.99)),
    maxMs: Math.round(times[times.length - 1]),
    minMs: Math.round(times[0]),
    timeouts,
    cpuMs: cpu1.reduce((a, c, i) => a + c - cpu0[i], 0),
    loadAvg1m: [load0, loadavg()[0]].map(l => Math.round(l * 10) / 10)
  }))
} finally {
  await mesh.stop()
}
