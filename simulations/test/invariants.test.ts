import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Entry } from '@minga/protocol'
import { countInvariants } from '../src/measure/invariants.js'
import { checkAgreement, checkAll, checkDurability, checkPlacement, checkSingletons, checkSnapshots, type MeshSnapshot, type NodeSnapshot, type SnapshotFate, type Violation } from '../src/index.js'

const entry = (key: string, hlc: string, author = 'a'): Entry => ({ author, seq: 1, hlc, key, value: {}, sig: 'x' })
const written = entry('service/acme/web', '001767225600000.000001')

function node (id: string, patch: Partial<NodeSnapshot> = {}): NodeSnapshot {
  return { id, up: true, cordoned: false, digest: 'd1', assignmentKey: 'a1', assignment: { 'acme/web': ['n1', 'n2'] }, containers: [], entry: key => key === written.key ? written : undefined, ...patch }
}

function healthy (): MeshSnapshot {
  return {
    nodes: [node('n1', { containers: [{ service: 'acme/web', replica: 0 }] }), node('n2', { containers: [{ service: 'acme/web', replica: 1 }] }), node('n3', { up: false, digest: undefined, assignmentKey: undefined, assignment: undefined })],
    acknowledged: [written],
    singletonViolations: []
  }
}

test('a healthy mesh breaks no invariant', () => {
  assert.equal(checkAll(healthy()), [])
})

test('agreement: a node with another digest or assignment is caught', () => {
  const s = healthy()
  s.nodes[1].digest = 'd2'
  assert.is(checkAgreement(s).length, 1)
  assert.match(checkAgreement(s)[0].detail, /2 different state digests/)
  s.nodes[1].digest = 'd1'
  s.nodes[0].assignmentKey = 'other'
  assert.match(checkAgreement(s)[0].detail, /2 different assignments/)
})

