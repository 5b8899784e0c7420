/**
 * A warm mesh (`mesh.warm`): every node starts with every member's alive
 * update, the very one that member's process signs, so its tables agree
 * from the first instant and nobody has an alive update to pass on but its
 * own; a cold mesh learns them all first (n² updates, each sent on many
 * times).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Cluster } from '../src/cluster/cluster.js'
import { SharedStore } from '../src/engine/shared-store.js'
import { scenario } from './helpers.js'

async function started (warm: boolean): Promise<Cluster> {
  const cluster = await Cluster.create(await scenario('deploy-kill-10', { warm, timeline: [], duration: 10_000 }))
  await cluster.startAll()
  return cluster
}

const memberships = (cluster: Cluster) => cluster.nodes.map(n => n.current!.core.membership.membership)

test('a warm mesh starts agreed: every table holds every member\'s own alive update, and no node learns one it did not hold', async () => {
  const warm = await started(true)
  const ms = memberships(warm)
  const digest = ms[0].table.digest()
  for (const m of ms) {
    assert.is(m.table.digest(), digest, 'every table agrees at the start')
    assert.not.ok(m.booting(), 'no member is only assumed alive')
    for (const peer of ms) assert.is(m.members.get(peer.self)?.alive?.sig, peer.own().sig, 'the row holds the alive update the member signed itself')
  }
  await warm.sim.run(warm.sim.epoch + 10_000)
  assert.ok(ms.every(m => m.table.digest() === digest), 'nothing changed')
  // a signature is checked the first time a node learns an alive update it did not hold (and once per run: the cache)
  assert.is(warm.wire.verifies, 0, 'no alive update was new to anyone')

  const cold = await started(false)
  assert.ok(memberships(cold).every(m => m.booting()), 'a cold mesh starts with its members only assumed alive')
  await cold.sim.run(cold.sim.epoch + 10_000)
  assert.ok(cold.wire.verifies >= cold.nodes.length, `a cold mesh learns every member's alive update (${cold.wire.verifies} checked)`)
})

test('the nodes of a warm mesh read their member table once between them at the start, not once each', async () => {
  const cluster = await Cluster.create(await scenario('deploy-kill-10', { nodes: 40, warm: true, timeline: [], duration: 10_000 }))
  const { get, values } = SharedStore.prototype
  const reads = { rows: 0, walks: 0 }
  const ofMembers = (store: SharedStore<unknown>): boolean => (store as unknown as { kind: unknown }).kind === cluster.stores.kinds.get('members')
  SharedStore.prototype.get = function (this: SharedStore<unknown>, key: string) { if (ofMembers(this)) reads.rows++; return get.call(this, key) }
  SharedStore.prototype.values = function (this: SharedStore<unknown>) { if (ofMembers(this)) reads.walks++; return values.call(this) }
  try {
    await cluster.startAll()
  } finally {
    Object.assign(SharedStore.prototype, { get, values })
  }
  const n = cluster.nodes.length
  // before: every node walked its table for its digest and for its follow of the member list, and looked every member up
  // for the follow, the live set and "a member unheard" (40 nodes: 80 walks, 6,400 row reads)
  assert.ok(reads.walks <= 2, `${reads.walks} walks of member tables by ${n} nodes`)
  assert.ok(reads.rows < n * 10, `${reads.rows} member rows read by ${n} nodes`)
  const ms = memberships(cluster)
  assert.ok(ms.every(m => m.live().length === n && m.live() === ms[0].live() && !m.booting()), 'every node sees every member live, in one shared list')
})

test('mesh.warm must be a boolean', async () => {
  const { parseScenario } = await import('../src/index.js')
  assert.throws(() => parseScenario('name: x\nmesh: { nodes: 10, orgs: 2, warm: yes-please }\n'), /mesh\.warm: expected true or false/)
})

test.run()
