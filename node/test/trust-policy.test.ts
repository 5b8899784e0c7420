/**
 * Node policy, end to end at the core level: what each operator set with
 * `minga up --accept-orgs` and `--share` decides where every node's
 * scheduler places replicas and where containers start.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { TestCluster, spec, waitFor } from './core-cluster.js'

test('acceptOrgs and shareForOthers decide where services run, on every node alike', async () => {
  const mesh = await TestCluster.start([
    { org: 'acme', acceptOrgs: ['acme'] },
    { org: 'beta', shareForOthers: 0 },
    { org: 'gamma' },
    { org: 'beta', acceptOrgs: ['acme', 'beta'] }
  ])
  try {
    const [a1, b1, g1, b2] = mesh.nodes
    const id = (n: typeof a1): string => n.identity.peerId
    await waitFor(() => mesh.nodes.every(n => mesh.nodes.every(m => n.state.value(`node/${id(m)}`) !== undefined) && n.core.liveness.live().length === 4), 'everyone sees everyone')
    await b1.core.operations.deploy([spec('beta', 'db', { replicas: 3, spread: 'node' })])
    await a1.core.operations.deploy([spec('acme', 'web', { replicas: 3, spread: 'node' })])

    const expected = {
      // a1 runs acme's services only; beta's own nodes run beta's whatever their share
      'beta/db': new Set([id(b1), id(g1), id(b2)]),
      // b1 gives others nothing
      'acme/web': new Set([id(a1), id(g1), id(b2)])
    }
    await waitFor(() => mesh.nodes.every(n => {
      const services = n.core.reconciler.currentAssignment().services
      return Object.entries(expected).every(([service, nodes]) => services[service]?.length === 3 && services[service].every(p => p !== null && nodes.has(p)))
    }), 'every node computes a placement within the policies')
    const assignments = mesh.nodes.map(n => JSON.stringify(n.core.reconciler.currentAssignment().services))
    assert.ok(assignments.every(a => a === assignments[0]), 'all nodes agree on the placement')

    await waitFor(() => mesh.nodes.reduce((sum, n) => sum + n.runtime.started.length, 0) >= 6, 'six replicas started')
    for (const n of mesh.nodes) {
      for (const started of n.runtime.started) assert.ok(expected[started.service as keyof typeof expected].has(id(n)), `${started.service} started on a node whose policy refuses it`)
    }
    assert.not.ok(a1.runtime.started.some(r => r.service === 'beta/db'))
    assert.not.ok(b1.runtime.started.some(r => r.service === 'acme/web'))
  } finally {
    await mesh.stop()
  }
})

test.run()
