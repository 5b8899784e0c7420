/**
 * Failover's two shortcuts at the core level, four NodeCores on the
 * virtual clock with memory runtimes: the node named each replica's standby
 * keeps its container created, not started, and starts that very container
 * when the owner dies; minga runs the first health probe itself, so a
 * check with a 30 s interval is healthy long before 30 s. Standbys never
 * show as replicas, follow the spec's hash, and go when no longer wanted.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseServiceSpec } from '@minga/protocol'
import { TestCluster, waitFor, type TestNode } from './core-cluster.js'

const FILE = (extra = ''): string => `
name: web
image: minga/busybox:1
replicas: 2
spread: node
health: { cmd: ["true"], interval: 30s }
${extra}
`

async function standbysOf (node: TestNode): Promise<Array<{ id: string, replica: number, hash: string }>> {
  return (await node.runtime.list()).filter(c => c.standby === true).map(c => ({ id: c.id, replica: c.replica, hash: c.hash }))
}

test('the standby node starts the created container when the owner dies; first probes make a 30 s interval healthy at once; standbys follow the spec and go', async () => {
  const mesh = await TestCluster.start(['acme', 'acme', 'acme', 'acme'])
  try {
    await mesh.settled()
    const ops = mesh.nodes[0].core.operations
    const deployedAt = mesh.clock.now()
    await ops.deploy(parseServiceSpec(FILE(), { org: 'acme' }))
    // Docker alone would first probe after 30 s: the virtual clock gives up at 20 s
    await waitFor(async () => (await ops.ps('web')).every(r => r.running.some(c => c.healthy && c.node === r.assigned)) && (await ops.ps('web')).length === 2, 'both replicas healthy before the first interval', 20_000)
    assert.ok(mesh.clock.now() - deployedAt < 30_000)

    // each replica's standby node holds a created container of it, which ps does not show
    const assignment = mesh.nodes[0].core.reconciler.currentAssignment()
    const standbyNode = (replica: number): TestNode => mesh.nodes.find(n => n.identity.peerId === assignment.standby?.['acme/web'][replica])!
    const owner = (replica: number): TestNode => mesh.nodes.find(n => n.identity.peerId === assignment.services['acme/web'][replica])!
    assert.ok(standbyNode(0) !== undefined && standbyNode(0) !== owner(0), 'replica 0 has a standby on another node')
    const warm = await waitFor(async () => (await standbysOf(standbyNode(0))).find(s => s.replica === 0), 'the standby of replica 0 is created')
    assert.is((await standbyNode(0).runtime.list()).find(c => c.id === warm.id)?.state, 'created')
    // (memory runtimes number their containers per node)
    assert.not.ok((await ops.ps('web')).some(r => r.running.some(c => c.node === standbyNode(0).identity.peerId && c.containerId === warm.id)), 'ps does not show the standby')

    // the owner of replica 0 dies: its standby node starts the very container it created
    const victim = owner(0)
    const heir = standbyNode(0)
    victim.mesh.down = true
    mesh.net.regate()
    await victim.core.stop()
    const started = await waitFor(async () => (await heir.runtime.list()).find(c => c.service === 'acme/web' && c.replica === 0 && c.state === 'running' && c.health === 'healthy'), 'replica 0 runs healthy on its standby node')
    assert.is(started.id, warm.id, 'the standby container was started, not a new one created')
    assert.is(started.standby, undefined)

    // a changed spec: every standby left is of the new hash
    const survivors = mesh.nodes.filter(n => n !== victim)
    await ops.deploy(parseServiceSpec(FILE('env: { MODE: blue }'), { org: 'acme' }))
    const hash = () => mesh.nodes[0].core.reconciler.desired().find(s => s.id === 'acme/web')!.hash
    const renewed = await waitFor(async () => { const all = (await Promise.all(survivors.map(standbysOf))).flat(); return all.length > 0 && all.every(s => s.hash === hash()) ? all : undefined }, 'standbys of the old spec are replaced by ones of the new')
    assert.not.ok(renewed.some(s => s.id === warm.id))

    // scaled to 0, nothing is anyone's standby: none is left
    await ops.scale('web', 0)
    await waitFor(async () => (await Promise.all(survivors.map(async n => await n.runtime.list()))).flat().length === 0, 'no container is left, standbys included')
  } finally {
    await mesh.stop()
  }
})

test.run()
