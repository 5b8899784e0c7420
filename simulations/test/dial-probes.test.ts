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
import type { Cluster } from '../src/cluster/cluster.js'
import { runScenario } from '../src/index.js'
import { warmMesh } from './helpers.js'

test('a quiet mesh past its connection limit, across continents: direct probes wait for their dial, and none goes indirect', async () => {
  const base = await warmMesh(20, { duration: 30_000 }, 60)
  const network = { ...base.network, regions: ['eu', 'sa'], regionPairs: { 'eu-sa': { median: 95, sigma: 0 } }, loss: 0, maxConnections: 10 }
  let cluster: Cluster | undefined
  await runScenario({ ...base, network }, { onCluster: (c) => { cluster = c } })
  let probes = 0
  let indirect = 0
  let connections = 0
  cluster!.nodes.forEach((node, v) => {
    const figures = node.current!.core.membership.figures()
    probes += figures.probes
    indirect += figures.indirect
    connections += cluster!.net.connections(v).length
  })
  // most members are not connected: most probes dial, half of them across the ocean
  assert.ok(connections / cluster!.nodes.length < 20, `${connections / cluster!.nodes.length} connections per node of 59 members`)
  assert.ok(probes > 2000, `${probes} probes`)
  assert.ok(indirect <= probes / 100, `${indirect} members asked for indirect probes over ${probes} probes`)
})

test.run()
