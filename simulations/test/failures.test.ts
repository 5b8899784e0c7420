import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runScenario } from '../src/index.js'
import { scenario } from './helpers.js'

test('a partition into two sides converges after the heal, and every invariant holds', async () => {
  const result = await runScenario(await scenario('small-partition'))
  const s = result.summary
  assert.ok(s.invariants.ok, JSON.stringify(s.invariants.violations))
  assert.is(s.singletonViolations, 0)
  assert.ok(s.quiescentAfterMs !== null, 'the mesh went quiet')
  const heal = result.changes.find(c => c.kind === 'heal')
  assert.ok(heal?.converged !== null && heal?.converged !== undefined, 'all nodes agree after the heal')
  const split = result.changes.find(c => c.kind === 'partition')
  assert.ok(split?.converged !== null, 'each side placed everything on its own side')
  assert.is(s.coreErrors.length, 0, s.coreErrors.join('\n'))
})

test('a killed node\'s replicas come back on other nodes', async () => {
  const result = await runScenario(await scenario('deploy-kill-10'))
  const s = result.summary
  const kill = result.changes.find(c => c.kind === 'kill')!
  assert.ok(kill.converged !== null, 'the mesh agreed on a new assignment')
  assert.ok(kill.recovered !== null && kill.recovered < 30_000, `replicas back within 30 s, took ${kill.recovered}`)
  assert.ok((kill.optimal ?? 0) > 0, 'the killed node ran replicas')
  assert.is(s.availability.final, 1)
  assert.ok(s.invariants.ok, JSON.stringify(s.invariants.violations))
})

test('minga\'s process killed on singleton holders, hosts alive: their supervisors stop the old copies before the fence ends, never two copies', async () => {
  const result = await runScenario(await scenario('daemon-kill'))
  const s = result.summary
  const kill = result.changes.find(c => c.kind === 'kill')!
  assert.ok((kill.optimal ?? 0) > 0, 'the killed processes\' nodes held singletons')
  assert.ok(kill.recovered !== null, 'the singletons came back elsewhere')
  assert.is(s.singletonViolations, 0)
  assert.ok(s.invariants.ok, JSON.stringify(s.invariants.violations))
  assert.is(s.coreErrors.length, 0, s.coreErrors.join('\n'))
})

test('the same kill on nodes without a supervisor: the old copies run on, and the invariant sees two copies', async () => {
  const base = await scenario('daemon-kill')
  const timeline = base.timeline.map(a => a.kind === 'kill' ? { ...a, supervised: false } : a)
  const result = await runScenario({ ...base, timeline })
  assert.ok(result.summary.singletonViolations > 0, 'two copies of a singleton ran at once')
})

test.run()