test('placement: a replica on a dead node, or assigned to a cordoned one, is caught', () => {
  const s = healthy()
  s.nodes[2].containers = [{ service: 'acme/web', replica: 0 }]
  assert.match(checkPlacement(s)[0].detail, /run on dead node n3/)
  const t = healthy()
  t.nodes[1].cordoned = true
  t.nodes[1].containers = []
  const found = checkPlacement(t)
  assert.ok(found.some(v => /assigns acme\/web#1 to cordoned node n2/.test(v.detail)), JSON.stringify(found))
})

test('placement and agreement: a node that started less than catchUp ago is not counted for its assignment, one up longer is', () => {
  // a restarted node holds deaths it heard from a peer's table as suspicions until its own probes confirm them: it
  // still assigns to the dead node n3
  const s = healthy()
  s.catchUp = 11_000
  s.deathSpread = 36_000
  s.nodes[0].upFor = 8_000
  s.nodes[0].assignmentKey = 'stale'
  s.nodes[0].assignment = { 'acme/web': ['n3', 'n2'] }
  s.nodes[1].upFor = 200_000
  assert.equal(checkAll(s), [])
  // up longer than catchUp, though less than the longest suspicion: counted
  s.nodes[0].upFor = 12_000
  assert.match(checkAgreement(s)[0].detail, /2 different assignments among 2 live nodes/)
  assert.match(checkPlacement(s)[0].detail, /assigns acme\/web#0 to dead node n3/)
  // a third node up for less is named in the count
  s.nodes.push(node('n4', { upFor: 1000, assignmentKey: 'other' }))
  assert.match(checkAgreement(s)[0].detail, /among 2 live nodes \(1 not counted: started less than 11 s ago/)
})

test('agreement and placement: a change younger than deathSpread still spreading is not counted; an older one is', () => {
  // n4 restarted 0.8 s ago: n2 heard it alive, n1 not yet; n3 died 20 s ago (longer than catchUp, less than the
  // longest suspicion) and n1 still assigns to it
  const s = healthy()
  s.catchUp = 11_000
  s.deathSpread = 36_000
  s.nodes[2].downFor = 20_000
  s.nodes.push(node('n4', { upFor: 800 }))
  s.nodes[0] = { ...s.nodes[0], upFor: 200_000, live: ['n1', 'n2', 'n3'], assignmentKey: 'a1', assignment: { 'acme/web': ['n3', 'n2'] } }
  s.nodes[1] = { ...s.nodes[1], upFor: 200_000, live: ['n1', 'n2', 'n3', 'n4'], assignmentKey: 'a2' }
  s.nodes.push(node('n5', { upFor: 200_000, live: ['n1', 'n2', 'n3'], assignmentKey: 'a1', assignment: { 'acme/web': ['n3', 'n2'] } }))
  assert.equal(checkAll(s), [])
  // the same difference in a member that changed long ago, and a death older than deathSpread: counted
  s.nodes[3].upFor = 40_000
  s.nodes[2].downFor = 40_000
  assert.match(checkAgreement(s)[0].detail, /2 different assignments among 4 live nodes/)
  assert.match(checkPlacement(s)[0].detail, /assigns acme\/web#0 to dead node n3/)
})

test('countInvariants counts every violation per invariant (the summary keeps only the first 50)', () => {
  const many: Violation[] = [...Array.from({ length: 60 }, () => ({ invariant: 'placement' as const, detail: '' })), { invariant: 'agreement', detail: '' }]
  assert.equal(countInvariants(many), { placement: 60, agreement: 1 })
})

test('durability: an acknowledged entry missing on a live node is caught; a newer one is fine', () => {
  const s = healthy()
  s.nodes[1].entry = () => undefined
  assert.match(checkDurability(s)[0].detail, /missing on 1 live node/)
  s.nodes[1].entry = () => entry(written.key, '001767225600000.000002', 'b')
  assert.equal(checkDurability(s), [])
  s.nodes[1].entry = () => entry(written.key, '001767225600000.000000', 'b')
  assert.is(checkDurability(s).length, 1)
})

test('singletons: a singleton seen on two nodes is caught', () => {
  const s = healthy()
  s.singletonViolations.push({ at: 1500, service: 'acme/db#0', nodes: ['n1', 'n2'] })
  assert.match(checkSingletons(s)[0].detail, /acme\/db#0 ran on 2 nodes/)
  assert.is(checkAll(s)[0].invariant, 'singleton')
})

function fate (patch: Partial<SnapshotFate> = {}): SnapshotFate {
  return { at: 30_000, service: 'acme/db', volume: 'data', snapshot: 'f00dbabe', generation: 3, latest: true, retained: true, holders: ['n2', 'n3'], holdersUp: 2, ...patch }
}

test('snapshots: one of R = 2 holders failed, or all R, is no loss; none up after fewer than R failed is', () => {
  const s = { ...healthy(), volumes: { copies: 2, snapshots: [fate({ holdersUp: 1 }), fate({ snapshot: 'beef', holdersUp: 0 })], staleStarts: [] } }
  assert.equal(checkSnapshots(s), [])
  // acknowledged on one holder only, and that one failed
  s.volumes.snapshots.push(fate({ snapshot: 'cafe0001', holders: ['n3'], holdersUp: 0 }))
  const found = checkSnapshots(s)
  assert.is(found.length, 1)
  assert.is(found[0].invariant, 'snapshot-lost')
  assert.match(found[0].detail, /snapshot cafe0001 of acme\/db\/data \(generation 3, acknowledged at \+30 s\) is lost: 1 of its holders failed, fewer than R = 2/)
  assert.is(checkAll(s).length, 1)
})

test('snapshots: the newest snapshot of a volume forgotten is a loss, an older one is retention', () => {
  const s = { ...healthy(), volumes: { copies: 2, snapshots: [fate({ latest: false, retained: false })], staleStarts: [] } }
  assert.equal(checkSnapshots(s), [])
  s.volumes.snapshots.push(fate({ retained: false }))
  assert.match(checkSnapshots(s)[0].detail, /is the newest of its volume and was forgotten/)
})

test('snapshots: a singleton started on an older volume is caught', () => {
  const s = { ...healthy(), volumes: { copies: 2, snapshots: [], staleStarts: [{ at: 61_000, node: 'n2', service: 'acme/db', volume: 'data', generation: 2, latest: 3, why: 'its data' }] } }
  const found = checkSnapshots(s)
  assert.is(found[0].invariant, 'stale-volume')
  assert.match(found[0].detail, /acme\/db started on n2 at \+61 s on data at generation 2, older than the acknowledged generation 3 \(by its data\)/)
  assert.equal(checkSnapshots(healthy()), [])
})

test.run()
