/**
 * The conformance suite every StatePersistence passes: what was saved comes
 * back after a reopen, a later save of a key replaces the earlier, and a
 * State built on it keeps every acknowledged entry across restarts.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { StatePersistence } from '../src/index.js'
import { buildFixture, openState, serviceValue } from './fixtures.js'

export interface PersistenceSetup {
  /** a persistence over the same backing store each call (a reopen), until cleanup */
  open: () => StatePersistence
  cleanup: () => Promise<void>
}

export function runPersistenceTests (name: string, setup: () => Promise<PersistenceSetup>): void {
  test(`${name}: an empty store loads nothing`, async () => {
    const s = await setup()
    const p = s.open()
    assert.equal(await p.load(), { entries: [], marks: {} })
    await p.close()
    await s.cleanup()
  })

  test(`${name}: saved entries and marks come back after a reopen; a key keeps its last save`, async () => {
    const s = await setup()
    const f = await buildFixture()
    const p = s.open()
    await p.load()
    await p.save({ entries: f.log.slice(0, 3), marks: { [f.root.peerId]: { mark: 3, above: [5] } } })
    const replacement = { ...f.log[2], seq: 9 }
    await p.save({ entries: [replacement], marks: { [f.root.peerId]: { mark: 5, above: [] } } })
    await p.close()
    const again = s.open()
    const loaded = await again.load()
    const byKey = new Map(loaded.entries.map(e => [e.key, e]))
    assert.is(loaded.entries.length, 3)
    assert.equal(byKey.get(f.log[0].key), f.log[0])
    assert.is(byKey.get(replacement.key)?.seq, 9)
    assert.equal(loaded.marks, { [f.root.peerId]: { mark: 5, above: [] } })
    await again.close()
    await s.cleanup()
  })

  test(`${name}: a state reopened holds every acknowledged entry, its digest and its marks`, async () => {
    const s = await setup()
    const f = await buildFixture()
    const state = await openState(f.root.peerId, () => f.now.ms, s.open())
    await state.merge(f.log)
    const mine = await state.writeJson(f.root, 'service/acme/web', serviceValue('acme', 'web', '000000000000001.000000'))
    const expected = { digest: state.digest(), marks: state.highWaterMarks() }
    await state.close()
    const reopened = await openState(f.root.peerId, () => f.now.ms, s.open())
    assert.is(reopened.digest(), expected.digest)
    assert.equal(reopened.highWaterMarks(), expected.marks)
    const next = await reopened.writeJson(f.root, 'service/acme/web', undefined)
    assert.is(next.seq, mine.seq + 1, 'seq continues after a restart')
    assert.ok(next.hlc > mine.hlc, 'the clock never goes back after a restart')
    await reopened.close()
    await s.cleanup()
  })
}
