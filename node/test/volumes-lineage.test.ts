import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decideVolume, type LocalCopy, type SnapshotRef } from '../src/core/volumes/lineage.js'

const snap = (generation: number, id = `${generation}`.repeat(64).slice(0, 64)): SnapshotRef => ({ snapshot: id, generation })
const copy = (extra: Partial<LocalCopy> = {}): LocalCopy => ({ exists: true, empty: false, dirty: false, ...extra })

test('no snapshot yet: the copy is used as it is, whatever it holds', () => {
  assert.is(decideVolume(copy({ exists: false, empty: true }), undefined, 'lineage').action, 'use')
  assert.is(decideVolume(copy({ dirty: true }), undefined, 'lineage').action, 'use')
})

test('a missing or empty copy is restored from the latest snapshot, in both modes', () => {
  for (const mode of ['lineage', 'seed'] as const) {
    assert.equal(decideVolume(copy({ exists: false, empty: true }), snap(3), mode), { action: 'restore', to: snap(3), reason: 'no local copy; restoring snapshot 33333333 (generation 3)' })
    assert.is(decideVolume(copy({ empty: true }), snap(3), mode).action, 'restore')
  }
})

test('a copy at the latest snapshot is used, written since or not', () => {
  assert.is(decideVolume(copy({ base: snap(4) }), snap(4), 'lineage').action, 'use')
  assert.match(decideVolume(copy({ base: snap(4), dirty: true }), snap(4), 'lineage').reason, /written since/)
  // an empty copy that is part of the lineage (an empty volume was snapshotted) is up to date, not missing
  assert.is(decideVolume(copy({ base: snap(4), empty: true }), snap(4), 'lineage').action, 'use')
})

test('a clean copy behind the latest is restored over; a written one is kept aside first', () => {
  assert.equal(decideVolume(copy({ base: snap(2) }), snap(5), 'lineage'), { action: 'restore', to: snap(5), reason: 'behind: it matches generation 2, the latest is snapshot 55555555 (generation 5)' })
  const diverged = decideVolume(copy({ base: snap(2), dirty: true }), snap(5), 'lineage')
  assert.is(diverged.action, 'keep-aside')
  assert.match(diverged.reason, /written after generation 2.*keeping it aside/)
})

test('data of unknown origin is never overwritten: kept aside', () => {
  const decision = decideVolume(copy({ dirty: true }), snap(1), 'lineage')
  assert.is(decision.action, 'keep-aside')
  assert.match(decision.reason, /in no snapshot/)
})

test('a sibling of the same generation (written across a partition) is kept aside', () => {
  const decision = decideVolume(copy({ base: snap(6, 'a'.repeat(64)) }), snap(6, 'b'.repeat(64)), 'lineage')
  assert.is(decision.action, 'keep-aside')
  assert.match(decision.reason, /generation 6 is snapshot aaaaaaaa, and another node wrote snapshot bbbbbbbb/)
})

test('a copy ahead of the mesh (its own snapshot entry not seen yet) is used', () => {
  assert.is(decideVolume(copy({ base: snap(7), dirty: true }), snap(6), 'lineage').action, 'use')
})

test('seed mode leaves any existing copy alone', () => {
  assert.is(decideVolume(copy({ base: snap(1), dirty: true }), snap(9), 'seed').action, 'use')
  assert.is(decideVolume(copy({ dirty: true }), snap(9), 'seed').action, 'use')
})

test.run()
