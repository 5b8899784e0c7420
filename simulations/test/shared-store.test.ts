/**
 * Structural sharing: a SharedStore behaves as a Map under any sequence of
 * changes; stores that hold the same values share their chunks; and a State
 * on shared stores behaves exactly as one on Maps (same digest, entries,
 * marks and members after the same merges in any order).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { MemoryPersistence, State, type Entry } from '@minga/protocol'
import { sharedStores } from '../src/engine/shared-store.js'
import { clusterStores } from '../src/cluster/sharing.js'
import { buildGenesis } from '../src/cluster/genesis.js'
import { simIdentities } from '../src/cluster/identities.js'
import { makeSpec } from '../src/cluster/specs.js'
import { Prng } from '../src/engine/prng.js'

const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 300 }), value: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 300 }) }),
  fc.record({ kind: fc.constant('seal' as const) }),
  fc.record({ kind: fc.constant('clear' as const) })
)

test('a shared store is a Map: same reads, sizes and contents after any changes', () => {
  fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
    const stores = sharedStores({})
    const shared = stores<string>('t')
    const map = new Map<string, string>()
    for (const o of ops) {
      if (o.kind === 'set') { shared.set(`k${o.key}`, `v${o.value}`); map.set(`k${o.key}`, `v${o.value}`) }
      if (o.kind === 'delete') assert.is(shared.delete(`k${o.key}`), map.delete(`k${o.key}`))
      if (o.kind === 'seal') stores.sealAll()
      if (o.kind === 'clear' && Math.random() < 0.1) { shared.clear(); map.clear() }
    }
    assert.is(shared.size, map.size)
    assert.equal(new Map(shared.entries()), map)
    for (let k = 0; k <= 300; k++) assert.is(shared.get(`k${k}`), map.get(`k${k}`))
  }), { numRuns: 200 })
})

test('stores that hold the same values share their chunks, whatever order the values came in', () => {
  const stores = sharedStores({})
  const a = stores<string>('t')
  const b = stores<string>('t')
  for (let i = 0; i < 1000; i++) a.set(`k${i}`, `v${i}`)
  for (let i = 999; i >= 0; i--) b.set(`k${i}`, `v${i}`)
  stores.sealAll()
  const kind = stores.kinds.get('t')!
  // 1000 keys are 16 chunks: a sealed them, b found every one of them sealed already
  assert.ok(kind.stats.sealed <= 16 + 8 * 2, `${kind.stats.sealed} chunks sealed`)
  assert.ok(kind.stats.reused >= 16, `${kind.stats.reused} reused`)
  assert.is((a as any).chunks.filter((c: unknown, i: number) => c === (b as any).chunks[i]).length, 16, 'every chunk is the same object')
  // one change: one chunk of b's own, the other 15 still shared
  b.set('k5', 'changed')
  stores.sealAll()
  assert.is((a as any).chunks.filter((c: unknown, i: number) => c === (b as any).chunks[i]).length, 15)
})

test('a State on shared stores behaves exactly as one on Maps', async () => {
  const identities = await simIdentities(3, 24)
  const orgNames = ['acme', 'beta', 'gamma']
  const orgOf = Int32Array.from(identities, (_, i) => i % 3)
  const random = new Prng(3, 'services')
  const services = Array.from({ length: 40 }, (_, i) => ({ spec: makeSpec({ count: 40, replicas: { min: 1, max: 3 }, cpu: 100, memory: 64 * 1024 * 1024, singletons: 0 } as any, orgNames[i % 3], `svc-${i}`, random, false), by: i % 3 }))
  const genesis = buildGenesis({ seed: 3, identities, orgOf, orgNames, record: () => ({ labels: {}, addrs: [], capacity: { cpu: 4000, memory: 8 << 30 } }), services, start: 1_700_000_000_000 })
  const open = async (stores?: ReturnType<typeof clusterStores>): Promise<State> => await State.open({ meshId: genesis.meshId, root: genesis.root, persistence: new MemoryPersistence(stores), now: () => 1_800_000_000_000, stores })
  await fc.assert(fc.asyncProperty(fc.shuffledSubarray([...genesis.entries.keys()], { minLength: genesis.entries.length, maxLength: genesis.entries.length }), fc.array(fc.nat(genesis.entries.length), { maxLength: 6 }), async (order, cuts) => {
    const stores = clusterStores()
    const plain = await open()
    const shared = await open(stores)
    const twin = await open(stores)
    const sequence: Entry[] = order.map(i => genesis.entries[i])
    const bounds = [...new Set(cuts)].sort((x, y) => x - y)
    let start = 0
    for (const end of [...bounds, sequence.length]) {
      const batch = sequence.slice(start, end)
      start = end
      const [p, s] = [await plain.merge(batch), await shared.merge(batch)]
      assert.is(s.applied.length, p.applied.length)
      assert.is(s.pending, p.pending)
    }
    await twin.merge(genesis.entries)
    for (const state of [shared, twin]) {
      assert.is(state.digest(), plain.digest())
      assert.equal(state.highWaterMarks(), plain.highWaterMarks())
      assert.equal(state.members(), plain.members())
      assert.equal(new Set(state.list('').map(e => e.sig)), new Set(plain.list('').map(e => e.sig)))
      assert.is(state.size, plain.size)
    }
    // the two shared states hold the same entries: after sealing, the same chunks
    stores.sealAll()
    const chunks = (s: State): unknown[] => (s as any).winners.chunks
    assert.ok(chunks(shared).every((c, i) => c === chunks(twin)[i]), 'two states that agree share every chunk')
  }), { numRuns: 15 })
})

test.run()
