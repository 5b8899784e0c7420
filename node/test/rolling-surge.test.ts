/**
 * Rolling updates at the core level: three NodeCores, a service with one
 * replica on each, containers that take 300 ms to start. With
 * `maxUnavailable: 0` every replica keeps a healthy copy through the whole
 * update (the new copy starts beside the old one); with 1, one replica at a
 * time is down while it restarts. Either way the update finishes with one
 * current copy per replica and nothing else (warm standbys, created and
 * never started, are not copies).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MESH_ID, RecordingRuntime, TestCluster, spec, waitFor, pause as sleep } from './core-cluster.js'

interface Outcome { fewestServing: number, mostCopies: number }

async function update (maxUnavailable: number): Promise<Outcome> {
  const mesh = await TestCluster.start(Array.from({ length: 3 }, () => ({ org: 'acme', runtime: new RecordingRuntime({ meshId: MESH_ID, startDelayMs: 300 }) })))
  try {
    await mesh.settled()
    const ops = mesh.nodes[0].core.operations
    const web = (image: string): any => spec('acme', 'web', { image, replicas: 3, spread: 'node', update: { maxUnavailable } })
    await ops.deploy([web('minga/busybox:1')])
    const containers = async (): Promise<Array<{ replica: number, image: string, serving: boolean }>> =>
      (await Promise.all(mesh.nodes.map(async n => await n.runtime.list()))).flat().filter(c => c.standby !== true)
        .map(c => ({ replica: c.replica, image: c.image, serving: c.state === 'running' && (c.health === 'healthy' || c.health === 'none') }))
    const serving = async (image?: string): Promise<number> => new Set((await containers()).filter(c => c.serving && (image === undefined || c.image === image)).map(c => c.replica)).size
    await waitFor(async () => await serving() === 3, 'three replicas serve')

    let fewestServing = 3
    let mostCopies = 0
    let watching = true
    const watch = (async () => {
      while (watching) {
        fewestServing = Math.min(fewestServing, await serving())
        mostCopies = Math.max(mostCopies, (await containers()).length)
        await sleep(10)
      }
    })()
    await ops.deploy([web('minga/busybox:2')])
    await waitFor(async () => {
      const all = await containers()
      return all.length === 3 && all.every(c => c.serving && c.image === 'minga/busybox:2')
    }, 'every replica runs the new image, once', 30_000)
    watching = false
    await watch
    return { fewestServing, mostCopies }
  } finally {
    await mesh.stop()
  }
}

test('maxUnavailable 0: every replica serves through the update', async () => {
  const outcome = await update(0)
  assert.is(outcome.fewestServing, 3, 'a replica went without a serving copy')
  assert.is(outcome.mostCopies, 4, 'one replica at a time runs two copies')
})

test('maxUnavailable 1: one replica at a time restarts in place', async () => {
  const outcome = await update(1)
  assert.is(outcome.fewestServing, 2)
  assert.is(outcome.mostCopies, 3)
})

test.run()
