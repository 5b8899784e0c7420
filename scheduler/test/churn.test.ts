import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { loadByNode, movedReplicas, place, replicasOn } from '../src/index.js'
import { workload } from './workload.js'

// 500 nodes in 50 orgs, 5,000 services, ~15,000 replicas, cpu about half used: the benchmark's shape at half its size.
// Cascades from spread grow as orgs get fewer (two siblings more often want one org): ~1.13 with 30 orgs
const { services, nodes } = workload({ services: 5000, nodes: 500, orgs: 50, seed: 7 })
const before = place(services, nodes)
const SAMPLES = 12

test('the workload is comfortable but not empty', () => {
  assert.is(before.unplaced.length, 0)
  const used = services.reduce((sum, s) => sum + s.spec.replicas * s.spec.resources.cpu, 0)
  const total = nodes.reduce((sum, n) => sum + n.capacity.cpu, 0)
  assert.ok(used / total > 0.4 && used / total < 0.65, `cpu use ${used / total}`)
})

test('when a node leaves, little more than its own replicas move', () => {
  let moved = 0
  let optimal = 0
  for (let k = 0; k < SAMPLES; k++) {
    const leaver = nodes[(k * 37 + 5) % nodes.length]
    const after = place(services, nodes.filter(n => n !== leaver))
    const movedNow = movedReplicas(before, after)
    const own = replicasOn(before, leaver.id)
    // every replica of the leaver moves; the rest is cascade
    for (const r of own) assert.ok(movedNow.some(m => m.service === r.service && m.replica === r.replica))
    moved += movedNow.length
    optimal += own.length
  }
  assert.ok(moved / optimal <= 1.1, `moved ${moved} for ${optimal} on leaving nodes: ${moved / optimal}`)
})

test('a joining node takes about its share, and little else moves', () => {
  let moved = 0
  let received = 0
  let expected = 0
  const totalCpu = nodes.reduce((sum, n) => sum + n.capacity.cpu, 0)
  const replicas = services.reduce((sum, s) => sum + s.spec.replicas, 0)
  for (let k = 0; k < SAMPLES; k++) {
    const joiner = { ...nodes[(k * 53 + 11) % nodes.length], id: `joiner-${k}` }
    const after = place(services, [...nodes, joiner])
    moved += movedReplicas(before, after).length
    received += replicasOn(after, joiner.id).length
    expected += replicas * joiner.capacity.cpu / (totalCpu + joiner.capacity.cpu)
  }
  assert.ok(received > expected * 0.7 && received < expected * 1.3, `received ${received}, about ${expected} expected`)
  assert.ok(moved / received <= 1.1, `moved ${moved} for ${received} received: ${moved / received}`)
})

test('load follows capacity', () => {
  const load = loadByNode(before)
  const perCore = nodes.map(n => (load.get(n.id) ?? 0) / (n.capacity.cpu / 1000))
  const mean = perCore.reduce((a, b) => a + b, 0) / perCore.length
  const within = perCore.filter(x => x > mean * 0.4 && x < mean * 1.6).length
  assert.ok(within / nodes.length > 0.9, `${within} of ${nodes.length} nodes within 40% of the mean load per core`)
})

test.run()
