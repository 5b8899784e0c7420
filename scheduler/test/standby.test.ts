/**
 * Standby nodes: for each replica, the node that would take it if its owner
 * were gone, so that node can keep the image and a created container ready
 * (a warm standby). Asking for them changes no placement.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { place } from '../src/index.js'
import { node, service } from './fixtures.js'

const nodes = Array.from({ length: 30 }, (_, i) => node(`n${String(i).padStart(2, '0')}`, `o${i % 5}`))
const services = Array.from({ length: 120 }, (_, i) => service(`o${i % 5}/s${i}`, { replicas: 1 + (i % 3), spread: i % 2 === 0 ? 'org' : 'node', created: String(i).padStart(4, '0') }))

test('asking for standbys changes no placement', () => {
  const plain = place(services, nodes)
  const withStandby = place(services, nodes, { standby: true })
  assert.equal(withStandby.services, plain.services)
  assert.equal(withStandby.unplaced, plain.unplaced)
  assert.is(plain.standby, undefined)
})

test('a replica\'s standby is another node, and where the replica goes when its owner is lost', () => {
  const assignment = place(services, nodes, { standby: true })
  let checked = 0
  let agreed = 0
  for (const owner of nodes.slice(0, 10)) {
    const without = place(services, nodes.filter(n => n.id !== owner.id), { absent: [owner] })
    for (const [id, slots] of Object.entries(assignment.services)) {
      slots.forEach((o, r) => {
        if (o !== owner.id) return
        const standby = assignment.standby![id][r]
        assert.ok(standby !== null && standby !== owner.id, `${id}#${r} has a standby other than its owner`)
        checked++
        if (without.services[id][r] === standby) agreed++
      })
    }
  }
  assert.ok(checked > 20 && agreed === checked, `${agreed} of ${checked} replicas moved to their standby`)
})

test('a replica that fits on one node only has no standby', () => {
  const big = service('o0/big', { resources: { cpu: 7000, memory: 1024 } } as any)
  const assignment = place([big], [node('a', 'o0'), node('b', 'o1', { capacity: { cpu: 1000, memory: 16 * 1024 ** 3 } })], { standby: true })
  assert.is(assignment.services['o0/big'][0], 'a')
  assert.is(assignment.standby!['o0/big'][0], null)
})

test.run()
