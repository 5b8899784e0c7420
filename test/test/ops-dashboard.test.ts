/**
 * The dashboard as a person sees it, in headless Chromium (Debian's
 * `chromium`, driven by playwright-core) against a running three-node mesh
 * (memory runtime): organizations and their nodes with capacity bars and
 * state, services with where each replica runs and its health, recent
 * events from every node, and live updates without a reload when a service
 * is deployed and when a node dies. Screenshots go to artifacts/ at the
 * repository's root. Without Chromium the test is skipped (and counted so), except under CI.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startCluster, testIf, waitFor, type Cluster } from '../src/index.js'
import { httpOf } from './ops-helpers.js'

export const CHROMIUM = process.env.MINGA_CHROMIUM ?? '/usr/bin/chromium'
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const ARTIFACTS = fileURLToPath(new URL('../../../artifacts/', import.meta.url))

const spec = (name: string, replicas: number): string =>
  `name: ${name}\nimage: minga/busybox:1\ncommand: ["httpd", "-f", "-p", "8080"]\nreplicas: ${replicas}\nspread: node\nresources: { cpu: 500m, memory: 256Mi }\n`

const it = testIf(existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`)

it('the dashboard shows the mesh to a person, and keeps it live', async () => {
  const { chromium } = await import('playwright-core')
  const dir = await mkdtemp(join(tmpdir(), 'minga-dashboard-'))
  let mesh: Cluster | undefined
  let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined
  try {
    mesh = await startCluster({ nodes: ['acme', 'acme', 'riverside'], upArgs: ['--http', '127.0.0.1:0'] })
    const [n1, , n3] = mesh.nodes
    await writeFile(join(dir, 'web.yaml'), spec('web', 3))
    const deployed = await mesh.cli(n1, 'deploy', '-f', join(dir, 'web.yaml'), '--wait', '--timeout', '60s')
    assert.is(deployed.status, 0, deployed.stderr)
    await mesh.waitForSameDigest()

    context = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1280, height: 900 } })
    const page = context.pages()[0] ?? await context.newPage()
    await page.goto(httpOf(n1))
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 })
    // what a person sees first: the verdict
    await page.waitForFunction(() => (globalThis as any).document.getElementById('health')?.textContent === 'HEALTHY', undefined, { timeout: 20_000 })

    const orgs = await page.$$eval('[data-org]', cards => cards.map(c => ({ org: c.getAttribute('data-org'), title: c.querySelector('h3')?.textContent })))
    assert.equal(orgs, [{ org: 'acme', title: 'acme · 2 nodes' }, { org: 'riverside', title: 'riverside · 1 node' }])
    const nodes = await page.$$eval('tr[data-node]', rows => rows.map(r => ({ id: r.getAttribute('data-node'), status: r.getAttribute('data-status'), text: r.textContent ?? '' })))
    assert.equal(nodes.map(n => n.id).sort(), mesh.nodes.map(n => n.peerId).sort(), 'every node, once')
    assert.ok(nodes.every(n => n.status === 'alive'))
    assert.ok(nodes.find(n => n.id === n1.peerId)?.text.includes('this node'), 'the node serving the page says so')
    const shares = await page.$$eval('tr[data-node] .bar[aria-label="cpu"]', bars => bars.map(b => Number(b.getAttribute('data-share'))))
    assert.is(shares.length, 3, 'a cpu bar per node')
    assert.ok(shares.every(s => s > 0 && s < 1), `each node carries one 500m replica: ${shares}`)
    const memory = await page.$$eval('tr[data-node] .bar[aria-label="memory"]', bars => bars.length)
    assert.is(memory, 3, 'a memory bar per node')

    const chips = await page.$$eval('tr[data-service="acme/web"] .chip', cs => cs.map(c => ({ replica: c.getAttribute('data-replica'), node: c.getAttribute('data-node'), state: c.getAttribute('data-state'), text: c.textContent ?? '' })))
    assert.equal(chips.map(c => c.replica), ['0', '1', '2'])
    assert.ok(chips.every(c => c.state === 'healthy'), JSON.stringify(chips))
    assert.equal(new Set(chips.map(c => c.node)).size, 3, 'spread over the three nodes')
    for (const chip of chips) assert.ok(chip.text.endsWith(chip.node!.slice(-8)), `chip names its node: ${chip.text}`)
    const health = await page.textContent('tr[data-service="acme/web"] td:nth-child(2)')
    assert.is(health, '3/3 healthy')
    const kinds = await page.$$eval('#events tr[data-kind]', rows => rows.map(r => r.getAttribute('data-kind')))
    assert.ok(kinds.includes('deploy') && kinds.includes('replica-start'), `recent events: ${kinds.join(',')}`)
    await mkdir(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true })

    // live: a new service shows up without a reload
    await writeFile(join(dir, 'api.yaml'), spec('api', 1))
    assert.is((await mesh.cli(n3, 'deploy', '-f', join(dir, 'api.yaml'))).status, 0)
    await page.waitForSelector('tr[data-service="riverside/api"]', { timeout: 20_000 })

    // live: a node dies, the page says so and what to look at
    await mesh.kill9(mesh.nodes[1])
    const victim = mesh.nodes[1].peerId
    await page.waitForSelector(`tr[data-node="${victim}"][data-status="dead"]`, { timeout: 30_000 })
    await page.waitForFunction(() => (globalThis as any).document.getElementById('health')?.textContent === 'NEEDS ATTENTION', undefined, { timeout: 10_000 })
    const problems = await page.$$eval('#problems li', items => items.map(i => i.textContent ?? ''))
    assert.ok(problems.some(p => p.includes(victim.slice(-8)) && p.includes('dead')), problems.join('\n'))
    await waitFor(async () => (await page.$$eval('#events tr[data-kind="node-dead"]', rows => rows.length)) > 0, { label: 'the death in the events' })
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-node-dead.png'), fullPage: true })
  } finally {
    await context?.close()
    await mesh?.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
