/**
 * A peer's changed replicas start a reconcile pass only where this node's
 * plan reads them (node/src/core/reconcile/share.ts, `readsReports`): a
 * singleton, or a copy here that is outdated or assigned elsewhere. While a
 * mesh boots, every node hears each sibling of its services start and turn
 * healthy; each such report used to start a pass on every node that ran or
 * was assigned the service, though a node whose copies are current and its
 * own plans nothing new from them (sim-1000: ~30 passes per node in its
 * first 5 virtual s, ~25 of them for such reports). Here 60 nodes boot with
 * 180 services: each node runs a few passes (its own starts, its runtime's
 * events), every replica starts as before, and a pass forced at the end on
 * each node plans nothing: no pass that was left out had anything to do.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Action } from '@minga/scheduler'
import { runScenario } from '../src/index.js'
import { warmMesh } from './helpers.js'

const END = 15_000

test('siblings\' reports start no pass on nodes whose copies are current and their own; the boot converges as before', async () => {
  const runs: number[] = []
  const forced: Action[][] = []
  // no periodic pass: every pass is one a change started
  const result = await runScenario(await warmMesh(180, { timing: { reconcileInterval: 600_000 }, duration: END + 1_000 }), {
    onCluster: (c) => {
      c.sim.after(END, () => {
        for (const node of c.live) {
          const reconciler = node.current!.core.reconciler
          runs.push(reconciler.stats.runs)
          void reconciler.run().then(actions => { forced.push(actions) })
        }
      })
    }
  })
  assert.ok(result.summary.invariants.ok, result.summary.invariants.violations[0]?.detail)
  assert.is(result.summary.availability.mean > 0.5, true)
  const mean = runs.reduce((a, b) => a + b, 0) / runs.length
  // each node starts ~9 replicas, 4 at a time: a pass for each wave of starts and of health changes, not one per sibling
  assert.ok(mean < 8, `passes per node while booting: ${mean.toFixed(1)}`)
  assert.is(forced.length, 60)
  assert.equal(forced.filter(a => a.length > 0), [], 'a pass forced at the end plans nothing')
})

test.run()
