/**
 * Images carried by the mesh, on NodeCores over an in-process network and a
 * virtual clock (issue 15): a pushed image reaches the nodes that must run
 * it, checked chunk by chunk and loaded without the layers they hold;
 * several holders serve at once; a holder that sends bytes that do not
 * match is refused, counted and dropped; a private image stays with its
 * organization.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeMessage, keys, protocols, decodeChunkFrame, type ServiceSpec } from '@minga/protocol'
import { MemoryChunkStore, MemoryImages, type NodeCoreInit } from '../src/core/index.js'
import { RecordingRuntime, TestCluster, played, spec, waitFor, MESH_ID, type NodeOptions, type TestNode } from './core-cluster.js'

/** deterministic bytes: `size` of them, from `seed` */
function bytes (size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size)
  let x = seed * 2654435761 >>> 0
  for (let i = 0; i < size; i++) { x = (x * 1103515245 + 12345) >>> 0; out[i] = x >>> 24 }
  return out
}

const BASE = bytes(1_500_000, 1)
const MIDDLE = bytes(300_000, 2)

interface ImageNode { options: NodeOptions, images: MemoryImages, store: MemoryChunkStore }

/** a node with a modelled engine that has only the images it is given, a chunk store, and short fetch waits */
function imageNode (org: string, store = new MemoryChunkStore(), surveyMs = 200): ImageNode {
  const runtime = new RecordingRuntime({ meshId: MESH_ID, nodeId: org, images: [] })
  const images = new MemoryImages(runtime.engine)
  const init: NodeCoreInit['images'] = { store, engine: images, fetch: { surveyMs, stallMs: 5000 } }
  return { options: { org, runtime, images: init }, images, store }
}

async function cluster (orgs: string[], stores: MemoryChunkStore[] = [], labels: Array<Record<string, string>> = [], surveyMs?: number): Promise<{ c: TestCluster, nodes: Array<TestNode & ImageNode> }> {
  const made = orgs.map((org, i) => imageNode(org, stores[i], surveyMs))
  for (const [i, l] of labels.entries()) made[i].options.labels = l
  const c = await TestCluster.start(made.map(m => m.options))
  await c.settled()
  return { c, nodes: c.nodes.map((n, i) => ({ ...n, ...made[i] })) }
}

async function deployPinned (node: TestNode, ref: string, extra: Partial<ServiceSpec>): Promise<string> {
  const resolved = await played(node.core.images!.resolve(ref))
  await played(node.core.operations.deploy([spec(node.org, 'web', { image: ref, imageDigest: resolved.digest, ...extra })]))
  return resolved.digest
}

/** until every node holds the image record of `id` */
async function replicated (nodes: TestNode[], org: string, id: string): Promise<void> {
  await waitFor(() => nodes.every(n => n.state.value(keys.image(org, id.slice(7))) !== undefined), 'the image record reached every node')
}

const running = (node: TestNode, service: string): number => node.runtime.engine.all().filter(x => x.replica.service === service && x.state === 'running').length

test('a pushed image reaches the nodes that never had it, and each loads only the layers it lacks', async () => {
  const { c, nodes } = await cluster(['acme', 'acme', 'riverside'])
  try {
    const [a, b, r] = nodes
    const id = a.images.create('acme/web:1', [BASE, MIDDLE, bytes(2_500_000, 3)])
    // b holds the base layers already (another image on the same base)
    b.images.create('acme/base:1', [BASE, MIDDLE])
    const digest = await deployPinned(a, 'acme/web:1', { replicas: 3, spread: 'node' })
    assert.is(digest, id)
    assert.equal(a.state.value(keys.tag('acme', (await import('@minga/protocol')).tagKeyId('acme/web:1')))?.digest, id)
    await waitFor(() => nodes.every(n => running(n, 'acme/web') === 1), 'a replica runs on each of the three nodes')
    assert.ok(await b.images.inspect(id) !== undefined && await r.images.inspect(id) !== undefined, 'both other engines hold the image')
    assert.equal(b.images.loads.map(l => [l.given, l.skipped]), [[1, 2]], 'b loaded the top layer only')
    assert.equal(r.images.loads.map(l => [l.given, l.skipped]), [[3, 0]])
    // b fetched only the index, the config and the top layer's chunks: 3 of them
    assert.is(b.core.images!.fetcher.stats.fetched, 1 + 1 + 3)
    assert.ok((await r.images.inspect(id))!.tags.includes('acme/web:1'), 'the image is loaded under its tag')
    const events = r.core.events.recent().filter(e => e.kind === 'image')
    assert.ok(events.some(e => /fetched acme\/web:1 .* from \d node\(s\)/.test(e.reason)), events.map(e => e.reason).join('\n'))
  } finally {
    await c.stop()
  }
})

