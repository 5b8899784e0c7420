/**
 * A member that is not live (`absent`) still counts: the mesh is placed as if
 * it were live and then its replicas move, so a loss moves exactly the lost
 * node's replicas, each to the standby named before the loss. Placed on the
 * live nodes alone, in a mesh of three orgs most losses pushed a sibling out
 * as well (sim-vs-real's real survivors started, then stopped, a replica the
 * dead node never ran in 2 runs of 4).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { movedReplicas, place, replicasOn } from '../src/index.js'
import type { Assignment, NodeInfo } from '../src/index.js'
import { MIB, node, service } from './fixtures.js'
import { workload } from './workload.js'

// deploy-kill-10's shape: 10 nodes of 3 orgs, services of 2-3 replicas spread over orgs
const nodes = Array.from({ length: 10 }, (_, i) => node(`n${i}`, `o${i % 3}`))
const services = Array.from({ length: 30 }, (_, i) => service(`o${i % 3}/s${i}`, { replicas: 2 + (i % 2), created: String(i).padStart(4, '0'), resources: { cpu: 100, memory: 64 * MIB } }))
const before = place(services, nodes, { standby: true })

const without = (gone: readonly NodeInfo[]): NodeInfo[] => nodes.filter(n => !gone.includes(n))
const movedTo = (a: Assignment, b: Assignment): string[] => movedReplicas(a, b).map(m => `${m.service}#${m.replica}→${b.services[m.service][m.replica]}`)
const own = (gone: readonly NodeInfo[]): string[] => gone.flatMap(n => replicasOn(before, n.id)).map(m => `${m.service}#${m.replica}`).sort()

test('placed on the live nodes alone, a loss in a mesh of three orgs pushes siblings out too (what absent members avoid)', () => {
  let cascades = 0
  for (const dead of nodes) cascades += movedReplicas(before, place(services, without([dead]))).length - own([dead]).length
  assert.ok(cascades > 10, `${cascades} replicas moved that the lost nodes did not hold`)
})

test('a loss moves exactly the lost node\'s replicas, each to its standby', () => {
  for (const dead of nodes) {
    const after = place(services, without([dead]), { absent: [dead], standby: true })
    const moved = movedReplicas(before, after)
    assert.equal(moved.map(m => `${m.service}#${m.replica}`).sort(), own([dead]), `only ${dead.id}'s replicas move`)
    for (const m of moved) assert.is(after.services[m.service][m.replica], before.standby![m.service][m.replica], `${m.service}#${m.replica} went to its standby`)
    assert.is(after.unplaced.length, 0)
  }
})

test('two losses move only their replicas, spread against the siblings that stand; the return moves them back', () => {
  for (let k = 0; k < nodes.length; k++) {
    const gone = [nodes[k], nodes[(k + 4) % nodes.length]]
    const after = place(services, without(gone), { absent: gone })
    assert.equal(movedReplicas(before, after).map(m => `${m.service}#${m.replica}`).sort(), own(gone), movedTo(before, after).join(', '))
    for (const [id, slots] of Object.entries(after.services)) {
      // three replicas on eight nodes of three orgs: still one per org
      const orgs = new Set(slots.map(n => nodes.find(x => x.id === n)!.org))
      assert.is(orgs.size, slots.length, `${id} spread over orgs: ${slots.join(', ')}`)
    }
  }
  assert.equal(place(services, nodes).services, before.services)
})

test('an absent member counts towards the members a singleton needs a majority of', () => {
  const db = service('o0/db', { singleton: true })
  assert.is(place([db], nodes.slice(0, 2), { absent: nodes.slice(2, 5) }).services['o0/db'][0], null)
  assert.ok(place([db], nodes.slice(0, 3), { absent: nodes.slice(3, 5) }).services['o0/db'][0] !== null)
})

test('when a lost replica fits on no live node, the live nodes are placed alone: oldest service first', () => {
  const small = [node('a', 'o0', { capacity: { cpu: 1000, memory: 1024 * MIB } }), node('b', 'o1', { capacity: { cpu: 1000, memory: 1024 * MIB } })]
  const big = (id: string, created: string): ReturnType<typeof service> => service(id, { replicas: 1, created, resources: { cpu: 800, memory: 64 * MIB } })
  const list = [big('o0/old', '0001'), big('o1/young', '0002')]
  const both = place(list, small)
  const lost = small.find(n => n.id === both.services['o0/old'][0])!
  const after = place(list, small.filter(n => n !== lost), { absent: [lost] })
  assert.equal(after, place(list, small.filter(n => n !== lost)))
  assert.is(after.services['o0/old'][0], small.find(n => n !== lost)!.id, 'the older service keeps running')
  assert.is(after.unplaced[0].service, 'o1/young')
  // and with no live node at all, it says so
  assert.is(place(list, [], { absent: small }).unplaced[0].reason, 'no node is live')
})

test('at scale (500 nodes, 50 orgs, 5,000 services) a loss moves its own replicas and nothing else', () => {
  const mesh = workload({ services: 5000, nodes: 500, orgs: 50, seed: 7 })
  const all = place(mesh.services, mesh.nodes)
  for (let k = 0; k < 4; k++) {
    const dead = mesh.nodes[(k * 37 + 5) % mesh.nodes.length]
    const after = place(mesh.services, mesh.nodes.filter(n => n !== dead), { absent: [dead] })
    assert.is(movedReplicas(all, after).length, replicasOn(all, dead.id).length)
  }
})

test.run()
