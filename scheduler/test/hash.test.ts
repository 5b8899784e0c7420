import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { FLOOR_SHIFT, NEG_LOG_FLOOR, fmix32, hashString, negLogUnit, replicaHash } from '../src/hash.js'

// Every node of a mesh must compute these bit for bit; a change here re-places every replica
test('hashes are fixed', () => {
  assert.is(fmix32(0), 0)
  assert.is(fmix32(1), 0x514e28b7)
  assert.is(hashString(''), fmix32(0x811c9dc5))
  assert.is(hashString('node-1'), 0xaac87624)
  assert.is(replicaHash('acme/web', 2), hashString('acme/web\u00002'))
})

test('negLogUnit is close to -ln((h + 0.5) / 2^32)', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (h) => {
    const exact = -Math.log((h + 0.5) / 2 ** 32)
    assert.ok(Math.abs(negLogUnit(h) - exact) < 1.2e-6, `${h}: ${negLogUnit(h)} vs ${exact}`)
    assert.ok(negLogUnit(h) > 0)
  }), { numRuns: 2000 })
})

test('negLogUnit decreases as h grows', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 2 }), fc.integer({ min: 1, max: 2 ** 20 }), (h, step) => {
    const next = Math.min(2 ** 32 - 1, h + step)
    assert.ok(negLogUnit(next) < negLogUnit(h))
  }), { numRuns: 2000 })
  for (let e = 1; e < 32; e++) assert.ok(negLogUnit(2 ** e) < negLogUnit(2 ** e - 1), `at 2^${e}`)
})

test('the floor table is a lower bound everywhere in its bucket', () => {
  const edges = Array.from({ length: NEG_LOG_FLOOR.length }, (_, k) => [k * 2 ** FLOOR_SHIFT, (k + 1) * 2 ** FLOOR_SHIFT - 1]).flat()
  for (const h of edges) assert.ok(NEG_LOG_FLOOR[h >>> FLOOR_SHIFT] <= negLogUnit(h), `bucket edge ${h}`)
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (h) => {
    assert.ok(NEG_LOG_FLOOR[h >>> FLOOR_SHIFT] <= negLogUnit(h))
  }), { numRuns: 5000 })
})

test.run()
