/**
 * Five real node processes cut into two groups by the test-mode partition
 * route (each side's gater refuses and drops the other side): both sides
 * keep every replica running on their own side (a singleton only on the
 * majority side), both keep taking writes, and after the heal the mesh
 * converges to one state with every write and no duplicate replicas.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { placementProblems, startCluster, waitFor, writeSpec, type Cluster, type MingaNode, type ReplicaRow } from '../src/index.js'

let mesh: Cluster
let specs: string
let left: MingaNode[]
let right: MingaNode[]

const ids = (nodes: MingaNode[]): string[] => nodes.map(n => n.peerId)

test.before(async () => {
  specs = await mkdtemp(join(tmpdir(), 'minga-specs-'))
  // both sides of the cut will hold nodes of both organizations
  mesh = await startCluster({ nodes: ['acme', 'riverside', 'acme', 'riverside', 'acme'] })
  left = mesh.nodes.slice(0, 3)
  right = mesh.nodes.slice(3)
})

test.after(async () => {
  await mesh?.stop()
  await rm(specs, { recursive: true, force: true })
})

async function deploy (node: MingaNode, name: string, options: Parameters<typeof writeSpec>[2] = {}): Promise<void> {
  const run = await mesh.cli(node, 'deploy', '-f', await writeSpec(specs, name, options))
  assert.is(run.status, 0, `${node.name} deploy ${name}: ${run.stderr}`)
}

/** waits until every viewer sees the services (with these replica counts) placed and running as `check` says */
async function waitForPlacement (viewers: MingaNode[], expected: Record<string, number>, check: (rows: ReplicaRow[]) => string[]): Promise<void> {
  let problems: string[] = []
  await waitFor(async () => {
    const views = await Promise.all(viewers.map(async v => await mesh.ps(v) as ReplicaRow[]))
    problems = views.flatMap((rows, i) => {
      const counts: Record<string, number> = {}
      for (const r of rows) counts[r.service] = (counts[r.service] ?? 0) + 1
      const missing = JSON.stringify(sorted(counts)) === JSON.stringify(sorted(expected)) ? [] : [`lists ${JSON.stringify(sorted(counts))}, not ${JSON.stringify(sorted(expected))}`]
      return [...missing, ...check(rows)].map(p => `${viewers[i].name}: ${p}`)
    })
    return problems.length === 0
  }, { label: 'placement', message: () => problems.join('\n') })
}

function sorted (counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)))
}

async function waitForStatuses (viewers: MingaNode[], alive: MingaNode[], dead: MingaNode[]): Promise<void> {
  let wrong: string[] = []
  await waitFor(async () => {
    const views = await Promise.all(viewers.map(async v => await mesh.nodesOf(v)))
    wrong = views.flatMap((view, i) => {
      const seen = Object.fromEntries(view.map((n: any) => [n.id, n.status]))
      return [...alive.map(n => [n, 'alive'] as const), ...dead.map(n => [n, 'dead'] as const)]
        .filter(([n, status]) => seen[n.peerId] !== status)
        .map(([n, status]) => `${viewers[i].name} sees ${n.name} as ${seen[n.peerId]}, not ${status}`)
    })
    return wrong.length === 0
  }, { label: 'statuses', message: () => wrong.join('; ') })
}

const singleton = (rows: ReplicaRow[]): ReplicaRow[] => rows.filter(r => r.service === 'acme/db')
const others = (rows: ReplicaRow[]): ReplicaRow[] => rows.filter(r => r.service !== 'acme/db')

test('before the cut: one mesh, every replica placed once', async () => {
  await deploy(mesh.nodes[0], 'web', { replicas: 3 })
  await deploy(mesh.nodes[1], 'api', { replicas: 2, spread: 'node' })
  await deploy(mesh.nodes[2], 'db', { singleton: true })
  await mesh.waitForSameDigest()
  await waitForPlacement(mesh.nodes, { 'acme/web': 3, 'riverside/api': 2, 'acme/db': 1 }, rows => placementProblems(rows, { allowed: ids(mesh.nodes), noDuplicates: true }))
})

test('cut apart, each side marks the other dead and runs every replica on its own side (a singleton on the majority side only)', async () => {
  await mesh.partition(left, right)
  await waitForStatuses(left, left, right)
  await waitForStatuses(right, right, left)
  const expected = { 'acme/web': 3, 'riverside/api': 2, 'acme/db': 1 }
  await waitForPlacement(left, expected, rows => placementProblems(rows, { allowed: ids(left), noDuplicates: true }))
  await waitForPlacement(right, expected, rows => [
    ...placementProblems(others(rows), { allowed: ids(right), noDuplicates: true }),
    ...singleton(rows).filter(r => r.assigned !== null || r.running.some(c => c.state === 'running')).map(r => `singleton ${r.service} placed or running on the minority side`)
  ])
})

test('both sides keep taking writes during the partition', async () => {
  // new services on each side, a scale on each side, and the same service written on both
  await deploy(left[0], 'left-only', { replicas: 2 })
  await deploy(right[0], 'right-only', { replicas: 1 })
  const scaleApi = await mesh.cli(left[1], 'scale', 'api=3')
  assert.is(scaleApi.status, 0, scaleApi.stderr)
  const scaleWeb = await mesh.cli(right[1], 'scale', 'web=4')
  assert.is(scaleWeb.status, 0, scaleWeb.stderr)
  await deploy(left[2], 'both', { replicas: 1 })
  await deploy(right[1], 'both', { replicas: 2 })

  await mesh.waitForSameDigest(left)
  await mesh.waitForSameDigest(right)
  const leftServices = (await mesh.json(left[0], 'ls')).map((s: any) => s.id).sort()
  const rightServices = (await mesh.json(right[0], 'ls')).map((s: any) => s.id).sort()
  assert.equal(leftServices, ['acme/both', 'acme/db', 'acme/left-only', 'acme/web', 'riverside/api'])
  assert.equal(rightServices, ['acme/both', 'acme/db', 'acme/web', 'riverside/api', 'riverside/right-only'])
})

test('after the heal: one state with every write, every replica running exactly once', async () => {
  await mesh.heal()
  await waitForStatuses(mesh.nodes, mesh.nodes, [])
  await mesh.waitForSameDigest()
  const services = await Promise.all(mesh.nodes.map(async n => await mesh.json(n, 'ls')))
  for (const [i, list] of services.entries()) {
    assert.equal(list.map((s: any) => s.id), ['acme/both', 'acme/db', 'acme/left-only', 'acme/web', 'riverside/api', 'riverside/right-only'], mesh.nodes[i].name)
    const replicas = Object.fromEntries(list.map((s: any) => [s.id, s.replicas]))
    assert.is(replicas['riverside/api'], 3, 'the left side\'s scale survived')
    assert.is(replicas['acme/web'], 4, 'the right side\'s scale survived')
    assert.ok([1, 2].includes(replicas['acme/both']), 'the service written on both sides is one of the two')
    assert.equal(list, services[0], `${mesh.nodes[i].name} agrees with n1`)
  }
  const both = services[0].find((s: any) => s.id === 'acme/both').replicas
  await waitForPlacement(mesh.nodes, { 'acme/web': 4, 'riverside/api': 3, 'acme/db': 1, 'acme/left-only': 2, 'riverside/right-only': 1, 'acme/both': both },
    rows => placementProblems(rows, { allowed: ids(mesh.nodes), noDuplicates: true }))
})

test.run()
