// dashboard-first-render: how long the dashboard of a three-node mesh (memory runtime) with
// 20 services takes to show its first complete render in headless Chromium, from the start
// of the navigation (the page's own mark, set when it rendered its first snapshot). The
// first load gathers events from every node; later loads use the cached events. Five fresh
// loads: the first, the median and the slowest.
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCluster } from '../test/dist/src/index.js'

const CHROMIUM = process.env.MINGA_CHROMIUM ?? '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
if (!existsSync(CHROMIUM)) {
  console.log(JSON.stringify({ name: 'dashboard-first-render', skipped: `no Chromium at ${CHROMIUM} (apt-get install -y chromium)` }))
  process.exit(0)
}
const { chromium } = await import('playwright-core')
const dir = await mkdtemp(join(tmpdir(), 'minga-bench-dashboard-'))
const mesh = await startCluster({ nodes: ['acme', 'acme', 'riverside'], upArgs: ['--http', '127.0.0.1:0'] })
let context
try {
  const [n1] = mesh.nodes
  const specs = Array.from({ length: 20 }, (_, i) => `- { name: svc${i}, image: "minga/busybox:1", replicas: ${1 + (i % 3)}, resources: { cpu: 50m, memory: 16Mi } }\n`).join('')
  await writeFile(join(dir, 'all.yaml'), specs)
  const deployed = await mesh.cli(n1, 'deploy', '-f', join(dir, 'all.yaml'), '--wait', '--timeout', '120s')
  if (deployed.status !== 0) throw new Error(deployed.stderr)
  const url = [...n1.log].reverse().find(l => l.startsWith('http on ')).split(' ')[2]
  context = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: CHROMIUM, args: ARGS, headless: true })
  const times = []
  for (let i = 0; i < 5; i++) {
    const page = await context.newPage()
    await page.goto(url)
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 })
    times.push(await page.evaluate(() => window.__firstRenderMs))
    await page.close()
  }
  const sorted = [...times].sort((a, b) => a - b)
  console.log(JSON.stringify({ name: 'dashboard-first-render', services: 20, nodes: 3, firstMs: Math.round(times[0]), medianMs: Math.round(sorted[2]), maxMs: Math.round(sorted[4]) }))
} finally {
  await context?.close()
  await mesh.stop()
  await rm(dir, { recursive: true, force: true })
}
