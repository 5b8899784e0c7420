import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { buildFixture } from './fixtures.js'
import {
  keys, backupRecordProblem, backupWriteProblem, encodeHlc, generateIdentity, latestSnapshot, parseBackupKey, sealSecret, signEntry,
  type Entry, type SnapshotRecord
} from '../src/index.js'

const [a, b, c] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()])
const H = (d: string): string => d.repeat(64)

function snapshot (extra: Partial<SnapshotRecord> = {}): SnapshotRecord {
  return { snapshot: H('a'), generation: 3, parent: H('b'), manifest: H('c'), time: 1_800_000_000_000, bytes: 1000, files: 4, reason: 'interval', ...extra }
}

test('keys parse back, and only well-formed ones do', () => {
  assert.equal(parseBackupKey(keys.backup('acme', 'db')), { kind: 'backup', org: 'acme', service: 'db' })
  assert.equal(parseBackupKey(keys.prune('acme', 'db')), { kind: 'prune', org: 'acme', service: 'db' })
  assert.equal(parseBackupKey(keys.snapshot('acme', 'db', 'pgdata', a.peerId)), { kind: 'snapshot', org: 'acme', service: 'db', volume: 'pgdata', peer: a.peerId })
  for (const bad of ['backup/acme', 'backup/acme/db/x', 'snapshot/acme/db/pgdata', 'snapshot/acme/db/PG/' + a.peerId, 'snapshot/acme/db/pgdata/not-a-peer', 'prune/Acme/db', 'other/acme/db']) {
    assert.is(parseBackupKey(bad), undefined, bad)
  }
})

test('records have exactly their shape', () => {
  const snap = parseBackupKey(keys.snapshot('acme', 'db', 'pgdata', a.peerId))!
  assert.is(backupRecordProblem(snap, snapshot()), undefined)
  assert.is(backupRecordProblem(snap, { ...snapshot(), parent: undefined }), undefined)
  assert.match(backupRecordProblem(snap, snapshot({ generation: 0 }))!, /generation/)
  assert.match(backupRecordProblem(snap, snapshot({ snapshot: 'abc' }))!, /restic snapshot id/)
  assert.match(backupRecordProblem(snap, snapshot({ reason: 'whim' as any }))!, /reason must be one of/)
  assert.match(backupRecordProblem(snap, { ...snapshot(), extra: 1 })!, /not a known field/)
  assert.match(backupRecordProblem(snap, [1])!, /object/)
  const prune = parseBackupKey(keys.prune('acme', 'db'))!
  assert.is(backupRecordProblem(prune, { manifests: [H('d')], before: 5 }), undefined)
  assert.match(backupRecordProblem(prune, { manifests: Array(65).fill(H('d')), before: 5 })!, /at most 64/)
  const repo = parseBackupKey(keys.backup('acme', 'db'))!
  const sealed = sealSecret('backup/acme/db', new TextEncoder().encode('pw'), [a.peerId])
  assert.is(backupRecordProblem(repo, { sealed, version: encodeHlc({ wall: 1, counter: 0 }) }), undefined)
  assert.match(backupRecordProblem(repo, { sealed: { ...sealed, data: 'plain text!' }, version: encodeHlc({ wall: 1, counter: 0 }) })!, /base64/)
})

test('who writes: a node its own snapshot entries, the owner org the rest and deletions', () => {
  const snap = parseBackupKey(keys.snapshot('acme', 'db', 'pgdata', a.peerId))!
  assert.is(backupWriteProblem(snap, a.peerId, 'riverside', false), undefined, 'a node of another org running the service records its snapshot')
  assert.match(backupWriteProblem(snap, b.peerId, 'acme', false)!, /writes its snapshot entries/)
  assert.is(backupWriteProblem(snap, b.peerId, 'acme', true), undefined, 'the owner cleans up')
  assert.match(backupWriteProblem(snap, b.peerId, 'riverside', true)!, /nodes of acme delete them/)
  for (const kind of ['backup', 'prune'] as const) {
    const key = parseBackupKey(keys[kind]('acme', 'db'))!
    assert.is(backupWriteProblem(key, b.peerId, 'acme', false), undefined)
    assert.match(backupWriteProblem(key, b.peerId, 'riverside', false)!, new RegExp(`only members of acme write its ${kind} entries`))
  }
})

