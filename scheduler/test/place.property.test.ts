import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { movedReplicas, place, replicaCount, replicasOn } from '../src/index.js'
import { node, scenario, service, shuffle } from './fixtures.js'
import { eligible, hardLimitViolations } from './invariants.js'

const RUNS = { numRuns: 200 }

test('the same inputs in any order give the same assignment', () => {
  fc.assert(fc.property(scenario(), fc.integer(), fc.integer({ min: 1, max: 40 }), ({ services, nodes }, seed, memberCount) => {
    const a = place(services, nodes, { memberCount })
    const b = place(shuffle(services, seed), shuffle(nodes, seed + 1), { memberCount })
    assert.is(JSON.stringify(b), JSON.stringify(a))
  }), RUNS)
})

test('capacity, shares, host ports, constraints, orgs, accept lists and cordons are never violated', () => {
  fc.assert(fc.property(scenario(), ({ services, nodes }) => {
    const problems = hardLimitViolations(services, nodes, place(services, nodes))
    assert.equal(problems, [])
  }), RUNS)
})

test('replicas land on distinct orgs whenever enough orgs have room', () => {
  fc.assert(fc.property(scenario({ ample: true }), ({ services, nodes }) => {
    const assignment = place(services, nodes)
    const orgOf = new Map(nodes.map(n => [n.id, n.org]))
    for (const s of services) {
      // host ports taken by other services make nodes unfit; ample capacity does not help there
      if (s.spec.singleton || s.spec.ports.length > 0) continue
      const fitting = nodes.filter(n => eligible(s, n))
      const slots = assignment.services[s.id]
      if (fitting.length === 0) continue
      assert.ok(slots.every(n => n !== null), `${s.id} not fully placed`)
      const placed = slots.filter((n): n is string => n !== null)
      const wantNodes = Math.min(placed.length, fitting.length)
      assert.is(new Set(placed).size, wantNodes, `${s.id} uses ${new Set(placed).size} nodes, ${wantNodes} possible`)
      if (s.spec.spread === 'org') {
        const wantOrgs = Math.min(placed.length, new Set(fitting.map(n => n.org)).size)
        assert.is(new Set(placed.map(n => orgOf.get(n))).size, wantOrgs, `${s.id} spans too few orgs`)
      }
    }
  }), RUNS)
})

test('a newer service never displaces an older one', () => {
  fc.assert(fc.property(scenario(), scenario({ maxNodes: 0, maxServices: 3 }), ({ services, nodes }, extra) => {
    const before = place(services, nodes)
    const newer = extra.services.map((s, i) => ({ ...s, id: `${s.spec.org}/newer${i}`, created: `9999-${i}` }))
    const after = place([...services, ...newer], nodes)
    for (const s of services) assert.equal(after.services[s.id], before.services[s.id], s.id)
  }), RUNS)
})

test('scaling a service up or down never moves its other replicas', () => {
  fc.assert(fc.property(scenario({ maxServices: 6 }), fc.nat(), fc.integer({ min: 0, max: 6 }), ({ services, nodes }, pick, replicas) => {
    fc.pre(services.length > 0)
    const target = services[pick % services.length]
    const scaled = services.map(s => s === target ? { ...s, spec: { ...s.spec, replicas } } : s)
    const before = place(services, nodes).services[target.id]
    const after = place(scaled, nodes).services[target.id]
    const kept = Math.min(before.length, after.length)
    assert.equal(after.slice(0, kept), before.slice(0, kept))
  }), RUNS)
})

test('with room to spare, only the replicas of a leaving node move', () => {
  // single-replica services: no spread between siblings, so no cascade is possible
  fc.assert(fc.property(scenario({ ample: true, plain: true, maxReplicas: 1 }), fc.nat(), ({ services, nodes }, pick) => {
    fc.pre(nodes.length > 1)
    const leaver = nodes[pick % nodes.length]
    const before = place(services, nodes)
    const after = place(services, nodes.filter(n => n !== leaver))
    const moved = movedReplicas(before, after)
    assert.equal(moved, replicasOn(before, leaver.id))
  }), RUNS)
})

test('with room to spare, a joining node only takes replicas', () => {
  fc.assert(fc.property(scenario({ ample: true, plain: true, maxReplicas: 1 }), fc.constantFrom('acme', 'zulu'), ({ services, nodes }, org) => {
    const joiner = node('joiner', org, { capacity: { cpu: 1_000_000, memory: 1024 ** 4 } })
    const before = place(services, nodes)
    const after = place(services, [...nodes, joiner])
    assert.equal(movedReplicas(before, after), replicasOn(after, 'joiner'))
  }), RUNS)
})

test('a singleton is placed only by a strict majority', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 20 }), (live, extra) => {
    const memberCount = live + extra
    const nodes = Array.from({ length: live }, (_, i) => node(`n${i}`, 'a'))
    const assignment = place([service('a/db', { singleton: true, replicas: 3 })], nodes, { memberCount })
    const placed = assignment.services['a/db'][0] !== null
    assert.is(placed, live * 2 > memberCount)
    if (!placed && live > 0) assert.is(assignment.unplaced[0].reason, `singleton needs a majority of the mesh (sees ${live} of ${memberCount} nodes)`)
  }), RUNS)
})

test('every replica is either placed or listed as unplaced, once', () => {
  fc.assert(fc.property(scenario(), ({ services, nodes }) => {
    const assignment = place(services, nodes)
    let nulls = 0
    for (const s of services) {
      assert.is(assignment.services[s.id].length, replicaCount(s.spec))
      nulls += assignment.services[s.id].filter(n => n === null).length
    }
    assert.is(assignment.unplaced.length, nulls)
  }), RUNS)
})

test.run()
