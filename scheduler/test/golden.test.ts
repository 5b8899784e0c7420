/**
 * Placement is part of the protocol: nodes running different versions must
 * still agree on who runs what. These fixed answers fail on any change to
 * placement, however small. If that change is intended, every node of a mesh
 * must upgrade together (or the change must be gated by a mesh-wide version);
 * say so in the commit, then update the answers.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { place } from '../src/index.js'
import { node, service } from './fixtures.js'
import { workload } from './workload.js'

test('a small mesh places exactly so', () => {
  const nodes = ['a1', 'a2', 'b1', 'b2', 'c1'].map(id => node(id, id[0]))
  const services = [
    service('a/web', { replicas: 3 }),
    service('b/api', { replicas: 2, created: '0001' }),
    service('c/db', { singleton: true, created: '0002' })
  ]
  assert.equal(place(services, nodes).services, { 'a/web': ['a1', 'b2', 'c1'], 'b/api': ['a1', 'c1'], 'c/db': ['a2'] })
})

test('a larger mesh places exactly so', () => {
  const { services, nodes } = workload({ services: 500, nodes: 60, orgs: 8, seed: 3 })
  const digest = createHash('sha256').update(JSON.stringify(place(services, nodes))).digest('hex')
  assert.is(digest, 'd1f0cc19e794235e6cb9c9cfb6d9b225f1eabb19fc32c401d1ebefdff8ba0742')
})

test.run()
