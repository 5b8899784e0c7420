/**
 * `update: { watch: true }` (issue 15), on NodeCores over a virtual clock: a
 * new build pushed under the service's tag is seen by exactly one node of
 * the org (the rendezvous choice every node computes alike), judged by the
 * scan gate, and rolled out as a signed service entry by that node; a
 * refused digest stays refused (and says why) until a waiver lets it pass;
 * a newer digest in a registry is pulled once and followed the same way;
 * `outdated` lists services that run an older digest than their tag's.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { keys, type Finding } from '@minga/protocol'
import { MemoryChunkStore, MemoryImages, type NodeCoreInit } from '../src/core/index.js'
import type { Scanner } from '../src/core/images/types.js'
import { updateWatcher } from '../src/core/images/update-watch.js'
import { RecordingRuntime, TestCluster, pause, played, spec, waitFor, MESH_ID, type TestNode } from './core-cluster.js'

const CRITICAL: Finding = { id: 'CVE-2024-0009', severity: 'critical', package: 'openssl', installed: '3.0.1', fixed: '3.0.2' }

function layer (size: number, seed: number): Uint8Array {
  return new Uint8Array(size).fill(seed)
}

/** a scanner that finds CRITICAL in the images listed in `bad` */
function scannerFor (bad: Set<string>): Scanner {
  return { find: async () => 'command', scan: async (id) => ({ scanner: 'fake 1.0', findings: bad.has(id) ? [CRITICAL] : [] }) }
}

interface Node extends TestNode { images: MemoryImages }

async function cluster (n: number, scanner?: Scanner): Promise<{ c: TestCluster, nodes: Node[] }> {
  const made = Array.from({ length: n }, () => {
    const runtime = new RecordingRuntime({ meshId: MESH_ID, nodeId: 'acme', images: [] })
    const images = new MemoryImages(runtime.engine)
    const init: NodeCoreInit['images'] = { store: new MemoryChunkStore(), engine: images, scanner, fetch: { surveyMs: 200, stallMs: 5000 } }
    return { options: { org: 'acme', runtime, images: init }, images }
  })
  const c = await TestCluster.start(made.map(m => m.options))
  await c.settled()
  return { c, nodes: c.nodes.map((node, i) => Object.assign(node, { images: made[i].images })) }
}

const runs = (node: TestNode, digest: string): boolean => node.runtime.engine.all().some(x => x.replica.service === 'acme/web' && x.replica.spec.imageDigest === digest && x.state === 'running')
const updates = (nodes: TestNode[]): string[] => nodes.flatMap(n => n.core.events.recent().filter(e => e.kind === 'image-update').map(e => `${n.identity.peerId.slice(-6)} ${e.reason}`))

async function deployWatched (node: Node): Promise<string> {
  node.images.create('acme/web:1', [layer(200_000, 1), layer(50_000, 2)])
  const results = await played(node.core.operations.deploy([spec('acme', 'web', { image: 'acme/web:1', replicas: 3, spread: 'node', update: { maxUnavailable: 1, watch: true } })]))
  return results[0].image!.digest!
}

test('a new build pushed under the tag: one node sees it, gates it, and rolls the service with an entry it signs', async () => {
  const { c, nodes } = await cluster(3)
  try {
    const [a, b] = nodes
    const first = await deployWatched(a)
    await waitFor(() => nodes.every(n => runs(n, first)), 'v1 runs on the three nodes')
    const watcher = updateWatcher(a.state, nodes.map(n => n.identity.peerId), 'acme', 'web')!
    await waitFor(() => nodes.every(n => n.core.updateWatch!.following().length === (n.identity.peerId === watcher ? 1 : 0)), 'only the chosen node follows the service')
    // a new build of the same tag, pushed from b
    b.images.create('acme/web:1', [layer(200_000, 1), layer(50_000, 3)])
    const second = (await played(b.core.images!.push('acme/web:1'))).digest
    assert.is.not(second, first)
    await waitFor(() => nodes.every(n => runs(n, second)), 'the three nodes run the new digest')
    const entry = a.state.records('service', 'acme/').find(e => e.key === keys.service('acme', 'web'))!
    assert.is(entry.author, watcher, 'the update is an entry signed by the watching node')
    assert.is(entry.value.spec.imageDigest, second)
    const steps = updates(nodes)
    assert.is(steps.filter(s => s.includes('seen: acme/web:1 is now')).length, 1, steps.join('\n'))
    assert.is(steps.filter(s => s.includes('rolling acme/web to')).length, 1, steps.join('\n'))
    assert.ok(steps.every(s => s.startsWith(watcher.slice(-6))), 'one node acted')
    assert.equal(a.core.imageOps!.outdated(), [], 'nothing outdated')
  } finally {
    await c.stop()
  }
})

test('a digest the gate refuses is not rolled and is listed as outdated; a signed waiver lets it roll', async () => {
  const bad = new Set<string>()
  const { c, nodes } = await cluster(2, scannerFor(bad))
  try {
    const [a, b] = nodes
    await a.state.write(a.identity, keys.policy('acme'), { block: 'critical-fixable' })
    const first = await deployWatched(a)
    await waitFor(() => nodes.some(n => runs(n, first)), 'v1 runs')
    b.images.create('acme/web:1', [layer(200_000, 1), layer(50_000, 4)])
    const second = (await b.images.inspect('acme/web:1'))!.id
    bad.add(second)
    await played(b.core.images!.push('acme/web:1'))
    await waitFor(() => updates(nodes).some(s => s.includes(`refused ${second.slice(0, 19)} by acme's scan gate: CVE-2024-0009`)), 'the refusal is an event')
    await pause(5000)
    assert.is(a.state.value(keys.service('acme', 'web'))!.spec.imageDigest, first, 'the service stays on its digest')
    assert.is(updates(nodes).filter(s => s.includes('refused')).length, 1, 'refused once, not at every look')
    const outdated = a.core.imageOps!.outdated()
    assert.equal(outdated.map(o => [o.service, o.running, o.current]), [['acme/web', first, second]])
    await a.state.write(a.identity, keys.waiver('acme', 'web', CRITICAL.id), { digest: second, reason: 'mitigated at the proxy' })
    await waitFor(() => nodes.every(n => !n.runtime.engine.all().some(x => x.replica.service === 'acme/web' && x.state === 'running' && x.replica.spec.imageDigest === first)) && nodes.some(n => runs(n, second)), 'the waived digest rolls out')
  } finally {
    await c.stop()
  }
})

test('a newer digest in the registry is pulled once, pushed into the mesh, and rolled', async () => {
  const { c, nodes } = await cluster(2)
  try {
    const [a] = nodes
    for (const n of nodes) n.images.publish('acme/web:1', [layer(100_000, 6)])
    const results = await played(a.core.operations.deploy([spec('acme', 'web', { image: 'acme/web:1', replicas: 1, update: { maxUnavailable: 1, watch: true, watchInterval: 60_000 } })]))
    const first = results[0].image!.digest!
    const second = nodes.map(n => n.images.publish('acme/web:1', [layer(100_000, 7)]))[0]
    await pause(61_000)
    await waitFor(() => a.state.value(keys.service('acme', 'web'))!.spec.imageDigest === second, 'the service follows the registry')
    assert.is.not(second, first)
    assert.is(nodes.reduce((sum, n) => sum + n.images.pulls, 0), 2, 'pulled once at the deploy and once for the update, by the watching node')
  } finally {
    await c.stop()
  }
})

test.run()
