import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { replicaCount } from '../src/index.js'
import { node, service } from './fixtures.js'
import { Sim } from './sim.js'

const RUNS = { numRuns: 150 }

const mesh = fc.record({
  nodes: fc.integer({ min: 1, max: 6 }),
  orgs: fc.integer({ min: 1, max: 3 }),
  replicas: fc.integer({ min: 1, max: 6 }),
  maxUnavailable: fc.integer({ min: 0, max: 3 }),
  seed: fc.integer(),
  lag: fc.integer({ min: 0, max: 2 }),
  maxStartSteps: fc.integer({ min: 0, max: 4 })
})

function build (m: { nodes: number, orgs: number, replicas: number, maxUnavailable: number, seed: number, lag: number, maxStartSteps: number }): Sim {
  const nodes = Array.from({ length: m.nodes }, (_, i) => node(`n${i}`, `o${i % m.orgs}`))
  const services = [
    service('o0/web', { replicas: m.replicas, update: { maxUnavailable: m.maxUnavailable } }),
    service('o1/api', { replicas: 2, created: '0001' })
  ]
  return new Sim(nodes, services, m)
}

test('a rolling update never takes more than maxUnavailable replicas down, and finishes', () => {
  fc.assert(fc.property(mesh, (m) => {
    const sim = build(m)
    assert.ok(sim.settle(50) >= 0, 'first deploy converges')
    const web = () => sim.services[0]
    const floor = replicaCount(web().spec) - Math.max(1, m.maxUnavailable)
    sim.services = [{ ...web(), hash: 'h2', spec: { ...web().spec, image: 'example/web:2' } }, sim.services[1]]
    const steps = sim.settle(200, () => {
      assert.ok(sim.available(web()) >= floor, `only ${sim.available(web())} of ${m.replicas} available (floor ${floor})`)
    })
    assert.ok(steps >= 0, 'the update finishes')
  }), RUNS)
})

test('moving replicas (a cordon) never leaves a replica without a healthy copy', () => {
  fc.assert(fc.property(mesh, fc.nat(), (m, pick) => {
    fc.pre(m.nodes > 1)
    const sim = build(m)
    assert.ok(sim.settle(50) >= 0)
    const cordoned = `n${pick % m.nodes}`
    sim.nodes = sim.nodes.map(n => n.id === cordoned ? { ...n, cordoned: true } : n)
    const steps = sim.settle(100, () => {
      for (const s of sim.services) assert.is(sim.available(s), replicaCount(s.spec), `${s.id} lost a replica`)
    })
    assert.ok(steps >= 0, 'the move finishes')
    assert.equal(sim.containers.get(cordoned), [])
  }), RUNS)
})

test('scale-down and delete stop at once', () => {
  const sim = build({ nodes: 3, orgs: 3, replicas: 3, maxUnavailable: 1, seed: 1, lag: 0, maxStartSteps: 1 })
  assert.ok(sim.settle(20) >= 0)
  sim.services = [{ ...sim.services[0], spec: { ...sim.services[0].spec, replicas: 1 } }]
  const actions = sim.step()
  assert.equal(actions.map(a => `${a.type} ${a.service}#${a.replica}`).sort(), ['stop o0/web#1', 'stop o0/web#2', 'stop o1/api#0', 'stop o1/api#1'])
  assert.ok(sim.converged())
})

test.run()
