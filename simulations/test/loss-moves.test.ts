/**
 * After a kill, the survivors start only the replicas the dead node ran,
 * each on the standby named before the kill, and start or stop nothing else.
 * sim-vs-real's real survivors (10 nodes of 3 orgs) started, then stopped, a
 * replica the dead node never ran in 2 runs of 4: placed on the live nodes
 * alone, a moved replica that landed in a sibling's org pushed the sibling
 * out. With seed 1 the simulated kill happened to cause no such cascade;
 * seeds 3, 6 and 7 did (seed 3 two of them).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Assignment } from '@minga/scheduler'
import { runScenario } from '../src/index.js'
import { scenario } from './helpers.js'

interface Seen { kind: string, node: string, subject: string, at: number }

async function killRun (seed: number): Promise<{ lost: string[], after: Seen[], before: Assignment }> {
  const base = await scenario('deploy-kill-10')
  const killAt = base.timeline.find(a => a.kind === 'kill')!.at
  const events: Seen[] = []
  let before: Assignment | undefined
  await runScenario({ ...base, seed, duration: killAt + 30_000 }, {
    onCluster: (cluster) => {
      cluster.onEvent((_, e) => { events.push({ kind: e.kind, node: e.node, subject: e.subject, at: cluster.sim.elapsed }) })
      cluster.sim.after(killAt - 100, () => { before = cluster.live[0].current!.core.reconciler.currentAssignment() })
    }
  })
  const victim = events.find(e => e.kind === 'node-dead' && e.at >= killAt)!.subject
  const lost = Object.entries(before!.services).flatMap(([id, slots]) => slots.flatMap((n, r) => n === victim ? [`${id}#${r}`] : []))
  return { lost, after: events.filter(e => e.at >= killAt && (e.kind === 'replica-start' || e.kind === 'replica-stop')), before: before! }
}

for (const seed of [3, 6, 7]) {
  test(`deploy-kill-10, seed ${seed}: the survivors start the dead node's replicas on their standbys, and start or stop nothing else`, async () => {
    const { lost, after, before } = await killRun(seed)
    assert.ok(lost.length > 0, 'the killed node ran replicas')
    const others = after.filter(e => !lost.includes(e.subject))
    assert.equal(others.map(e => `${e.kind} ${e.subject}`), [], 'replicas the dead node never ran stay where they are')
    const starts = after.filter(e => e.kind === 'replica-start')
    assert.equal(starts.map(e => e.subject).sort(), [...lost].sort(), 'each lost replica started once')
    for (const e of starts) {
      const [id, r] = [e.subject.slice(0, e.subject.lastIndexOf('#')), Number(e.subject.slice(e.subject.lastIndexOf('#') + 1))]
      assert.is(e.node, before.standby![id][r], `${e.subject} started on its standby`)
    }
  })
}

test.run()
