#!/usr/bin/env node
// kill -9 in a loop: a real node process takes bursts of writes (deploys through its control
// API, 4 writers) and is killed with SIGKILL at a random moment, then restarted on its data dir;
// every write it acknowledged must be there after each restart. Reports cycles survived,
// entries acknowledged and entries lost (must be 0). CRASH_CYCLES (default 10).
import { join } from 'node:path'
import { apiClient } from '../packages/cli/dist/src/index.js'
import { Cluster, waitFor } from '../test/dist/src/index.js'

const cycles = Number(process.env.CRASH_CYCLES ?? 10)
const spec = (name) => `name: ${name}\nimage: minga/busybox:1\nreplicas: 0\n`

const mesh = await Cluster.create()
let survived = 0
let lost = 0
const acked = []
const started = performance.now()
try {
  const node = await mesh.init('acme')
  await mesh.up(node)
  const api = apiClient(join(node.dir, 'api.sock'))
  for (let cycle = 0; cycle < cycles; cycle++) {
    let running = true
    let n = 0
    const mine = []
    const writers = Array.from({ length: 4 }, async () => {
      while (running) {
        const name = `c${cycle}-${n++}`
        try {
          await api.post('/v1/deploy', { text: spec(name) })
          mine.push(name)
        } catch {
          return
        }
      }
    })
    // kill at a random moment once the burst is under way
    await waitFor(() => mine.length >= 5, { timeoutMs: 60_000, intervalMs: 5 })
    await new Promise(resolve => setTimeout(resolve, Math.random() * 400))
    await mesh.kill9(node)
    running = false
    await Promise.all(writers)
    acked.push(...mine)
    await mesh.up(node)
    let missing = 0
    for (const name of acked) {
      try { await api.get(`/v1/services/acme/${name}`) } catch { missing++ }
    }
    lost = Math.max(lost, missing)
    if (missing === 0) survived++
  }
} finally {
  await mesh.stop()
}
console.log(JSON.stringify({ name: 'crash-loop', cycles, survived, acknowledged: acked.length, lost, seconds: Math.round((performance.now() - started) / 100) / 10 }))
process.exit(lost === 0 && survived === cycles ? 0 : 1)
