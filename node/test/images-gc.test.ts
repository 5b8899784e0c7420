/**
 * The chunk store's garbage collection (issue 15), on a NodeCore over a
 * virtual clock: once a new digest replaces an image in its service and its
 * tag, the old image's own chunks go after the grace period — not before —
 * while the layers it shares with the new one, the image in use, a
 * scanner database and the chunks of a fetch under way stay.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { keys, sha256Hex } from '@minga/protocol'
import { MemoryChunkStore, MemoryImages, type NodeCoreInit } from '../src/core/index.js'
import { GC_GRACE_MS, GC_INTERVAL_MS } from '../src/core/images/chunk-gc.js'
import { RecordingRuntime, TestCluster, pause, played, spec, waitFor, MESH_ID } from './core-cluster.js'

test('the chunks of an image nothing pins go after the grace period; shared layers, the image in use and a scanner database stay', async () => {
  const runtime = new RecordingRuntime({ meshId: MESH_ID, nodeId: 'acme', images: [] })
  const images = new MemoryImages(runtime.engine)
  const store = new MemoryChunkStore()
  const init: NodeCoreInit['images'] = { store, engine: images }
  const c = await TestCluster.start([{ org: 'acme', runtime, images: init }])
  try {
    await c.settled()
    const n = c.nodes[0]
    const base = new Uint8Array(1_500_000).fill(1)
    const v1 = images.create('acme/web:1', [base, new Uint8Array(200_000).fill(2)])
    await played(n.core.operations.deploy([spec('acme', 'web', { image: 'acme/web:1' })]))
    const oldRoot = n.state.value(keys.image('acme', v1.slice(7)))!.index
    const oldIndex = (await n.core.images!.indexOf(oldRoot))!
    const oldTop = oldIndex.files[2].chunks[0]
    const shared = oldIndex.files[1].chunks[0]
    const db = await played(n.core.imageOps!.pushScannerDb((async function * () { yield new Uint8Array(5000).fill(9) })(), { built: c.clock.now(), scanner: 'trivy' }))
    // a new build under the tag, deployed: v1 is pinned by nothing and named by no tag
    const v2 = images.create('acme/web:1', [base, new Uint8Array(200_000).fill(3)])
    await played(n.core.images!.push('acme/web:1'))
    await played(n.core.operations.deploy([spec('acme', 'web', { image: 'acme/web:1' })]))
    assert.is(n.state.value(keys.service('acme', 'web'))!.spec.imageDigest, v2)
    const newRoot = n.state.value(keys.image('acme', v2.slice(7)))!.index
    // a chunk of a fetch under way: stored, its root not marked yet
    const stray = new Uint8Array(1000).fill(4)
    await store.put(sha256Hex(stray), stray)
    await pause(GC_INTERVAL_MS + 1000)
    assert.ok(store.has(oldTop) && store.roots().includes(oldRoot), 'not before the grace period')
    await pause(GC_GRACE_MS + GC_INTERVAL_MS)
    await waitFor(() => !store.has(oldTop), 'the old image\'s own chunk is deleted')
    assert.not.ok(store.roots().includes(oldRoot), 'its root is no longer held')
    assert.not.ok(store.has(sha256Hex(stray)), 'a chunk no root names goes too, after the grace')
    assert.ok(store.has(shared), 'the layer it shares with the image in use stays')
    assert.ok(store.roots().includes(newRoot) && store.roots().includes(db.index), 'the image in use and the scanner database stay')
    assert.ok(n.core.events.recent().some(e => e.kind === 'image' && e.reason.startsWith('swept this node\'s chunk store: 1 unused image(s)')), 'the sweep is an event')
  } finally {
    await c.stop()
  }
})

test.run()
