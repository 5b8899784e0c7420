/**
 * Above `maxConnections` members most probes open their connection first,
 * and a dial adds TCP's, Noise's and multistream-select's handshakes (two
 * round trips, as requests.ts models it) to the ping's one: across
 * continents (95 ms one way) over 500 ms, the probe timeout. The prober
 * gives a probe of an unconnected member three timeouts (probe-timeouts.ts,
 * DIAL_FACTOR); before, one direct probe in six of a quiet 1,000-node mesh
 * timed out on the dial alone and cost three indirect probes.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { acrossContinents } from './helpers.js'

test('a quiet mesh past its connection limit, across continents: direct probes wait for their dial, and none goes indirect', async () => {
  const { probes, indirect, connectionsPerNode } = await acrossContinents(30_000, 0)
  // most members are not connected: most probes dial, half of them across the ocean
  assert.ok(connectionsPerNode < 20, `${connectionsPerNode} connections per node of 59 members`)
  assert.ok(probes > 2000, `${probes} probes`)
  assert.ok(indirect <= probes / 100, `${indirect} members asked for indirect probes over ${probes} probes`)
})

test.run()
