import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DuplicateNodeError, DuplicateServiceError, loadByNode, movedReplicas, nodeOf, place, replicasOn } from '../src/index.js'
import { GIB, MIB, node, service } from './fixtures.js'

const nodes = [node('a1', 'a'), node('a2', 'a'), node('b1', 'b'), node('c1', 'c')]

test('places every replica and lists none as unplaced when all fits', () => {
  const assignment = place([service('a/web', { replicas: 3 })], nodes)
  assert.is(assignment.services['a/web'].length, 3)
  assert.ok(assignment.services['a/web'].every(n => n !== null))
  assert.equal(assignment.unplaced, [])
})

test('spreads replicas over orgs before nodes', () => {
  const orgs = place([service('a/web', { replicas: 3 })], nodes).services['a/web'].map(n => n![0])
  assert.equal([...orgs].sort(), ['a', 'b', 'c'])
})

test('spread node ignores orgs but still uses distinct nodes', () => {
  const slots = place([service('a/web', { replicas: 4, spread: 'node' })], nodes).services['a/web']
  assert.is(new Set(slots).size, 4)
})

test('shares a node between replicas only when nothing else fits', () => {
  const slots = place([service('a/web', { replicas: 3 })], [node('a1', 'a')]).services['a/web']
  assert.equal(slots, ['a1', 'a1', 'a1'])
})

test('a singleton runs at most one replica', () => {
  const assignment = place([service('a/db', { replicas: 3, singleton: true })], nodes)
  assert.is(assignment.services['a/db'].length, 1)
})

test('a singleton needs a strict majority of the members', () => {
  const db = service('a/db', { singleton: true })
  assert.ok(place([db], nodes.slice(0, 3), { memberCount: 5 }).services['a/db'][0] !== null)
  const half = place([db], nodes.slice(0, 2), { memberCount: 4 })
  assert.is(half.services['a/db'][0], null)
  assert.equal(half.unplaced, [{ service: 'a/db', replica: 0, cause: 'no-majority', reason: 'singleton needs a majority of the mesh (sees 2 of 4 nodes)' }])
})

test('a singleton counts only the live nodes heard from recently toward its majority', () => {
  const db = service('a/db', { singleton: true })
  // three live of five, but one of them only suspected: a side losing sight of the mesh gives the singleton up
  const losing = place([db], nodes.slice(0, 3), { memberCount: 5, confirmed: 2 })
  assert.is(losing.services['a/db'][0], null)
  assert.is(losing.unplaced[0].reason, 'singleton needs a majority of the mesh (sees 2 of 5 nodes)')
  assert.ok(place([db], nodes.slice(0, 3), { memberCount: 5, confirmed: 3 }).services['a/db'][0] !== null)
  assert.ok(place([db], nodes.slice(0, 3), { memberCount: 5, confirmed: 9 }).services['a/db'][0] !== null, 'never more than the live nodes')
  assert.is(place([db], nodes.slice(0, 2), { memberCount: 5, confirmed: 9 }).services['a/db'][0], null)
})

test('scale to zero places nothing and reports nothing', () => {
  assert.equal(place([service('a/web', { replicas: 0 })], nodes), { services: { 'a/web': [] }, unplaced: [] })
})

test('reason: cpu', () => {
  const a = place([service('a/big', { resources: { cpu: 2000, memory: 0 } })], [node('n1', 'a', { capacity: { cpu: 1500, memory: GIB } })])
  assert.is(a.unplaced[0].reason, 'no node has 2000m cpu free (largest free: 1500m)')
  assert.is(a.unplaced[0].cause, 'capacity')
})

test('reason: memory, counting what older services took', () => {
  const n = [node('n1', 'a', { capacity: { cpu: 4000, memory: GIB } })]
  const a = place([
    service('a/old', { created: '1', resources: { cpu: 100, memory: 768 * MIB } }),
    service('a/new', { created: '2', resources: { cpu: 100, memory: 512 * MIB } })
  ], n)
  assert.is(a.services['a/old'][0], 'n1')
  assert.equal(a.unplaced.map(u => u.reason), ['no node has 512MiB memory free (largest free: 256MiB)'])
})

test('reason: cpu and memory on different nodes', () => {
  const a = place([service('a/x', { resources: { cpu: 2000, memory: 2 * GIB } })], [
    node('n1', 'a', { capacity: { cpu: 4000, memory: GIB } }),
    node('n2', 'a', { capacity: { cpu: 1000, memory: 4 * GIB } })
  ])
  assert.is(a.unplaced[0].reason, 'no node has 2000m cpu and 2GiB memory free at once')
})

test('reason: constraints', () => {
  const a = place([service('a/db', { constraints: { disk: 'ssd', zone: 'eu' } })], [node('n1', 'a', { labels: { disk: 'ssd' } })])
  assert.is(a.unplaced[0].reason, 'no node matches constraints disk=ssd, zone=eu')
})

test('excluded labels keep a node out; a node without the label qualifies; none left is unplaced, never placed anywhere', () => {
  const cluster = [node('hdd', 'a', { labels: { disk: 'hdd' } }), node('ssd', 'a', { labels: { disk: 'ssd' } }), node('bare', 'a')]
  const slots = place([service('a/db', { replicas: 3, spread: 'node', excludedLabels: { disk: ['hdd'] } })], cluster).services['a/db']
  assert.ok(!slots.includes('hdd'), `placed on ${slots.join(',')}`)
  assert.equal(new Set(slots), new Set(['ssd', 'bare']))
  const none = place([service('a/db', { excludedLabels: { disk: ['hdd', 'ssd'] } })], cluster.slice(0, 2))
  assert.equal(none.services['a/db'], [null])
  assert.is(none.unplaced[0].reason, 'no node matches constraints disk!=hdd, disk!=ssd')
  const both = place([service('a/db', { constraints: { zone: 'eu' }, excludedLabels: { disk: ['hdd'] } })], [node('n', 'a', { labels: { zone: 'us' } })])
  assert.is(both.unplaced[0].reason, 'no node matches constraints zone=eu, disk!=hdd')
})

