/**
 * Connections stay open after the exchange that opened them, as libp2p
 * keeps them (simulations/src/network/connections.ts): a request, a stream
 * or a dial leaves a connection that the next request uses without a dial
 * and that closes when either process dies, up to the connection manager's
 * limit. sim-vs-real measured all 9 real survivors of deploy-kill-10's kill
 * seeing the close within 49–79 ms, connected to every member by
 * membership's probes; the model connected only gossipsub's mesh peers, so
 * only 3 of 9 simulated survivors saw a close and the others learnt of the
 * death by probe or gossip at 177–207 ms.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { VirtualClock } from '@minga/node/core'
import { RunDigest } from '../src/engine/digest.js'
import { runScenario } from '../src/index.js'
import { DEFAULT_NETWORK, type NetworkParams } from '../src/network/model.js'
import { Network } from '../src/network/network.js'
import { sendRequest } from '../src/network/requests.js'
import { scenario } from './helpers.js'

/** `n` nodes of one org on a LAN, 0.5 ms apart, no loss, no overlay */
function lan (n: number, patch: Partial<NetworkParams> = {}): { sim: VirtualClock, net: Network } {
  const sim = new VirtualClock()
  const params: NetworkParams = { ...DEFAULT_NETWORK, regions: ['eu'], sameOrg: { median: 0.5, sigma: 0 }, loss: 0, ...patch }
  const peerIds = Array.from({ length: n }, (_, v) => `kept-${v}`)
  const net = new Network({ sim, params, seed: 5, peerIds, org: new Int32Array(n), region: new Int32Array(n), digest: new RunDigest() })
  for (let v = 0; v < n; v++) {
    const mesh = net.attach(v)
    mesh.handle('/echo', async (data) => data)
  }
  return { sim, net }
}

test('deploy-kill-10 after warm-up: every survivor holds a connection to the killed node and sees it close when the reset arrives', async () => {
  // the network's part alone: without the scenario's CPU model, which charges each survivor the close (cpu.test.ts)
  const { cpu: _cpu, ...base } = await scenario('deploy-kill-10')
  const killAt = base.timeline.find(a => a.kind === 'kill')!.at
  const held = new Map<number, number>()
  const closes: Array<{ node: number, peer: string, at: number }> = []
  const verdicts: Array<{ node: string, subject: string, at: number }> = []
  let victim = -1
  let peerIds: readonly string[] = []
  await runScenario({ ...base, duration: killAt + 5_000 }, {
    onCluster: (cluster) => {
      const net = cluster.net
      peerIds = net.peerIds
      cluster.sim.after(killAt - 1, () => {
        net.meshes.forEach((mesh, v) => {
          held.set(v, net.connections(v).length)
          mesh?.onPeer(e => { if (e.type === 'disconnect') closes.push({ node: v, peer: e.peer, at: cluster.sim.elapsed - killAt }) })
        })
      })
      cluster.sim.after(killAt + 1, () => { victim = net.meshes.findIndex(m => m === undefined) })
      cluster.onEvent((_, e) => { if (e.kind === 'node-dead') verdicts.push({ node: e.node, subject: e.subject, at: cluster.sim.elapsed - killAt }) })
    }
  })
  assert.ok(victim >= 0, 'a node was killed')
  const victimId = peerIds[victim]
  const survivors = [...held.keys()].filter(v => v !== victim)
  const saw = survivors.filter(v => closes.some(c => c.node === v && c.peer === victimId && c.at >= 0 && c.at <= 2))
  assert.equal(saw, survivors, `every survivor sees the close within the LAN's latency (${victimId}): ${JSON.stringify(closes)}`)
  assert.equal([...held.values()], Array(10).fill(9), 'before the kill every node held a connection to each of the 9 others')
  const dead = verdicts.filter(d => d.at >= 0)
  assert.is(new Set(dead.map(d => d.node)).size, 9, 'every survivor declares it dead')
  assert.ok(Math.max(...dead.map(d => d.at)) <= 10, `each by its own refused dial, within a few round trips: ${JSON.stringify(dead)}`)
})

test('a request leaves its connection open: the next one needs no dial, and the peer\'s death closes it', async () => {
  const { sim, net } = lan(3)
  const from = net.meshes[0]!
  let t = sim.elapsed
  const first = sendRequest(net, from, 'kept-1', '/echo', new Uint8Array(10), {})
  await sim.run(sim.now() + 100)
  await first
  const firstMs = sim.elapsed - t
  assert.ok(net.connected(0, 1) && net.connected(1, 0), 'the connection stays after the answer')
  assert.equal(net.connections(0), ['kept-1'])
  const closed: string[] = []
  from.onPeer(e => { if (e.type === 'disconnect') closed.push(e.peer) })
  let answeredAt = 0
  t = sim.elapsed
  void sendRequest(net, from, 'kept-1', '/echo', new Uint8Array(10), {}).then(() => { answeredAt = sim.elapsed })
  await sim.run(sim.now() + 100)
  assert.ok(answeredAt - t <= 2, `the second request took one round trip (${answeredAt - t} ms), the first a dial too (${firstMs} ms)`)
  net.kill(1)
  await sim.run(sim.now() + 100)
  assert.equal(closed, ['kept-1'], 'the kill closes a connection no gossipsub mesh uses')
  assert.equal(net.connections(0), [])
})

