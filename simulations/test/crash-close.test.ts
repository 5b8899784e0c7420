/**
 * A killed process's connections close as its kernel resets them: each peer
 * sees the close when the reset has crossed its link (the link's latency,
 * plus `crashDisconnect`), the near peer at once, the far one a long link
 * later. sim-vs-real measured 29–49 ms from a kill -9 to the first verdict on
 * loopback; a fixed 200 ms before any peer saw a close put the simulator's
 * detection at 177 ms. A dial that a host never answers is `silent`, as the
 * real port probe reports it (node/src/host/port-probe.ts), not `unknown`.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { VirtualClock } from '@minga/node/core'
import { RunDigest } from '../src/engine/digest.js'
import { DEFAULT_NETWORK, type NetworkParams } from '../src/network/model.js'
import { Network } from '../src/network/network.js'

/** node 0 and 1: one org in eu; node 2: another org in sa, 95 ms away; every latency exact */
function network (patch: Partial<NetworkParams> = {}): { sim: VirtualClock, net: Network, closedAt: Map<number, number> } {
  const sim = new VirtualClock()
  const exact = { sigma: 0 }
  const params: NetworkParams = {
    ...DEFAULT_NETWORK,
    regions: ['eu', 'sa'],
    sameOrg: { median: 0.5, ...exact },
    sameRegion: { median: 8, ...exact },
    crossRegion: { median: 95, ...exact },
    regionPairs: {},
    loss: 0,
    ...patch
  }
  const peerIds = ['crash-a', 'crash-b', 'crash-c']
  const net = new Network({ sim, params, seed: 3, peerIds, org: Int32Array.from([0, 0, 1]), region: Int32Array.from([0, 0, 1]), digest: new RunDigest() })
  const meshes = peerIds.map((_, v) => net.attach(v))
  net.overlay('t')
  const closedAt = new Map<number, number>()
  const t0 = (): number => sim.elapsed
  meshes.forEach((mesh, v) => mesh.onPeer(event => { if (event.type === 'disconnect' && event.peer === 'crash-a') closedAt.set(v, t0()) }))
  return { sim, net, closedAt }
}

test('a killed process\'s peers see its connections close when the kernel\'s reset reaches them: the near one at once, the far one a link later', async () => {
  const { sim, net, closedAt } = network()
  await sim.run(sim.now() + 2000)
  assert.equal(net.connections(0).sort(), ['crash-b', 'crash-c'], 'a three-node overlay links everyone')
  const killedAt = sim.elapsed
  net.kill(0)
  await sim.run(sim.now() + 1000)
  const near = closedAt.get(1)! - killedAt
  const far = closedAt.get(2)! - killedAt
  assert.ok(near <= 1, `the peer 0.5 ms away saw the close after ${near} ms`)
  assert.ok(far >= 95 && far <= 96, `the peer 95 ms away saw the close after ${far} ms`)
})

test('crashDisconnect adds to the link\'s latency; a silent host is noticed after silentDisconnect whatever the link', async () => {
  const slow = network({ crashDisconnect: 50 })
  await slow.sim.run(slow.sim.now() + 2000)
  let killedAt = slow.sim.elapsed
  slow.net.kill(0)
  await slow.sim.run(slow.sim.now() + 1000)
  assert.ok(slow.closedAt.get(1)! - killedAt <= 51 && slow.closedAt.get(1)! - killedAt >= 50)
  assert.ok(slow.closedAt.get(2)! - killedAt >= 145 && slow.closedAt.get(2)! - killedAt <= 146)
  const silent = network({ silentDisconnect: 3000 })
  await silent.sim.run(silent.sim.now() + 2000)
  killedAt = silent.sim.elapsed
  silent.net.kill(0, { silent: true })
  await silent.sim.run(silent.sim.now() + 5000)
  assert.equal([silent.closedAt.get(1)! - killedAt, silent.closedAt.get(2)! - killedAt], [3000, 3000])
})

test('a dial to a silent host answers nothing within the probe\'s second: silent, as the host\'s port probe says; a killed process\'s host refuses', async () => {
  const { sim, net } = network()
  await sim.run(sim.now() + 2000)
  const probes: Array<Promise<string>> = []
  net.kill(1)
  net.kill(2, { silent: true })
  const prober = net.meshes[0]!
  probes.push(net.probe(prober, 'crash-b'), net.probe(prober, 'crash-c'))
  await sim.run(sim.now() + 2000)
  assert.equal(await Promise.all(probes), ['refused', 'silent'])
})

test.run()
