/**
 * The Prometheus series at the core level: a scrape costs no request to
 * another node (every node exports its own copies; the desired count is in
 * the replicated state), and the nodes' figures add up to the mesh's.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'prom-client'
import { nodeMetrics } from '../src/metrics/metrics.js'
import { TestCluster, played, spec, waitFor } from './core-cluster.js'

/** a sample's value in Prometheus text, undefined when absent */
function sample (text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue
    const inside = line.slice(name.length + 1, line.indexOf('}'))
    if (want.every(w => inside.split(',').includes(w))) return Number(line.slice(line.indexOf('}') + 1))
  }
  return undefined
}

test('a scrape asks no other node for its report: each node exports its own copies, and the nodes\' copies add up to the desired replicas', async () => {
  const mesh = await TestCluster.start(['acme', 'acme', 'acme'])
  try {
    await mesh.settled()
    const registries = mesh.nodes.map(n => nodeMetrics(n.core, { registry: new Registry() }))
    await mesh.nodes[0].core.operations.deploy([spec('acme', 'web', { replicas: 3, spread: 'node' })])
    await waitFor(async () => (await Promise.all(mesh.nodes.map(async n => await n.runtime.list()))).flat().filter(c => c.state === 'running').length === 3, 'three copies run')
    const reportRequests = (): number => mesh.nodes.reduce((sum, n) => sum + (n.core.membership.figures().sentBytes.get('report-request') ?? 0), 0)
    const before = reportRequests()
    const texts = await played(Promise.all(registries.map(async r => await r.metrics())))
    assert.is(reportRequests(), before, 'no report asked of any node')
    for (const text of texts) assert.is(sample(text, 'minga_service_replicas_desired', { service: 'acme/web' }), 3, 'the desired count on every node')
    const healthy = texts.map(text => sample(text, 'minga_node_replicas', { service: 'acme/web', state: 'healthy' }) ?? 0)
    assert.equal(healthy, [1, 1, 1], 'each node exports its own copy')
  } finally {
    await mesh.stop()
  }
})

test.run()
