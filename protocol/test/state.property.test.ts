import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { signEntry, type Entry } from '../src/index.js'
import { buildFixture, openState, serviceValue, MESH_ID, type Fixture } from './fixtures.js'

/** a pool of entries: the fixture's admissions, contested writes, deletes, and entries that must be refused */
async function buildPool (): Promise<{ f: Fixture, valid: Entry[], invalid: Entry[] }> {
  const f = await buildFixture()
  const writers = [f.root, f.acme2]
  for (let i = 0; i < 40; i++) {
    const name = `s${i % 6}`
    if (i % 9 === 8) await f.write(writers[i % 2], `service/acme/${name}`, undefined)
    else await f.write(writers[i % 2], `service/acme/${name}`, serviceValue('acme', name, '000000000000001.000000', { replicas: i % 5 }))
    if (i % 4 === 0) await f.write(f.beta, `service/beta/${name}`, serviceValue('beta', name, '000000000000001.000000', { replicas: i % 3 }))
  }
  const last = f.log.at(-1)!
  const invalid = [
    { ...f.log[10], value: serviceValue('acme', 'forged', last.hlc) },
    signEntry(MESH_ID, f.beta, { author: f.beta.peerId, seq: 500, hlc: last.hlc, key: 'service/acme/s0', value: serviceValue('acme', 's0', last.hlc) }),
    signEntry(MESH_ID, f.stranger, { author: f.stranger.peerId, seq: 1, hlc: last.hlc, key: 'service/acme/s1', value: serviceValue('acme', 's1', last.hlc) })
  ]
  return { f, valid: f.log.slice(), invalid }
}

const pool = await buildPool()

/** delivery: a shuffled sequence of pool indexes with duplicates, cut into batches */
const delivery = (size: number) => fc.record({
  order: fc.shuffledSubarray([...Array(size).keys()], { minLength: size, maxLength: size }),
  duplicates: fc.array(fc.nat(size - 1), { maxLength: 20 }),
  cuts: fc.array(fc.nat(size + 20), { maxLength: 8 })
})

function batches (items: Entry[], d: { order: number[], duplicates: number[], cuts: number[] }): Entry[][] {
  const sequence = [...d.order, ...d.duplicates].map(i => items[i])
  const cuts = [...new Set(d.cuts.filter(c => c > 0 && c < sequence.length))].sort((a, b) => a - b)
  const out: Entry[][] = []
  let start = 0
  for (const cut of [...cuts, sequence.length]) {
    out.push(sequence.slice(start, cut))
    start = cut
  }
  return out
}

test('convergence: any order, duplication and batching of delivery gives the same digest', async () => {
  const all = [...pool.valid, ...pool.invalid]
  await fc.assert(fc.asyncProperty(delivery(all.length), async (d) => {
    const copy = await openState(pool.f.root.peerId, () => pool.f.now.ms)
    for (const batch of batches(all, d)) await copy.merge(batch)
    assert.is(copy.digest(), pool.f.source.digest())
    assert.is(copy.stats().pending, 1, 'only the stranger\'s entry waits')
  }), { numRuns: 40 })
})

test('merge is commutative and associative: two copies fed different orders agree, and merging them into each other changes nothing', async () => {
  await fc.assert(fc.asyncProperty(delivery(pool.valid.length), delivery(pool.valid.length), async (d1, d2) => {
    const a = await openState(pool.f.root.peerId, () => pool.f.now.ms)
    const b = await openState(pool.f.root.peerId, () => pool.f.now.ms)
    for (const batch of batches(pool.valid, d1)) await a.merge(batch)
    for (const batch of batches(pool.valid, d2)) await b.merge(batch)
    assert.is(a.digest(), b.digest())
    const result = await a.merge([...b.all()])
    assert.is(result.applied.length, 0)
    assert.is(a.digest(), b.digest())
  }), { numRuns: 25 })
})

test('rejected entries never change state, whenever they arrive', async () => {
  await fc.assert(fc.asyncProperty(fc.nat(pool.valid.length), fc.subarray(pool.invalid, { minLength: 1 }), async (prefix, bad) => {
    const copy = await openState(pool.f.root.peerId, () => pool.f.now.ms)
    await copy.merge(pool.valid.slice(0, prefix))
    const before = copy.digest()
    const result = await copy.merge(bad)
    assert.is(result.applied.length, 0)
    assert.is(copy.digest(), before)
  }), { numRuns: 40 })
})

test('partial syncs in both directions between random peers converge', async () => {
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.nat(2), fc.nat(2), fc.nat(pool.valid.length)), { minLength: 3, maxLength: 12 }), async (steps) => {
    const nodes = await Promise.all([0, 1, 2].map(async () => await openState(pool.f.root.peerId, () => pool.f.now.ms)))
    // each node first hears a different third of the entries by gossip
    for (const [i, entry] of pool.valid.entries()) await nodes[i % 3].merge([entry])
    const sync = async (from: number, to: number, limit: number) => {
      let after: string | undefined
      const marks = nodes[to].highWaterMarks()
      for (;;) {
        const { entries, more, cursor } = nodes[from].entriesSince(marks, { limit: Math.max(1, limit), after })
        after = cursor
        await nodes[to].merge(entries, more ? {} : { remoteMarks: nodes[from].highWaterMarks() })
        if (!more) return
      }
    }
    for (const [from, to, limit] of steps) if (from !== to) await sync(from, to, limit)
    // then full rounds: an entry held back for a fact it needs moves on only once that fact reached its holder,
    // so a chain of such dependencies may take a few rounds
    for (let round = 0; round < 4; round++) for (const [from, to] of [[0, 1], [1, 2], [2, 0]]) await sync(from, to, 1000)
    for (const node of nodes) assert.is(node.digest(), pool.f.source.digest())
  }), { numRuns: 25 })
})

test('conflicting admissions of one node: the first one wins wherever and whenever they arrive', async () => {
  const { f } = pool
  const first = f.log.find(e => e.key === `member/${pool.f.beta.peerId}`)!
  const conflicting = signEntry(MESH_ID, f.root, { author: f.root.peerId, seq: 900, hlc: f.log.at(-1)!.hlc, key: `member/${f.beta.peerId}`, value: { org: 'acme', invite: 'a'.repeat(16) } })
  await fc.assert(fc.asyncProperty(fc.nat(pool.valid.length), fc.boolean(), async (at, conflictFirst) => {
    const copy = await openState(f.root.peerId, () => f.now.ms)
    const feed = pool.valid.filter(e => e !== first)
    await copy.merge(feed.slice(0, at))
    await copy.merge(conflictFirst ? [conflicting, first] : [first, conflicting])
    await copy.merge(feed.slice(at))
    assert.is(copy.memberOrg(f.beta.peerId), 'beta')
    assert.is(copy.get(`member/${f.beta.peerId}`)?.sig, first.sig)
  }), { numRuns: 30 })
})

test.run()
