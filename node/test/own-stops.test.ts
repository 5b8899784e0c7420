/**
 * A replica that minga stops itself (scale down, update, drain) exits like
 * any stopped process (SIGTERM, exit 143) before it is removed, as Docker
 * reports it. That exit is an ordinary stop in the events, never a crash,
 * and `minga status` does not count it; a real crash still is one.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseServiceSpec } from '@minga/protocol'
import { MESH_ID, RecordingRuntime, TestCluster, waitFor, pause as sleep, played } from './core-cluster.js'

/** a stop as Docker does it: the process gets SIGTERM and dies (a `die` event, exit 143), then the container goes */
class DockerLikeStops extends RecordingRuntime {
  override async stop (id: string): Promise<void> {
    try { this.crash(id, 143) } catch {}
    await sleep(50)
    await super.stop(id)
  }
}

test('minga\'s own stops (scale down, rolling update, drain) are stops in the events and no crash in status; a real crash still counts', async () => {
  const mesh = await TestCluster.start(['acme', 'acme'].map(org => ({ org, runtime: new DockerLikeStops({ meshId: MESH_ID }) })))
  try {
    await mesh.settled()
    const ops = mesh.nodes[0].core.operations
    const running = async (image?: string): Promise<number> => (await Promise.all(mesh.nodes.map(async n => await n.runtime.list()))).flat()
      .filter(c => c.state === 'running' && (image === undefined || c.image === image)).length
    const web = (image: string, replicas: number): any => parseServiceSpec(`name: web\nimage: ${image}\nreplicas: ${replicas}\nspread: node\n`, { org: 'acme' })
    await ops.deploy(web('minga/busybox:1', 4))
    await waitFor(async () => await running() === 4, 'four replicas run')
    await ops.scale('web', 2)
    await waitFor(async () => await running() === 2, 'two replicas run')
    await ops.deploy(web('minga/busybox:2', 2))
    await waitFor(async () => await running('minga/busybox:2') === 2 && await running() === 2, 'the update is done')
    await ops.cordon(mesh.nodes[1].identity.peerId, 'patching')
    await waitFor(async () => (await mesh.nodes[1].runtime.list()).length === 0, 'the cordoned node is empty')

    const events = mesh.nodes.flatMap(n => n.core.events.recent())
    const stops = events.filter(e => e.kind === 'replica-stop')
    assert.ok(stops.length >= 4, `scale-down, update and drain stops are stop events: ${JSON.stringify(events.map(e => [e.kind, e.subject, e.reason]))}`)
    assert.equal(events.filter(e => e.kind === 'replica-crash').map(e => [e.subject, e.reason]), [], 'no stop of minga\'s own is a crash')
    for (const node of mesh.nodes) assert.is((await played(node.core.operations.status())).recent.crashes, 0)

    // the control: a process that dies on its own is a crash
    const victim = (await mesh.nodes[0].runtime.list()).find(c => c.state === 'running')!
    mesh.nodes[0].runtime.crash(victim.id, 2)
    await waitFor(() => mesh.nodes[0].core.events.recent().some(e => e.kind === 'replica-crash' && e.reason === 'exited with code 2'), 'the crash is an event')
    assert.is((await played(mesh.nodes[0].core.operations.status())).recent.crashes, 1)
  } finally {
    await mesh.stop()
  }
})

test.run()