test('the latest snapshot: highest generation among trusted nodes, then the later stamp', () => {
  type SnapshotEntry = Entry & { value: SnapshotRecord }
  const entry = (author: typeof a, generation: number, wall: number, extra: Partial<Entry> = {}): SnapshotEntry => {
    const value = snapshot({ generation, snapshot: H(String(generation)) })
    const signed = signEntry('m', author, { author: author.peerId, seq: generation, hlc: encodeHlc({ wall, counter: 0 }), key: keys.snapshot('acme', 'db', 'pgdata', author.peerId), value })
    return { ...signed, ...extra, value }
  }
  const trusted = (peer: string): boolean => peer !== c.peerId
  const entries = [entry(a, 4, 100), entry(b, 5, 90), entry(c, 9, 200)]
  assert.is(latestSnapshot(entries, trusted)!.record.generation, 5, 'an untrusted node cannot claim the latest')
  const tie = [entry(a, 5, 100), entry(b, 5, 90)]
  assert.is(latestSnapshot(tie, trusted)!.entry.author, a.peerId, 'same generation (two sides of a partition): the later stamp')
  // a restore chosen on b while a's snapshot of the older copy ran: both extend generation 4, and the later stamp is a's
  const restore = { ...entry(b, 5, 90), value: snapshot({ generation: 5, snapshot: H('restored'), reason: 'restore' }) }
  for (const both of [[entry(a, 5, 100), restore], [restore, entry(a, 5, 100)]]) assert.is(latestSnapshot(both, trusted)!.record.snapshot, H('restored'), 'same generation: a restore before a snapshot')
  assert.is(latestSnapshot([restore, { ...entry(a, 5, 100), value: snapshot({ generation: 5, snapshot: H('again'), reason: 'restore' }) }], trusted)!.record.snapshot, H('again'), 'two restores: the later stamp')
  assert.is(latestSnapshot([entry(a, 5, 100, { tombstone: true })], trusted), undefined)
  assert.is(latestSnapshot([], trusted), undefined)
})

test('the state merges backup entries by these rules', async () => {
  const f = await buildFixture()
  const refuses = async (who: typeof a, key: string, value: any): Promise<void> => {
    try {
      await f.write(who, key, value)
      assert.unreachable(`${key} written`)
    } catch (err: any) {
      assert.is(err.name, 'UnauthorizedWriteError', err.message)
    }
  }
  const mine = keys.snapshot('acme', 'db', 'pgdata', f.beta.peerId)
  await f.write(f.beta, mine, snapshot() as any)
  assert.is(f.source.value<any>(mine).generation, 3)
  await refuses(f.acme2, mine, snapshot({ generation: 4 }))
  await refuses(f.beta, keys.prune('acme', 'db'), { manifests: [], before: 1 })
  await refuses(f.beta, keys.snapshot('acme', 'db', 'pgdata', f.acme2.peerId), snapshot())
  await f.write(f.acme2, keys.prune('acme', 'db'), { manifests: [H('e')], before: 1 })
  await f.write(f.acme2, mine, undefined)
  assert.is(f.source.value(mine), undefined, 'the owner org deletes another node\'s snapshot entry')
  await refuses(f.beta, keys.backup('acme', 'db'), { sealed: sealSecret('backup/acme/db', new Uint8Array([1]), [f.beta.peerId]), version: f.source.clock.tick() })
  await refuses(f.acme2, keys.snapshot('acme', 'db', 'pgdata', f.acme2.peerId), { ...snapshot(), generation: 0 })
})

test.run()
