/**
 * Four real node processes driven only through the `minga` CLI: init, invite,
 * join (to the same organization and to a new one), deploy, kill -9 and
 * failover, restart on the same data dir and catch-up.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assignmentOf, placementProblems, startCluster, waitFor, writeSpec, type Cluster, type MingaNode } from '../src/index.js'

let mesh: Cluster
let specs: string
let victim: MingaNode

test.before(async () => {
  specs = await mkdtemp(join(tmpdir(), 'minga-specs-'))
  // n1 founds the mesh (acme); n2 joins acme; n3 joins as a new org, riverside; n4 joins riverside
  mesh = await startCluster({ nodes: ['acme', 'acme', 'riverside', 'riverside'] })
})

test.after(async () => {
  await mesh?.stop()
  await rm(specs, { recursive: true, force: true })
})

const others = (node: MingaNode): MingaNode[] => mesh.nodes.filter(n => n !== node)
const ids = (nodes: MingaNode[]): string[] => nodes.map(n => n.peerId)

/** waits until every node in `viewers` sees exactly `expected` (peer id → status) */
async function waitForStatuses (viewers: MingaNode[], expected: Record<string, string>): Promise<void> {
  let wrong: string[] = []
  await waitFor(async () => {
    const views = await Promise.all(viewers.map(async v => await mesh.nodesOf(v)))
    wrong = views.flatMap((view, i) => {
      const seen = Object.fromEntries(view.map((n: any) => [n.id, n.status]))
      return Object.entries(expected).filter(([id, status]) => seen[id] !== status).map(([id, status]) => `${viewers[i].name} sees ${mesh.byPeer(id)?.name} as ${seen[id]}, not ${status}`)
    })
    return wrong.length === 0
  }, { label: 'statuses', message: () => `${wrong.join('; ')}\n${mesh.logs(8)}` })
}

/** waits until every node in `viewers` shows a healthy placement for all services */
async function waitForPlacement (viewers: MingaNode[], check: Parameters<typeof placementProblems>[1]): Promise<any[][]> {
  let problems: string[] = []
  let views: any[][] = []
  await waitFor(async () => {
    views = await Promise.all(viewers.map(async v => await mesh.ps(v)))
    problems = views.flatMap((rows, i) => placementProblems(rows, check).map(p => `${viewers[i].name}: ${p}`))
    return problems.length === 0
  }, { label: 'placement', message: () => problems.join('\n') })
  return views
}

/** the services (`minga ls`) each node lists */
async function servicesOn (nodes: MingaNode[]): Promise<string[][]> {
  return await Promise.all(nodes.map(async n => (await mesh.json(n, 'ls')).map((s: any) => s.id).sort()))
}

test('init, invite and join (same org and --new-org) make one mesh that every node sees whole', async () => {
  const alive = Object.fromEntries(mesh.nodes.map(n => [n.peerId, 'alive']))
  await waitForStatuses(mesh.nodes, alive)
  const view = await mesh.nodesOf(mesh.nodes[3])
  assert.equal(
    Object.fromEntries(view.map((n: any) => [n.id, n.org])),
    Object.fromEntries(mesh.nodes.map(n => [n.peerId, n.org]))
  )
  await mesh.waitForSameDigest()
})

test('a deploy reaches every node, and every node computes the same placement and sees it running', async () => {
  const web = await mesh.cli(mesh.nodes[0], 'deploy', '-f', await writeSpec(specs, 'web', { replicas: 3 }))
  assert.is(web.status, 0, web.stderr)
  assert.match(web.stdout, /acme\/web: created/)
  const api = await mesh.cli(mesh.nodes[2], 'deploy', '-f', await writeSpec(specs, 'api', { replicas: 2, spread: 'node' }))
  assert.is(api.status, 0, api.stderr)
  assert.match(api.stdout, /riverside\/api: created/)

  const digest = await mesh.waitForSameDigest()
  for (const [i, services] of (await servicesOn(mesh.nodes)).entries()) assert.equal(services, ['acme/web', 'riverside/api'], mesh.nodes[i].name)
  const views = await waitForPlacement(mesh.nodes, { allowed: ids(mesh.nodes), noDuplicates: true })
  // each node computed the placement on its own; they agree
  for (const [i, rows] of views.entries()) assert.equal(assignmentOf(rows), assignmentOf(views[0]), `${mesh.nodes[i].name} places like n1`)
  assert.is((await mesh.json(mesh.nodes[1], 'status')).digest, digest)
})

test('kill -9 of a node: the others mark it dead and run its replicas elsewhere', async () => {
  // the victim is a node (not n1) that runs replicas
  const rows = await mesh.ps(mesh.nodes[0])
  const load = (n: MingaNode): number => rows.filter((r: any) => r.assigned === n.peerId).length
  victim = others(mesh.nodes[0]).sort((a, b) => load(b) - load(a))[0]
  assert.ok(load(victim) > 0, 'some node besides n1 runs replicas')

  // the victim's last write before it dies is one only it holds: it is cut off from the others first
  await mesh.partition([victim], others(victim))
  const own = await mesh.cli(victim, 'deploy', '-f', await writeSpec(specs, `own-${victim.name}`, { replicas: 1 }))
  assert.is(own.status, 0, own.stderr)
  await mesh.kill9(victim)

  const survivors = others(victim)
  await waitForStatuses(survivors, { [victim.peerId]: 'dead', ...Object.fromEntries(survivors.map(n => [n.peerId, 'alive'])) })
  const after = await waitForPlacement(survivors, { allowed: ids(survivors), noDuplicates: true })
  for (const rows of after) assert.is(rows.length, 5, 'every replica of web and api is still listed')
  for (const [i, services] of (await servicesOn(survivors)).entries()) {
    assert.equal(services, ['acme/web', 'riverside/api'], `${survivors[i].name} never got the cut-off write`)
  }
})

test('restarted on its data dir, the killed node comes back as itself, catches up, and its own last write survives', async () => {
  // a write the victim misses while it is down
  const later = await mesh.cli(mesh.nodes[0], 'deploy', '-f', await writeSpec(specs, 'later', { replicas: 2 }))
  assert.is(later.status, 0, later.stderr)
  await mesh.heal(others(victim))
  const before = victim.peerId
  await mesh.restart(victim)

  await waitForStatuses(mesh.nodes, Object.fromEntries(mesh.nodes.map(n => [n.peerId, 'alive'])))
  assert.is((await mesh.json(victim, 'status')).node, before, 'same identity after the restart')
  await mesh.waitForSameDigest()
  const expected = ['acme/later', 'acme/web', `${victim.org}/own-${victim.name}`, 'riverside/api'].sort()
  for (const [i, services] of (await servicesOn(mesh.nodes)).entries()) assert.equal(services, expected, mesh.nodes[i].name)
  await waitForPlacement(mesh.nodes, { allowed: ids(mesh.nodes), noDuplicates: true })
})

test.run()
