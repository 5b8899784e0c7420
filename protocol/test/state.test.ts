import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { keys, MemoryPersistence, signEntry, State, type Entry, type KeyedStore } from '../src/index.js'
import { buildFixture, openState, serviceValue, MESH_ID } from './fixtures.js'

test('a service write wins over an older one and a tombstone over both', async () => {
  const f = await buildFixture()
  const first = await f.write(f.root, 'service/acme/web', serviceValue('acme', 'web', '000000000000001.000000'))
  await f.write(f.acme2, 'service/acme/web', serviceValue('acme', 'web', first.hlc, { replicas: 3 }))
  assert.is((f.source.value(keys.service('acme', 'web'))!).spec.replicas, 3)
  await f.write(f.root, 'service/acme/web', undefined)
  assert.is(f.source.value('service/acme/web'), undefined)
  assert.is(f.source.get('service/acme/web')?.tombstone, true)
  assert.is(f.source.list('service/').length, 0)
})

test('listings follow every change, are the callers\' own arrays, and agree between states that agree', async () => {
  const f = await buildFixture()
  await f.write(f.root, 'service/acme/web', serviceValue('acme', 'web', '000000000000001.000000'))
  const listed = f.source.list('service/acme/')
  assert.equal(listed.map(e => e.key), ['service/acme/web'])
  listed.length = 0
  assert.is(f.source.list('service/acme/').length, 1, 'a caller that changed its array changed no one else\'s')
  await f.write(f.beta, 'service/beta/db', serviceValue('beta', 'db', '000000000000002.000000'))
  assert.equal(f.source.list('service/').map(e => e.key).sort(), ['service/acme/web', 'service/beta/db'])
  assert.equal(f.source.list('service/beta/').map(e => e.key), ['service/beta/db'], 'a longer prefix within its kind')
  assert.equal(f.source.list('service/acme/').map(e => e.key), ['service/acme/web'])
  await f.write(f.root, 'service/acme/web', undefined)
  assert.is(f.source.list('service/acme/').length, 0, 'a deletion shows at once')
  const copy = await openState(f.root.peerId, () => f.now.ms)
  assert.is(copy.list('service/').length, 0, 'an empty state lists nothing')
  for (const entry of f.log) await copy.merge([entry])
  assert.is(copy.digest(), f.source.digest())
  assert.equal(copy.list('service/').map(e => e.key), f.source.list('service/').map(e => e.key))
})

test('a state opened from another\'s image holds what a replay gives, without loading its persistence, and changes apart from it', async () => {
  const f = await buildFixture()
  await f.write(f.root, 'service/acme/web', serviceValue('acme', 'web', '000000000000001.000000'))
  await f.write(f.acme2, 'cordon/' + f.root.peerId, { reason: 'patching' })
  const disk = new MemoryPersistence()
  await disk.save({ entries: [...f.source.all()], marks: Object.fromEntries(Object.entries(f.source.highWaterMarks()).map(([author, mark]) => [author, { mark, above: [] }])) })
  let loads = 0
  const counted = { load: async () => { loads++; return await disk.load() }, save: async (b: any) => { await disk.save(b) }, close: async () => { await disk.close() } }
  const replay = await State.open({ meshId: MESH_ID, root: f.root.peerId, persistence: counted, now: () => f.now.ms })
  assert.is(loads, 1)
  const copy = <V>(store: KeyedStore<V>): KeyedStore<V> => new Map(store.entries())
  const opened = await State.open({ meshId: MESH_ID, root: f.root.peerId, persistence: counted, now: () => f.now.ms, image: replay.image(copy) })
  assert.is(loads, 1, 'the image spares the load and the replay')
  assert.is(opened.digest(), replay.digest())
  assert.is(opened.size, replay.size)
  assert.is(opened.clock.peek(), replay.clock.peek())
  assert.is(opened.value('cordon/' + f.root.peerId) !== undefined, true)
  await opened.writeJson(f.root, 'service/acme/web', undefined)
  assert.is(opened.value('service/acme/web'), undefined, 'the new state writes')
  assert.ok(replay.value('service/acme/web'), 'the state imaged does not see it')
  assert.is.not(opened.digest(), replay.digest())
  const again = await State.open({ meshId: MESH_ID, root: f.root.peerId, persistence: disk, now: () => f.now.ms })
  assert.is(again.digest(), opened.digest(), 'and what it wrote is on the disk')
})

test('only members of an org write its services', async () => {
  const f = await buildFixture()
  try {
    await f.write(f.beta, 'service/acme/web', serviceValue('acme', 'web', '000000000000001.000000'))
    assert.unreachable('beta wrote acme service')
  } catch (err: any) {
    assert.is(err.name, 'UnauthorizedWriteError')
    assert.match(err.message, /only members of acme/)
  }
  await f.write(f.beta, 'service/beta/db', serviceValue('beta', 'db', '000000000000001.000000'))
  assert.ok(f.source.value('service/beta/db'))
})

test('a replica that copies every entry in any batch order converges to the same digest', async () => {
  const f = await buildFixture()
  await f.write(f.root, 'service/acme/web', serviceValue('acme', 'web', '000000000000001.000000'))
  await f.write(f.beta, 'service/beta/db', serviceValue('beta', 'db', '000000000000002.000000'))
  await f.write(f.acme2, 'cordon/' + f.root.peerId, { reason: 'patching' })
  const copy = await openState(f.root.peerId, () => f.now.ms)
  for (const entry of f.log.slice().reverse()) await copy.merge([entry])
  assert.is(copy.digest(), f.source.digest())
  assert.is(copy.stats().pending, 0)
})