test('a replica reserves its reservations, not its limits, where they are given', () => {
  const small = [node('n1', 'a', { capacity: { cpu: 1000, memory: GIB } })]
  // limits of 2 GiB each would not fit one; reservations of 256 MiB fit four
  const spec = { replicas: 4, resources: { cpu: 1000, memory: 2 * GIB }, reservations: { cpu: 200, memory: 256 * MIB } }
  assert.equal(place([service('a/x', spec)], small).services['a/x'], ['n1', 'n1', 'n1', 'n1'])
  const reason = place([service('a/x', { ...spec, replicas: 5 })], small).unplaced[0].reason
  assert.is(reason, 'no node has 256MiB memory free (largest free: 0B)')
  // a reservation of memory alone reserves the limit of cpu
  assert.is(place([service('a/y', { replicas: 2, resources: { cpu: 600, memory: GIB }, reservations: { memory: 64 * MIB } })], small).unplaced.length, 1)
})

test('reason: allowed orgs', () => {
  const a = place([service('a/x', { allowOrgs: ['a', 'b'] })], [node('c1', 'c')])
  assert.is(a.unplaced[0].reason, 'no node of allowed orgs [a, b] is live')
})

test('reason: accept lists', () => {
  const a = place([service('a/x')], [node('c1', 'c', { acceptOrgs: ['c'] })])
  assert.is(a.unplaced[0].reason, 'no live node accepts services of org a (acceptOrgs)')
})

test('reason: cordon', () => {
  const a = place([service('a/x')], [node('a1', 'a', { cordoned: true })])
  assert.is(a.unplaced[0].reason, 'every matching node is cordoned (1 node)')
})

test('reason: share for others', () => {
  const a = place([service('a/x', { resources: { cpu: 1000, memory: 0 } })], [node('b1', 'b', { shareForOthers: 0.1 })])
  assert.is(a.unplaced[0].cause, 'share')
  assert.match(a.unplaced[0].reason, 'no node with room shares 1000m cpu')
  // its own org may use all of it
  assert.is(place([service('b/x', { resources: { cpu: 1000, memory: 0 } })], [node('b1', 'b', { shareForOthers: 0.1 })]).unplaced.length, 0)
})

test('reason: host port', () => {
  const web = (name: string, created: string) => service(`a/${name}`, { created, ports: [{ container: 80, host: 80, protocol: 'tcp', mode: 'host' }] })
  const a = place([web('one', '1'), web('two', '2')], [node('a1', 'a')])
  assert.is(a.services['a/one'][0], 'a1')
  assert.equal(a.unplaced.map(u => u.reason), ['host port 80/tcp taken on every fitting node'])
  // the same port over udp does not clash
  const udp = service('a/dns', { created: '3', ports: [{ container: 53, host: 80, protocol: 'udp' }] })
  assert.is(place([web('one', '1'), udp], [node('a1', 'a')]).services['a/dns'][0], 'a1')
})

test('reason: no live node', () => {
  assert.is(place([service('a/x')], []).unplaced[0].reason, 'no node is live')
})

test('replicas that do not fit beside their siblings report why', () => {
  const a = place([service('a/x', { replicas: 3, resources: { cpu: 3000, memory: 0 } })], [node('a1', 'a')])
  assert.equal(a.services['a/x'], ['a1', 'a1', null])
  assert.equal(a.unplaced, [{ service: 'a/x', replica: 2, cause: 'capacity', reason: 'no node has 3000m cpu free (largest free: 2000m)' }])
})

test('bigger nodes draw proportionally more replicas', () => {
  const mesh = [
    ...Array.from({ length: 20 }, (_, i) => node(`small${i}`, `o${i % 5}`, { capacity: { cpu: 4000, memory: 16 * GIB } })),
    ...Array.from({ length: 20 }, (_, i) => node(`big${i}`, `o${i % 5}`, { capacity: { cpu: 16000, memory: 64 * GIB } }))
  ]
  const services = Array.from({ length: 2000 }, (_, i) => service(`o${i % 5}/s${i}`, { resources: { cpu: 10, memory: 10 * MIB } }))
  const load = loadByNode(place(services, mesh))
  let small = 0
  let big = 0
  for (const [id, n] of load) id.startsWith('big') ? big += n : small += n
  assert.ok(big / small > 3.4 && big / small < 4.6, `big/small = ${big / small}`)
})

test('helpers read an assignment', () => {
  const a = place([service('a/web', { replicas: 2 })], nodes)
  const [first, second] = a.services['a/web']
  assert.equal(replicasOn(a, first!), [{ service: 'a/web', replica: 0 }])
  assert.is(nodeOf(a, 'a/web', 1), second)
  assert.is(nodeOf(a, 'a/none', 0), null)
  const b = place([service('a/web', { replicas: 2 })], nodes.filter(n => n.id !== first))
  assert.equal(movedReplicas(a, b), [{ service: 'a/web', replica: 0 }])
})

test('duplicate ids are a caller bug', () => {
  try {
    place([service('a/x'), service('a/x', { created: '9' })], nodes)
    assert.unreachable()
  } catch (err: any) {
    assert.is(err.name, 'DuplicateServiceError')
    assert.instance(err, DuplicateServiceError)
  }
  try {
    place([], [node('n', 'a'), node('n', 'b')])
    assert.unreachable()
  } catch (err: any) {
    assert.instance(err, DuplicateNodeError)
  }
})

test.run()
