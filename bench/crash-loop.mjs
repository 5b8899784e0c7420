#!/usr/bin/env node
// kill -9 in a loop: a real node process (acme) takes bursts of writes (deploys through its
// control API, 4 writers) while a stateful singleton of acme writes lines into its volume and
// is snapshotted on demand (`minga backup`, restic through the mesh onto riverside's and coop's
// nodes, which live on); acme's node is killed with SIGKILL at a random moment once a snapshot of
// the cycle is acknowledged (often during the next one), then restarted
// on its data dir. After each restart every write it acknowledged must be there, and the
// volume's latest snapshot must be at least the newest one acknowledged; at the end the service
// is restored from its latest snapshot, which must hold every line written before the last
// acknowledged snapshot began. Reports cycles survived, writes and snapshots acknowledged, and
// what was lost (must be 0). CRASH_CYCLES (default 20). Memory runtime: the volume is a folder
// that this script writes into as the service would.
import { appendFile, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { apiClient } from '../packages/cli/dist/src/index.js'
import { Cluster, waitFor } from '../test/dist/src/index.js'

const cycles = Number(process.env.CRASH_CYCLES ?? 20)
const spec = (name) => `name: ${name}\nimage: minga/busybox:1\nreplicas: 0\n`
const ledger = 'name: ledger\nimage: minga/busybox:1\nsingleton: true\nallowOrgs: [acme]\nvolumes:\n  - { name: data, path: /data, backup: { interval: 24h } }\n'

const mesh = await Cluster.create()
let survived = 0
let lost = 0
let snapshotsLost = 0
let linesLost
let backupError
const acked = []
const snapshots = []
let lines = 0
const started = performance.now()
try {
  const node = await mesh.init('acme')
  await mesh.up(node)
  for (const org of ['riverside', 'coop']) await mesh.up(await mesh.join(org, node))
  const api = apiClient(join(node.dir, 'api.sock'))
  await api.post('/v1/deploy', { text: ledger })
  const volume = join(node.dir, 'volumes', 'minga-acme-ledger-data', '_data')
  const running = async () => (await api.get('/v1/ps')).some(r => r.service === 'acme/ledger' && r.running.some(c => c.healthy))
  await waitFor(async () => await stat(volume).then(() => true, () => false) && await running(), { timeoutMs: 120_000 })
  for (let cycle = 0; cycle < cycles; cycle++) {
    let going = true
    let n = 0
    const mine = []
    const writers = Array.from({ length: 4 }, async () => {
      while (going) {
        const name = `c${cycle}-${n++}`
        try {
          await api.post('/v1/deploy', { text: spec(name) })
          mine.push(name)
        } catch {
          return
        }
      }
    })
    // the service: a line every 20 ms; a snapshot now and then, acknowledged with what it holds
    const service = (async () => {
      let last = Date.now()
      while (going) {
        await appendFile(join(volume, 'lines.log'), `line ${++lines}\n`)
        await new Promise(resolve => setTimeout(resolve, 20))
        if (Date.now() - last < 500) continue
        last = Date.now()
        const before = lines
        try {
          const result = await api.post('/v1/backup', { service: 'ledger' }, { timeoutMs: 120_000 })
          snapshots.push({ generation: result.snapshots[0].generation, lines: before })
        } catch (err) { backupError ??= String(err?.message ?? err) /* killed under it: not acknowledged */ }
      }
    })()
    // kill at a random moment once the burst is under way and a snapshot of this cycle is acknowledged (the next may be under way)
    const before = snapshots.length
    await waitFor(() => mine.length >= 5 && snapshots.length > before, { timeoutMs: 180_000, intervalMs: 5 })
    await new Promise(resolve => setTimeout(resolve, Math.random() * 1500))
    await mesh.kill9(node)
    going = false
    await Promise.all([...writers, service])
    acked.push(...mine)
    await mesh.up(node)
    let missing = 0
    for (const name of acked) {
      try { await api.get(`/v1/services/acme/${name}`) } catch { missing++ }
    }
    const newest = Math.max(0, ...snapshots.map(s => s.generation))
    const latest = (await api.get('/v1/backups?service=ledger')).latest.data?.generation ?? 0
    if (latest < newest) snapshotsLost = Math.max(snapshotsLost, newest - latest)
    lost = Math.max(lost, missing)
    if (missing === 0 && latest >= newest) survived++
    await waitFor(running, { timeoutMs: 120_000 })
  }
  // the volume restored from its latest snapshot holds every line of the last acknowledged one
  const last = snapshots[snapshots.length - 1]
  if (last !== undefined) {
    await api.post('/v1/restore', { service: 'ledger' })
    const count = async () => (await readFile(join(volume, 'lines.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length
    await waitFor(async () => await running() && (await api.get('/v1/volumes')).volumes.some(v => v.service === 'acme/ledger' && v.lineage === 'current'), { timeoutMs: 300_000 })
    linesLost = Math.max(0, last.lines - await count())
  }
} finally {
  await mesh.stop()
}
console.log(JSON.stringify({ name: 'crash-loop', cycles, survived, acknowledged: acked.length, lost, snapshotsAcknowledged: snapshots.length, snapshotsLost, linesLost, ...(snapshots.length === 0 ? { backupError } : {}), seconds: Math.round((performance.now() - started) / 100) / 10 }))
process.exit(lost === 0 && snapshotsLost === 0 && linesLost === 0 && survived === cycles ? 0 : 1)