test('a new digest of the tag rolls the service; the same digest again changes nothing', async () => {
  const { c, nodes } = await cluster(['acme', 'acme'])
  try {
    const [a, b] = nodes
    a.images.create('acme/web:1', [BASE, bytes(100_000, 4)])
    const first = await deployPinned(a, 'acme/web:1', { replicas: 2, spread: 'node' })
    await waitFor(() => nodes.every(n => running(n, 'acme/web') === 1), 'both run v1')
    assert.equal((await a.core.operations.deploy([a.state.value(keys.service('acme', 'web'))!.spec]))[0].status, 'unchanged')
    const starts = b.runtime.started.length
    // a new build under the same tag: pushed, then deployed again by tag
    a.images.create('acme/web:1', [BASE, bytes(100_000, 5)])
    const pushed = await played(a.core.images!.push('acme/web:1'))
    assert.is.not(pushed.digest, first)
    const second = await deployPinned(a, 'acme/web:1', { replicas: 2, spread: 'node' })
    assert.is(second, pushed.digest)
    await waitFor(() => nodes.every(n => n.runtime.engine.all().some(x => x.replica.spec.imageDigest === second && x.state === 'running')), 'both run the new digest')
    assert.is(b.runtime.started.length, starts + 1, 'one new start on b')
  } finally {
    await c.stop()
  }
})

test('several holders serve one fetch at once', async () => {
  const { c, nodes } = await cluster(['acme', 'acme', 'acme', 'acme'])
  try {
    const [a, b, x, y] = nodes
    const id = a.images.create('acme/big:1', [bytes(6 * 1024 * 1024, 7)])
    await played(a.core.images!.push('acme/big:1'))
    await replicated(nodes, 'acme', id)
    await played(b.core.images!.ensure(id))
    await played(x.core.images!.ensure(id))
    await played(y.core.images!.ensure(id))
    const fetched = y.core.images!.fetcher.stats.fetched
    assert.ok(fetched >= 7)
    // the last fetcher took chunks from more than one holder
    const event = y.core.events.recent().find(e => e.kind === 'image' && e.reason.startsWith('fetched'))!
    const from = Number(/from (\d+) node/.exec(event.reason)![1])
    assert.ok(from >= 2, event.reason)
  } finally {
    await c.stop()
  }
})

test('nodes that fetch one image at once from its one holder take different chunks from it, and the rest from each other', async () => {
  // each fetcher asks who holds what before every round of requests (the virtual clock stands still while chunks move in-process)
  const { c, nodes } = await cluster(['acme', 'acme', 'acme', 'acme'], [], [], 0)
  try {
    const [a, ...fetchers] = nodes
    const id = a.images.create('acme/wide:1', [bytes(24 * 1024 * 1024, 9)])
    await played(a.core.images!.push('acme/wide:1'))
    await replicated(nodes, 'acme', id)
    await Promise.all(fetchers.map(async n => await played(n.core.images!.ensure(id))))
    // in index order all three took the same chunks from a at the same time, and had nothing to give each other
    const servedByFetchers = fetchers.map(n => n.core.images!.server.stats.served)
    const total = fetchers.reduce((sum, n) => sum + n.core.images!.fetcher.stats.fetched, 0)
    assert.ok(servedByFetchers.reduce((x, y) => x + y) > 0, `the fetchers served ${servedByFetchers.join(', ')} of the ${total} chunks fetched; a served ${a.core.images!.server.stats.served}`)
  } finally {
    await c.stop()
  }
})

/** a store that serves other bytes than it holds, as a broken or hostile holder would */
class LyingStore extends MemoryChunkStore {
  lying = false
  override async get (digest: string): Promise<Uint8Array | undefined> {
    const real = await super.get(digest)
    if (!this.lying || real === undefined || real.length < 1000) return real
    const bad = Uint8Array.from(real)
    bad[10] ^= 0x55
    return bad
  }
}

test('chunks that do not match their digest are refused, counted, and taken from an honest holder', async () => {
  const { c, nodes } = await cluster(['acme', 'acme', 'acme'], [new MemoryChunkStore(), new LyingStore(), new MemoryChunkStore()])
  try {
    const [a, liar, x] = nodes
    const id = a.images.create('acme/web:1', [bytes(3 * 1024 * 1024, 9)])
    await played(a.core.images!.push('acme/web:1'))
    await replicated(nodes, 'acme', id)
    // the liar holds the image too (its own store's get lies, its engine is honest)
    await played(liar.core.images!.ensure(id))
    ;(liar.store as LyingStore).lying = true
    // x cannot reach the honest holder at first: the liar's chunks are refused, then x takes them from the honest one
    c.net.partition([x.identity.peerId], [a.identity.peerId])
    const fetching = x.core.images!.ensure(id)
    await waitFor(() => x.core.images!.fetcher.stats.refused > 0, 'a lying chunk is refused')
    c.net.heal()
    await played(fetching)
    assert.ok(await x.images.inspect(id) !== undefined, 'the image arrived whole')
    assert.is(x.core.images!.fetcher.stats.refused, 1, 'one refusal: the liar is not asked again during the fetch')
    const events = x.core.events.recent().filter(e => e.kind === 'image' && e.reason.includes('do not match'))
    assert.ok(events.length === 1 && events[0].reason.includes(liar.identity.peerId), 'the refusal is an event naming the holder')
    assert.is(x.store.usage().chunks, a.store.usage().chunks, 'x stored exactly the chunks of the image')
    // asking the liar alone: every large chunk is refused, counted, and the fetch gives up saying why
    const only = new MemoryChunkStore()
    const lone = await import('../src/core/images/fetcher.js')
    const fetcher = new lone.ChunkFetcher({ mesh: x.mesh, meshId: MESH_ID, store: only, clock: c.clock, log: Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) as any, stallMs: 2000, surveyMs: 100 })
    const root = x.state.value(keys.image('acme', id.slice(7)))!.index
    const err = await played(fetcher.fetch(root, { candidates: () => [liar.identity.peerId] }).then(() => undefined, (err: Error) => err))
    assert.is((err as Error).name, 'ImageFetchError')
    assert.match((err as Error).message, 'do not match its digest')
    assert.is(fetcher.stats.refused, 1)
  } finally {
    await c.stop()
  }
})

