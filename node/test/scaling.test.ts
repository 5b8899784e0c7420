/**
 * Scaling at the core level, three NodeCores: the count of replicas is not
 * part of what a container is made of, so scaling up, down, to 0 and back,
 * and redeploying the unchanged file never restart a running replica and
 * never rewrite the update policy.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseServiceSpec } from '@minga/protocol'
import { TestCluster, waitFor } from './core-cluster.js'

const FILE = `
name: web
image: minga/busybox:1
replicas: 3
spread: node
update: { maxUnavailable: 2 }
`

/** replica → container id, of every container that serves, on every node */
async function serving (mesh: TestCluster, service = 'acme/web'): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>()
  for (const node of mesh.nodes) {
    for (const c of await node.runtime.list()) {
      if (c.service !== service || c.state !== 'running') continue
      out.set(c.replica, [...(out.get(c.replica) ?? []), c.id])
    }
  }
  return out
}

test('scaling up and down never restarts a running replica; 3 → 0 → 3 and redeploying the file change nothing', async () => {
  const mesh = await TestCluster.start(['acme', 'acme', 'acme'])
  try {
    await mesh.settled()
    const ops = mesh.nodes[0].core.operations
    const deployFile = async (): Promise<string> => (await ops.deploy(parseServiceSpec(FILE, { org: 'acme' })))[0].status
    const starts = (): number => mesh.nodes.reduce((n, node) => n + node.runtime.started.length, 0)
    assert.is(await deployFile(), 'created')
    const first = await waitFor(async () => { const s = await serving(mesh); return s.size === 3 && [...s.values()].every(ids => ids.length === 1) ? s : undefined }, 'three replicas run')
    const startsBefore = starts()

    await ops.scale('web', 5)
    await waitFor(async () => (await serving(mesh)).size === 5, 'five replicas run')
    const five = await serving(mesh)
    for (const r of [0, 1, 2]) assert.equal(five.get(r), first.get(r), `replica ${r} kept its container when scaling up`)
    assert.is(starts(), startsBefore + 2, 'scaling 3 → 5 started two containers and restarted none')

    await ops.scale('web', 1)
    await waitFor(async () => (await serving(mesh)).size === 1, 'one replica runs')
    assert.equal((await serving(mesh)).get(0), first.get(0), 'replica 0 kept its container when scaling down')
    assert.is(ops.serviceRecord('web').spec.update.maxUnavailable, 2, 'scaling leaves the update policy as deployed')

    await ops.scale('web', 0)
    await waitFor(async () => (await serving(mesh)).size === 0, 'nothing runs at 0')
    await ops.scale('web', 3)
    const again = await waitFor(async () => { const s = await serving(mesh); return s.size === 3 ? s : undefined }, 'three replicas run again')
    const startsThen = starts()

    assert.is(await deployFile(), 'unchanged', 'the file deploys unchanged after 3 → 0 → 3')
    await ops.scale('web', 3)
    // a pass on every node with the redeploy in hand: nothing to do
    await Promise.all(mesh.nodes.map(async n => await n.core.reconciler.run()))
    assert.equal(await serving(mesh), again, 'no replica restarted')
    assert.is(starts(), startsThen)
  } finally {
    await mesh.stop()
  }
})

test('scaling to 0 works for every service, also one whose updates surge (maxUnavailable 0)', async () => {
  const mesh = await TestCluster.start(['acme', 'acme'])
  try {
    await mesh.settled()
    const ops = mesh.nodes[0].core.operations
    await ops.deploy(parseServiceSpec('name: surge\nimage: minga/busybox:1\nreplicas: 2\nupdate: { maxUnavailable: 0 }\n', { org: 'acme' }))
    await waitFor(async () => (await serving(mesh, 'acme/surge')).size === 2, 'two replicas run')
    await ops.scale('surge', 0)
    await waitFor(async () => (await serving(mesh, 'acme/surge')).size === 0, 'nothing runs at 0')
    assert.is(ops.serviceRecord('surge').spec.update.maxUnavailable, 0)
    await ops.scale('surge', 2)
    await waitFor(async () => (await serving(mesh, 'acme/surge')).size === 2, 'two replicas run again')
  } finally {
    await mesh.stop()
  }
})

test.run()
