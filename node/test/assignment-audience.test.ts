/**
 * Who hears what a node runs of a service (`audienceOf`): the nodes assigned
 * it now and before the last change, those reporting copies, and for a
 * singleton its standby too. A node that just came back has no previous
 * assignment of its own; the node that ran the singleton while it was away
 * is its standby now, and must be asked before it starts a second copy.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Assignment } from '@minga/scheduler'
import { audienceOf } from '../src/core/reconcile/assignment-index.js'

const now: Assignment = { services: { 'acme/db': ['back'] }, unplaced: [], standby: { 'acme/db': ['stood-in'] } }
const live = ['back', 'stood-in', 'other']

test('a singleton\'s audience on a node that just came back includes the node that ran it meanwhile (its standby)', () => {
  assert.equal(audienceOf('acme/db', [now, undefined], [], 'back', live, true), ['stood-in'])
})

test('a replicated service\'s audience is its assigned and reporting nodes only, and never a dead one', () => {
  assert.equal(audienceOf('acme/db', [now, undefined], [], 'back', live), [])
  assert.equal(audienceOf('acme/db', [now, undefined], ['other'], 'back', live).sort(), ['other'])
  assert.equal(audienceOf('acme/db', [now, undefined], ['gone'], 'back', live, true), ['stood-in'])
})

test.run()
