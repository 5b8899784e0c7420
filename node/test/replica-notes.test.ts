/**
 * What `minga ps` says is wrong with a replica, on every node: the last
 * health probe of a copy that fails its check (exit code and output, riding
 * in reports), and never a note that is no longer true.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseServiceSpec } from '@minga/protocol'
import { MESH_ID, RecordingRuntime, TestCluster, waitFor, played } from './core-cluster.js'

test('a replica failing its health check shows the probe\'s exit code and output in ps on every node', async () => {
  const mesh = await TestCluster.start(['acme', 'riverside'])
  try {
    await mesh.settled()
    const ops = mesh.nodes[0].core.operations
    await ops.deploy(parseServiceSpec(`name: db
image: minga/busybox:1
replicas: 2
spread: node
health: { cmd: [sh, -c, "echo database not ready; exit 3"], interval: 1s, retries: 1 }
`, { org: 'acme' }))
    for (const node of mesh.nodes) {
      const ops = node.core.operations
      await waitFor(async () => {
        const rows = await ops.ps('acme/db')
        return rows.length === 2 && rows.every(r => r.running.some(c => c.probe?.exitCode === 3 && c.probe.output === 'database not ready') &&
          r.problem?.endsWith('failing its health check: exit 3, "database not ready"'))
      }, `ps on ${node.identity.peerId.slice(-8)} shows both replicas' probes`)
      const remote = (await played(ops.ps('acme/db'))).find(r => r.assigned !== node.identity.peerId)!
      assert.match(remote.problem!, /^node \w{8} reports: failing its health check/)
    }
  } finally {
    await mesh.stop()
  }
})

test('a note that is no longer true goes: a missing image\'s note ends when the replica runs', async () => {
  const mesh = await TestCluster.start(['acme', 'acme'].map(org => ({ org, runtime: new RecordingRuntime({ meshId: MESH_ID, images: ['minga/busybox:1'] }) })))
  try {
    await mesh.settled()
    const ops = mesh.nodes[0].core.operations
    // neither node has the image yet
    await ops.deploy(parseServiceSpec('name: app\nimage: minga/busybox:3\n', { org: 'acme' }))
    const assigned = await waitFor(async () => (await ops.ps('acme/app'))[0]?.assigned, 'placed')
    const owner = mesh.nodes.find(n => n.identity.peerId === assigned)!
    await waitFor(async () => (await Promise.all(mesh.nodes.map(async n => (await n.core.operations.ps('acme/app'))[0]?.problem ?? ''))).every(problem => /minga\/busybox:3/.test(problem)), 'every node shows the missing image')
    owner.runtime.engine.addImage('minga/busybox:3')
    for (const node of mesh.nodes) {
      const view = node.core.operations
      const row = await waitFor(async () => { const r = (await view.ps('acme/app'))[0]; return r.running.some(c => c.node === assigned && c.healthy && c.current) ? r : undefined }, 'the replica runs')
      assert.is(row.problem, undefined, `ps on ${node.identity.peerId.slice(-8)} shows a note that is no longer true: ${row.problem}`)
    }
    assert.equal(owner.core.reconciler.replicaProblems(), [])
  } finally {
    await mesh.stop()
  }
})

test.run()
