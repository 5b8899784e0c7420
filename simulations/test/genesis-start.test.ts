/**
 * Nodes that start from the same genesis share it: one disk is seeded and
 * one State replays it; every node's disk is a fork of that disk and its
 * first State starts from forks of that state's maps (State.image). What a
 * node then writes lands in chunks of its own (copy on write): no other
 * node, and not the genesis, sees it.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MemoryPersistence, State } from '@minga/protocol'
import { Cluster } from '../src/cluster/cluster.js'
import type { SimNode } from '../src/cluster/sim-node.js'
import { scenario } from './helpers.js'

async function started (nodes: number): Promise<Cluster> {
  const cluster = await Cluster.create(await scenario('deploy-kill-10', { nodes, timeline: [], duration: 10_000 }))
  await cluster.startAll()
  return cluster
}

/** a State opened the ordinary way on a copy of the node's disk: every entry loaded and replayed */
async function replayed (cluster: Cluster, node: SimNode): Promise<State> {
  const disk = new MemoryPersistence()
  await disk.save(await node.persistence.load())
  return await State.open({ meshId: cluster.genesis.meshId, root: cluster.genesis.root, persistence: disk, now: () => cluster.sim.now() })
}

test('building the mesh installs the genesis once, not once per node', async () => {
  const cluster = await started(40)
  const entries = cluster.genesis.entries.length
  const writes = cluster.stores.kinds.get('winners')!.stats.writes
  // before: every node's disk was seeded (N × entries) and every node's State replayed it (N × entries again)
  assert.ok(writes < 3 * entries, `${writes} winner writes for ${entries} genesis entries and ${cluster.nodes.length} nodes`)
  for (const node of cluster.nodes) assert.is(node.current!.state.size, entries, 'every node holds the whole genesis')
})

test('nodes that start alike derive their member list once, not once each', async () => {
  const memberIds = State.prototype.memberIds
  let walks = 0
  State.prototype.memberIds = function (this: State) { walks++; return memberIds.call(this) }
  try {
    const cluster = await started(40)
    assert.ok(walks <= 1, `${walks} walks of the members for ${cluster.nodes.length} nodes`)
    const lists = new Set(cluster.nodes.map(n => n.current!.core.membership.membership.memberList()))
    assert.is(lists.size, 1, 'one list, shared')
    assert.is([...lists][0].length, cluster.nodes.length)
  } finally {
    State.prototype.memberIds = memberIds
  }
})

test('a node started from the genesis image holds what a replay of its disk gives, and its writes stay its own', async () => {
  const cluster = await started(10)
  const [a, b] = cluster.nodes
  for (const node of [a, b]) {
    const state = node.current!.state
    const replay = await replayed(cluster, node)
    assert.is(state.digest(), replay.digest(), 'the same digest as a replay')
    assert.is(state.size, replay.size)
    assert.is(state.clock.peek(), replay.clock.peek(), 'the clock has seen the newest genesis entry')
    for (const entry of replay.all()) assert.is(state.get(entry.key)?.sig, entry.sig)
  }
  const genesisDigest = a.current!.state.digest()
  const ownSpec = cluster.genesis.entries.find(e => e.author === a.id && e.key === `node/${a.id}`)
  assert.ok(ownSpec, 'node 0 wrote its own record in the genesis')
  const tombstone = await a.current!.state.writeJson(a.identity, ownSpec.key, undefined)

  assert.is(a.current!.state.get(ownSpec.key)?.sig, tombstone.sig, 'the writer holds its write')
  assert.ok((await a.persistence.load()).entries.some(e => e.sig === tombstone.sig), 'and its disk does')
  assert.is.not(a.current!.state.digest(), genesisDigest)
  for (const other of cluster.nodes.slice(1)) {
    assert.is(other.current!.state.get(ownSpec.key)?.sig, ownSpec.sig, 'another node still holds the genesis entry')
    assert.is(other.current!.state.digest(), genesisDigest)
    assert.not.ok((await other.persistence.load()).entries.some(e => e.sig === tombstone.sig), 'nor is it on another node\'s disk')
  }
  assert.is((await replayed(cluster, a)).digest(), a.current!.state.digest(), 'the writer\'s state is still what its disk replays to')

  // a later process of a node (a restart) replays its own disk: the writer's starts past its write, another's without it
  a.kill()
  await a.start()
  const after = a.current!.state.get(ownSpec.key)!
  assert.ok(after.sig !== ownSpec.sig && after.hlc >= tombstone.hlc, 'a restart keeps what the node wrote')
  b.kill()
  await b.start()
  assert.is(b.current!.state.digest(), (await replayed(cluster, b)).digest(), 'a restart holds what its own disk replays to')
  assert.is(b.current!.state.get(ownSpec.key)?.sig, ownSpec.sig, 'which is not what another node wrote')
})

test.run()
