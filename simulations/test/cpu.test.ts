/**
 * The scenario's CPU model (`cpu:`; node/src/core/cpu-model.ts): a deploy's
 * entries and passes cost each node CPU, and ten nodes on one machine of two
 * cores queue for them, as the sim-vs-real bench's ten real processes do
 * (there the model, free of CPU, started the deploy's replicas 37 % early),
 * and an idle node's background CPU takes its share of them all the time.
 * A scenario's bad `cpu:` is refused with the field's name. (That a run
 * with a CPU model is a function of its seed: determinism.test.ts, on
 * deploy-kill-10.)
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { resolveScenario, runScenario, ScenarioError, type Scenario } from '../src/index.js'
import { scenario } from './helpers.js'

/** deploy-kill-10 without its kill and its CPU model, `cpu` instead */
async function deployOnly (cpu: Scenario['cpu']): Promise<Scenario> {
  const base = await scenario('deploy-kill-10')
  const { cpu: _measured, ...rest } = base
  return { ...rest, duration: 40_000, settle: 0, timeline: base.timeline.filter(a => a.kind === 'deploy'), ...(cpu === undefined ? {} : { cpu }) }
}

/** ms from the deploy to its last replica start */
async function lastStart (s: Scenario): Promise<number> {
  const deployAt = s.timeline[0].at
  let last = -1
  await runScenario(s, { onCluster: (cluster) => { cluster.onEvent((_, event) => { if (event.kind === 'replica-start') last = Math.max(last, cluster.sim.elapsed - deployAt) }) } })
  return last
}

test('a deploy\'s replicas start later when its steps cost CPU, later still when ten nodes share two cores', async () => {
  const costs = { gossip: 40, pass: 20 }
  const free = await lastStart(await deployOnly(undefined))
  const own = await lastStart(await deployOnly({ costs }))
  const shared = await lastStart(await deployOnly({ cores: 2, costs }))
  assert.ok(free > 0, 'the deploy started its replicas')
  // a node of its own: at least one entry and one pass before its start
  assert.ok(own >= free + 60, `each node on its own core: ${own} ms against ${free} ms free`)
  // 9 nodes × 4 entries × 40 ms on 2 cores is 720 ms of queue before the last entry is merged
  assert.ok(shared >= own + 300, `ten nodes on two cores: ${shared} ms against ${own} ms on their own cores`)
  // and when each idle node takes 100 ms of a core a second, half the machine is gone before the deploy's steps
  const idle = await lastStart(await deployOnly({ cores: 2, costs, idle: 100 }))
  assert.ok(idle >= shared * 1.5, `ten idle nodes taking half of two cores: ${idle} ms against ${shared} ms`)
})

test('a bad cpu: is refused with the field and what it takes', () => {
  const base = { name: 'x', mesh: { nodes: 3, orgs: 1 } }
  const problems = (cpu: unknown): string[] => {
    try { resolveScenario({ ...base, cpu }); return [] } catch (err) { return err instanceof ScenarioError ? err.problems : [String(err)] }
  }
  assert.equal(problems({ cores: 2, gossip: '7ms' }), [])
  assert.ok(problems({ cores: 0 }).some(p => p.startsWith('cpu.cores: expected a whole number from 1')), problems({ cores: 0 }).join())
  assert.ok(problems({ pass: 'soon' }).some(p => p.startsWith('cpu.pass:')))
  assert.ok(problems({ disk: '1ms' }).some(p => p.includes('cpu.disk: unknown field')))
  assert.ok(problems({ idle: '2s' }).some(p => p.startsWith('cpu.idle:')), 'more than a whole core a second')
  assert.equal(resolveScenario({ ...base, cpu: { idle: '25ms' } }).cpu?.idle, 25)
  assert.equal(resolveScenario({ ...base, cpu: { gossip: '0.5ms' } }).cpu, { costs: { message: 0, gossip: 0.5, close: 0, dial: 0, pass: 0, write: 0 } })
})

test.run()