test('entries from a non-member wait, then apply once the admission arrives', async () => {
  const f = await buildFixture()
  const betaService = await f.write(f.beta, 'service/beta/db', serviceValue('beta', 'db', '000000000000002.000000'))
  const copy = await openState(f.root.peerId, () => f.now.ms)
  const first = await copy.merge([betaService])
  assert.is(first.applied.length, 0)
  assert.is(first.pending, 1)
  const rest = f.log.filter(e => e !== betaService)
  const second = await copy.merge(rest)
  assert.ok(second.applied.some(e => e.key === 'service/beta/db'))
  assert.is(copy.stats().pending, 0)
  assert.is(copy.digest(), f.source.digest())
})

test('forged, foreign, future and malformed entries are rejected, counted, and change nothing', async () => {
  const f = await buildFixture()
  const copy = await openState(f.root.peerId, () => f.now.ms)
  await copy.merge(f.log)
  const before = copy.digest()
  const good = await f.write(f.root, 'service/acme/web', serviceValue('acme', 'web', '000000000000001.000000'))
  const forged: Entry = { ...good, value: serviceValue('acme', 'web', good.hlc, { replicas: 9 }) }
  const wrongOrg = signEntry(MESH_ID, f.beta, { author: f.beta.peerId, seq: 2, hlc: good.hlc, key: 'service/acme/evil', value: serviceValue('acme', 'evil', good.hlc) })
  const future = signEntry(MESH_ID, f.root, { author: f.root.peerId, seq: 99, hlc: `${String(f.now.ms + 3_600_000).padStart(15, '0')}.000000`, key: 'service/acme/x', value: serviceValue('acme', 'x', good.hlc) })
  const otherMesh = signEntry('other-mesh', f.root, { author: f.root.peerId, seq: 98, hlc: good.hlc, key: 'service/acme/y', value: serviceValue('acme', 'y', good.hlc) })
  const badValue = signEntry(MESH_ID, f.root, { author: f.root.peerId, seq: 97, hlc: good.hlc, key: 'service/acme/z', value: { created: good.hlc, spec: { name: 'z' } } })
  const deleteMember = signEntry(MESH_ID, f.root, { author: f.root.peerId, seq: 96, hlc: good.hlc, key: `member/${f.acme2.peerId}`, tombstone: true })
  const othersNode = signEntry(MESH_ID, f.root, { author: f.root.peerId, seq: 95, hlc: good.hlc, key: `node/${f.acme2.peerId}`, value: { labels: {}, addrs: [] } })
  const unknownKey = signEntry(MESH_ID, f.root, { author: f.root.peerId, seq: 94, hlc: good.hlc, key: 'config/x', value: 1 })
  const result = await copy.merge([forged, wrongOrg, future, otherMesh, badValue, deleteMember, othersNode, unknownKey])
  assert.is(result.applied.length, 0)
  assert.equal(result.rejected.map(r => r.code).sort(), ['bad-key', 'bad-signature', 'bad-signature', 'bad-value', 'clock-ahead', 'no-tombstone', 'not-self', 'wrong-org'])
  assert.is(copy.digest(), before)
  assert.is(copy.stats().rejected['bad-signature'], 2)
  // the genuine entry still merges after its forgery was refused
  const later = await copy.merge([good])
  assert.is(later.applied.length, 1)
})

test('anti-entropy: entriesSince our marks plus the remote marks brings a copy level, in pages', async () => {
  const f = await buildFixture()
  for (let i = 0; i < 30; i++) await f.write(i % 2 === 0 ? f.root : f.acme2, `service/acme/s${i % 7}`, serviceValue('acme', `s${i % 7}`, '000000000000001.000000', { replicas: i }))
  const copy = await openState(f.root.peerId, () => f.now.ms)
  let rounds = 0
  let after: string | undefined
  const marks = copy.highWaterMarks()
  for (;;) {
    rounds++
    const { entries, more, cursor } = f.source.entriesSince(marks, { limit: 5, after })
    after = cursor
    await copy.merge(entries, more ? {} : { remoteMarks: f.source.highWaterMarks() })
    if (!more) break
  }
  assert.ok(rounds > 1)
  assert.is(copy.digest(), f.source.digest())
  assert.equal(copy.highWaterMarks(), f.source.highWaterMarks())
  assert.is(f.source.entriesSince(copy.highWaterMarks()).entries.length, 0)
})

test('a failed save leaves the state as it was and reports the storage error', async () => {
  const f = await buildFixture()
  const persistence = new MemoryPersistence()
  const copy = await openState(f.root.peerId, () => f.now.ms, persistence)
  await copy.merge(f.log)
  const before = { digest: copy.digest(), marks: copy.highWaterMarks() }
  const entry = await f.write(f.root, 'service/acme/web', serviceValue('acme', 'web', '000000000000001.000000'))
  persistence.failNextSave = Object.assign(new Error('No space left on device'), { name: 'StorageError' })
  try {
    await copy.merge([entry])
    assert.unreachable()
  } catch (err: any) {
    assert.match(err.message, /No space/)
  }
  assert.is(copy.digest(), before.digest)
  assert.equal(copy.highWaterMarks(), before.marks)
  const again = await copy.merge([entry])
  assert.is(again.applied.length, 1)
})

test('a local write uses the next seq and a clock stamp above everything seen', async () => {
  const f = await buildFixture()
  const copy = await openState(f.root.peerId, () => f.now.ms - 30_000)
  await copy.merge(f.log)
  const entry = await copy.writeJson(f.root, 'service/acme/web', serviceValue('acme', 'web', '000000000000001.000000'))
  const maxSeen = f.log.map(e => e.hlc).sort().at(-1)!
  assert.ok(entry.hlc > maxSeen)
  assert.is(entry.seq, f.log.filter(e => e.author === f.root.peerId).length + 1)
})

test.run()