test('a private image is served only to its organization: others are refused and cannot run it', async () => {
  const { c, nodes } = await cluster(['acme', 'acme', 'riverside'])
  try {
    const [a, b, r] = nodes
    const id = a.images.create('acme/secret:1', [bytes(200_000, 11)])
    const pushed = await played(a.core.images!.push('acme/secret:1', { private: true }))
    await replicated(nodes, 'acme', id)
    await played(b.core.images!.ensure(id))
    const refused = await played(r.core.images!.ensure(id).then(() => undefined, (err: Error) => err))
    assert.is(refused?.name, 'ImageUnavailableError')
    // asking a holder directly, as a hostile riverside node would: forbidden, nothing sent
    const frames: Uint8Array[] = []
    const stream = async (): Promise<void> => { for await (const frame of r.mesh.stream(a.identity.peerId, protocols.chunksGet(MESH_ID), encodeMessage({ type: 'chunks-get', root: pushed.index, chunks: [pushed.index] }))) frames.push(frame) }
    await played(stream())
    assert.is(frames.length, 1)
    const header = decodeChunkFrame(frames[0]).header
    assert.is(header.type === 'error' ? header.code : header.type, 'forbidden')
  } finally {
    await c.stop()
  }
})

test('a pinned image outlives its pusher: three keepers hold it, and a replica whose node dies is fetched from them', async () => {
  const { c, nodes } = await cluster(['acme', 'acme', 'acme', 'acme'])
  try {
    const [a] = nodes
    a.images.create('acme/web:1', [BASE, bytes(200_000, 6)])
    const digest = await deployPinned(a, 'acme/web:1', { replicas: 1 })
    const root = a.state.value(keys.image('acme', digest.slice(7)))!.index
    const { keepers } = await import('../src/core/images/copies.js')
    const chosen = keepers(root, nodes.map(n => n.identity.peerId))
    await waitFor(() => nodes.filter(n => chosen.includes(n.identity.peerId)).every(n => n.store.roots().includes(root)), 'the three keepers hold a copy')
    await waitFor(() => nodes.some(n => running(n, 'acme/web') === 1), 'the replica runs')
    // the pusher and the node that runs the replica die: a survivor takes it over, its image from a keeper
    const runner = nodes.find(n => running(n, 'acme/web') === 1)!
    const dead = new Set([a, runner])
    for (const n of dead) {
      n.mesh.down = true
      await n.core.stop()
    }
    c.net.regate()
    const survivors = nodes.filter(n => !dead.has(n))
    await waitFor(() => survivors.some(n => n.runtime.engine.all().some(x => x.replica.service === 'acme/web' && x.replica.spec.imageDigest === digest && x.state === 'running')), 'a survivor runs the pinned image')
  } finally {
    await c.stop()
  }
})

test('deploy --wait waits for the image whole on two nodes: then the death of its pusher and only runner strands nothing', async () => {
  const { c, nodes } = await cluster(['acme', 'acme', 'acme'], [], [{ role: 'first' }])
  try {
    const [a, b] = nodes
    a.images.create('acme/web:1', [BASE, bytes(300_000, 8)])
    const digest = await deployPinned(a, 'acme/web:1', { replicas: 1, constraints: { role: 'first' } })
    const first = await played(a.core.images!.holders(digest))
    assert.is(first.eligible, 3)
    assert.ok(first.holders.includes(a.identity.peerId), 'the pusher holds it')
    await waitFor(async () => (await played(a.core.images!.holders(digest))).holders.length >= 2, 'the image is whole on two nodes')
    await waitFor(() => running(a, 'acme/web') === 1, 'a runs it')
    a.mesh.down = true
    await a.core.stop()
    c.net.regate()
    // the service may run anywhere now: a survivor fetches the pinned image from the other holder
    const record = b.state.value(keys.service('acme', 'web'))!
    await played(b.core.operations.deploy([{ ...record.spec, constraints: {} }]))
    await waitFor(() => nodes.slice(1).some(n => n.runtime.engine.all().some(x => x.replica.service === 'acme/web' && x.replica.spec.imageDigest === digest && x.state === 'running')), 'a survivor runs the pinned image')
    const after = await played(b.core.images!.holders(digest))
    assert.not.ok(after.holders.includes(a.identity.peerId), 'the dead node is not counted')
  } finally {
    await c.stop()
  }
})

test.run()
