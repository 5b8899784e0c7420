/**
 * The observer's count of replica slots (measure/slot-tally.ts): copies,
 * healthy and current slots of one sample, copies beyond the first, and the
 * slots established for the run (desired from the start, or healthy once),
 * which a later sample and a grown service keep.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { SlotTally } from '../src/measure/slot-tally.js'

test('a sample counts each desired slot once, its extra copies, and the established slots among the healthy', () => {
  const tally = new SlotTally()
  tally.establish('a/web', 3)
  tally.begin()
  // web#0 twice (one healthy, of the current spec), web#1 starting, web#2 nowhere; db#0 new and healthy, of an old spec
  tally.add('a/web', 3, 0, true, true)
  tally.add('a/web', 3, 0, false, false)
  tally.add('a/web', 3, 1, false, false)
  tally.add('a/db', 1, 0, true, false)
  const desired = new Map([['a/web', { replicas: 3 }], ['a/db', { replicas: 1 }]])
  assert.equal(tally.count(desired), { desired: 4, healthy: 2, updated: 1, extra: 1, established: 4, establishedHealthy: 2 })
  // the next sample starts from none: db#0 gone, but established once it served
  tally.begin()
  tally.add('a/web', 3, 1, true, true)
  assert.equal(tally.count(desired), { desired: 4, healthy: 1, updated: 1, extra: 0, established: 4, establishedHealthy: 1 })
})

test('a slot added later is established only once healthy, and a service that grows keeps its established slots', () => {
  const tally = new SlotTally()
  tally.establish('a/web', 1)
  tally.begin()
  tally.add('a/web', 3, 2, false, false)
  const grown = new Map([['a/web', { replicas: 3 }]])
  assert.equal(tally.count(grown), { desired: 3, healthy: 0, updated: 0, extra: 0, established: 1, establishedHealthy: 0 })
  tally.begin()
  tally.add('a/web', 3, 2, true, true)
  tally.add('a/web', 3, 0, true, true)
  assert.equal(tally.count(grown), { desired: 3, healthy: 2, updated: 2, extra: 0, established: 2, establishedHealthy: 2 })
})

test.run()