test('a dial costs both processes a connection\'s life (the CPU model\'s `dial`), a request on a kept connection does not; past the limit every request to a peer not kept dials again; so does membership\'s dial of a member', async () => {
  const { sim, net } = lan(3, { maxConnections: 1 })
  // the steps each process is charged for, in order (NodeClock.io charges them when the scenario has a CPU model)
  const steps: string[] = []
  for (const [v, mesh] of net.meshes.entries()) mesh!.io = (fn, step) => { if (step !== undefined) steps.push(`${v}:${step}`); fn() }
  const exchange = async (from: number, peer: string): Promise<string[]> => {
    steps.length = 0
    const answer = sendRequest(net, net.meshes[from]!, peer, '/echo', new Uint8Array(10), {})
    await sim.run(sim.now() + 100)
    await answer
    return [...steps]
  }
  assert.equal(await exchange(0, 'kept-1'), ['0:dial', '1:dial', '1:message', '0:message'], 'the requester pays before its request leaves, the peer before it reads it')
  assert.equal(await exchange(0, 'kept-1'), ['1:message', '0:message'], 'the kept connection: no dial')
  // node 0 keeps one connection (to 1): each exchange with 2 opens a connection the trim closes again
  assert.equal(await exchange(0, 'kept-2'), ['0:dial', '2:dial', '2:message', '0:message'])
  assert.equal(await exchange(0, 'kept-2'), ['0:dial', '2:dial', '2:message', '0:message'], 'past the limit: a dial each time')
  // membership's libp2p dial of a silent member (Mesh.probe) opens a connection too; one already open costs nothing
  const probe = async (peer: string): Promise<string[]> => {
    steps.length = 0
    const result = net.probe(net.meshes[0]!, peer)
    await sim.run(sim.now() + 100)
    assert.is(await result, 'up')
    return [...steps]
  }
  assert.equal(await probe('kept-2'), ['0:dial', '2:dial'])
  assert.equal(await probe('kept-1'), [])
})

test('a vanished host\'s and a partition\'s kept connections close after silentDisconnect; a restarted process starts with none', async () => {
  const { sim, net } = lan(4, { silentDisconnect: 3000 })
  for (const peer of ['kept-1', 'kept-2', 'kept-3']) void sendRequest(net, net.meshes[0]!, peer, '/echo', new Uint8Array(1), {})
  await sim.run(sim.now() + 50)
  assert.equal(net.connections(0), ['kept-1', 'kept-2', 'kept-3'])
  net.kill(1, { silent: true })
  net.partition(v => v === 3 ? 1 : 0)
  await sim.run(sim.now() + 2900)
  assert.equal(net.connections(0), ['kept-1', 'kept-2', 'kept-3'], 'nothing is seen before the keep-alive runs out')
  await sim.run(sim.now() + 200)
  assert.equal(net.connections(0), ['kept-2'], 'then the vanished host and the node across the partition are gone')
  net.kill(2)
  net.attach(2)
  assert.equal(net.connections(2), [], 'a new process holds none of the old one\'s connections')
  assert.not.ok(net.connected(0, 2))
})

test('a node keeps at most maxConnections for exchanges; gossipsub\'s mesh links are kept whatever the limit', async () => {
  const { sim, net } = lan(5, { maxConnections: 2 })
  for (const peer of ['kept-1', 'kept-2', 'kept-3']) {
    void sendRequest(net, net.meshes[0]!, peer, '/echo', new Uint8Array(1), {})
    await sim.run(sim.now() + 50)
  }
  assert.equal(net.connections(0), ['kept-1', 'kept-2'], 'the third, over the limit, is closed after its exchange')
  void sendRequest(net, net.meshes[4]!, 'kept-0', '/echo', new Uint8Array(1), {})
  await sim.run(sim.now() + 50)
  assert.not.ok(net.connected(4, 0), 'an inbound one to a node at its limit is not kept either')
  net.overlay('t')
  await sim.run(sim.now() + 2000)
  for (let v = 0; v < 5; v++) assert.ok(net.connections(v).length >= Math.min(net.overlay('t').degree(v), 1), 'mesh links are connections')
  assert.ok(net.overlay('t').adj.every((peers, v) => peers.every(u => net.connected(v, u))), 'every gossipsub mesh link is a connection')
})

test.run()
