/**
 * A burst of live-set changes places once per node, not once per change:
 * several nodes die at once and come back, and every node hears the deaths
 * (and a returning node the whole live set) one at a time, in its own
 * order. Each distinct live set a node placed is one `place()` of the whole
 * mesh (the simulator shares one cache, so it counts the distinct ones);
 * a node that placed every intermediate set made a run's cost per virtual
 * second grow with the returns that overlap the deaths (simulations/README.md,
 * "Cost per virtual second").
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Assignment } from '@minga/scheduler'
import { runScenario } from '../src/index.js'
import { warmMesh } from './helpers.js'

const KILL_AT = 20_000
const RESTART_AFTER = 10_000
const KILLED = 8

test('deaths and returns heard one at a time, in each node\'s own order, are placed at a node\'s next pass, not at each change', async () => {
  let placed = 0
  let counting = false
  const result = await runScenario(await warmMesh(120, {
    duration: KILL_AT + RESTART_AFTER + 20_000,
    timeline: [{ at: KILL_AT, kind: 'kill', nodes: KILLED, restartAfter: RESTART_AFTER, silent: false }]
  }), {
    onCluster: (c) => {
      const cache = c.placementCache
      const get = cache.get.bind(cache)
      cache.get = (fingerprint: string): Assignment | undefined => {
        const hit = get(fingerprint)
        if (hit === undefined && counting) placed++
        return hit
      }
      c.sim.after(KILL_AT - 100, () => { counting = true })
    }
  })
  assert.ok(result.summary.invariants.ok, result.summary.invariants.violations[0]?.detail)
  // measured: 327 when each node placed every live set it passed through, at each change; 128 when it places at
  // its debounced pass
  assert.ok(placed <= 200, `live sets placed across the mesh for ${KILLED} deaths and returns: ${placed}`)
})

test.run()
