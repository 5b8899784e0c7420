/**
 * A live-set change starts a reconcile pass only on the nodes whose share it
 * touches (node/src/core/reconcile/share.ts). Every live-set change (a
 * member dead, back) used to start a pass on every node: at 1,000 nodes with
 * churn most of them planned exactly what the last pass had. Here 60 nodes,
 * one killed and restarted: most nodes run no pass for it, the nodes
 * concerned with the dead node's services do (its replicas move to their
 * standbys as before), and a pass forced on a node that skipped plans
 * nothing: the skipped pass would have done nothing either.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Action } from '@minga/scheduler'
import type { Reconciler } from '@minga/node/core'
import type { Cluster } from '../src/cluster/cluster.js'
import { runScenario } from '../src/index.js'
import { warmMesh } from './helpers.js'

const KILL_AT = 20_000
const RESTART_AFTER = 10_000

test('a death and a return start passes only where they touch a node\'s share; a forced pass there plans nothing', async () => {
  let cluster: Cluster | undefined
  // passes per node before the kill, and once the return has spread
  const before = new Map<string, { runs: number, reconciler: Reconciler }>()
  let window = new Map<string, { runs: number, skips: number, reconciler: Reconciler }>()
  const forced: Array<{ node: string, actions: Action[] }> = []
  const read = (): Map<string, { runs: number, skips: number, reconciler: Reconciler }> => new Map(cluster!.live.map(n => {
    const reconciler = n.current!.core.reconciler
    return [n.id, { runs: reconciler.stats.runs, skips: reconciler.liveSkips, reconciler }]
  }))
  const result = await runScenario(await warmMesh(60, {
    // no periodic pass in the window: every pass there is one a change started
    timing: { reconcileInterval: 600_000 },
    duration: KILL_AT + RESTART_AFTER + 15_000,
    timeline: [{ at: KILL_AT, kind: 'kill', nodes: 1, restartAfter: RESTART_AFTER, silent: false }]
  }), {
    onCluster: (c) => {
      cluster = c
      c.sim.after(KILL_AT - 100, () => { for (const [id, n] of read()) before.set(id, n) })
      c.sim.after(KILL_AT + RESTART_AFTER + 10_000, () => {
        window = read()
        for (const node of c.live) {
          const now = window.get(node.id)!
          const then = before.get(node.id)
          if (now.reconciler !== then?.reconciler || now.runs !== then.runs) continue
          void node.current!.core.reconciler.run().then(actions => { forced.push({ node: node.id, actions }) })
        }
      })
    }
  })
  assert.ok(result.summary.invariants.ok, result.summary.invariants.violations[0]?.detail)
  // the killed node's restarted process has a reconciler of its own (its count starts again)
  const survivors = [...before.keys()].filter(id => window.get(id)?.reconciler === before.get(id)!.reconciler)
  const ran = survivors.filter(id => window.get(id)!.runs > before.get(id)!.runs)
  const quiet = survivors.filter(id => window.get(id)!.runs === before.get(id)!.runs)
  assert.ok(quiet.length > survivors.length / 2, `most nodes ran no pass for the death and the return (${quiet.length} of ${survivors.length}; ${ran.length} did)`)
  assert.ok(ran.length > 0, 'the nodes concerned with the dead node\'s services ran passes')
  assert.ok(quiet.every(id => window.get(id)!.skips > 0), 'each quiet node was told of the changes, and skipped them')
  assert.is(forced.length, quiet.length)
  assert.equal(forced.filter(f => f.actions.length > 0), [], 'a pass forced where the changes were skipped plans nothing')
})

test.run()
