/**
 * The per-replica back-off: 1 s doubling to a minute, forgiven after
 * STEADY_AFTER healthy, and kept while the placement flaps away and back
 * (a loaded machine's suspicions move a replica for a pass or two; a
 * failing replica must not start over at 1 s each time).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ReplicaBackoff, BACKOFF_FIRST, BACKOFF_MAX, STEADY_AFTER } from '../src/core/reconcile/replica-backoff.js'

const KEY = 'acme/ghost#0'
const wanted = (...keys: string[]): Set<string> => new Set(keys)

test('each failure doubles the wait, up to a minute', () => {
  const b = new ReplicaBackoff()
  let now = 0
  const waits: number[] = []
  for (let i = 0; i < 9; i++) {
    const retryAt = b.fail('acme/ghost', 0, 'no image', now)
    waits.push(retryAt - now)
    assert.ok(b.waiting(KEY, retryAt - 1))
    assert.not.ok(b.waiting(KEY, retryAt))
    now = retryAt
  }
  assert.equal(waits.slice(0, 3), [BACKOFF_FIRST, 2 * BACKOFF_FIRST, 4 * BACKOFF_FIRST])
  assert.is(waits[8], BACKOFF_MAX)
})

test('a replica placed away and back within STEADY_AFTER keeps its back-off, and is not this node\'s problem meanwhile', () => {
  const b = new ReplicaBackoff()
  b.fail('acme/ghost', 0, 'no image', 0)
  b.fail('acme/ghost', 0, 'no image', 1000)
  b.forgive([], wanted(KEY), 2000)
  assert.is(b.list().length, 1)
  // a pass where the placement gave the replica to another node
  b.forgive([], wanted(), 2500)
  assert.is(b.list().length, 0, 'not listed while placed elsewhere')
  // back again: the third failure waits 4 s, not a first failure's 1 s
  b.forgive([], wanted(KEY), 3000)
  assert.is(b.list().length, 1)
  assert.is(b.fail('acme/ghost', 0, 'no image', 3000) - 3000, 4 * BACKOFF_FIRST)
})

test('a record is dropped once its replica has been unwanted for STEADY_AFTER, or healthy for as long', () => {
  const b = new ReplicaBackoff()
  b.fail('acme/ghost', 0, 'no image', 0)
  b.fail('acme/web', 0, 'crashed', 0)
  b.forgive(['acme/web#0'], wanted('acme/web#0'), STEADY_AFTER + 1)
  assert.is(b.size, 0, 'the unwanted one and the healthy one are both gone')
  assert.is(b.fail('acme/ghost', 0, 'no image', STEADY_AFTER + 2) - (STEADY_AFTER + 2), BACKOFF_FIRST, 'a fresh start')
})

test.run()
