/**
 * What a simulated node does per virtual second stays about constant as the mesh grows: events (every timer, message
 * and pass), messages and bytes per node at 200 nodes within 1.5 × those at 50. A term that walks every member per
 * node (a member table in every answer, a pass over the live set per probe) makes them grow with the mesh: it is
 * what kept sim-10000 from finishing. The CPU per event still grows with the heap (simulations/README.md, "10,000
 * nodes"); that is the machine's, not counted here.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runScenario, type Scenario } from '../src/index.js'
import { scenario } from './helpers.js'

const SECONDS = 10

async function perNode (nodes: number): Promise<{ events: number, msgs: number, bytes: number }> {
  const base: Scenario = await scenario('steady-10000')
  const result = await runScenario({ ...base, warm: true, nodes, orgs: 10, services: { ...base.services, count: nodes, singletons: Math.max(1, Math.round(nodes / 100)) }, duration: SECONDS * 1000, settle: 0 })
  const s = result.summary
  return { events: s.speed.events / nodes / SECONDS, msgs: s.traffic.msgsPerNodePerSec.mean, bytes: s.traffic.bytesPerNodePerSec.mean }
}

test('events, messages and bytes per node and virtual second at 200 nodes stay within 1.5 × those at 50', async () => {
  const small = await perNode(50)
  const large = await perNode(200)
  for (const key of ['events', 'msgs', 'bytes'] as const) {
    assert.ok(small[key] > 0, `${key} counted`)
    assert.ok(large[key] <= 1.5 * small[key], `${key} per node and virtual s: ${small[key].toFixed(1)} at 50 nodes, ${large[key].toFixed(1)} at 200`)
  }
})

test.run()
