/**
 * Attacks on the replicated state, entry by entry: what a stranger, a member
 * of another org, a removed node or a replayer can send, and what comes of it.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateIdentity, keys, signEntry, type Entry, type Identity, type Json, type State } from '../src/index.js'
import { buildFixture, openState, serviceValue, MESH_ID, type Fixture } from './fixtures.js'

const CREATED = '000000000000001.000000'

function stamp (ms: number, counter = 0): string {
  return `${String(ms).padStart(15, '0')}.${String(counter).padStart(6, '0')}`
}

/** an entry signed by `who` with a chosen seq and stamp, as a hostile or replaying peer would send it */
function forge (who: Identity, seq: number, ms: number, key: string, value: Json | undefined): Entry {
  const base = { author: who.peerId, seq, hlc: stamp(ms), key }
  return signEntry(MESH_ID, who, value === undefined ? { ...base, tombstone: true } : { ...base, value })
}

async function copyOf (f: Fixture): Promise<State> {
  const copy = await openState(f.root.peerId, () => f.now.ms)
  await copy.merge(f.log)
  return copy
}

test('a stranger\'s entries are held back, never applied, and do not change the digest', async () => {
  const f = await buildFixture()
  const copy = await copyOf(f)
  const before = copy.digest()
  const result = await copy.merge([
    forge(f.stranger, 1, f.now.ms, 'service/acme/evil', serviceValue('acme', 'evil', CREATED)),
    forge(f.stranger, 2, f.now.ms, `member/${f.stranger.peerId}`, { org: 'acme', invite: 'a'.repeat(16) }),
    forge(f.stranger, 3, f.now.ms, `cordon/${f.root.peerId}`, { reason: 'x' })
  ])
  assert.is(result.applied.length, 0)
  assert.is(result.pending, 3)
  assert.is(copy.digest(), before)
  assert.is(copy.value('service/acme/evil'), undefined)
})

test('a node of another org cannot touch acme\'s services, secrets, nodes or vote', async () => {
  const f = await buildFixture()
  await f.write(f.root, 'service/acme/web', serviceValue('acme', 'web', CREATED))
  const copy = await copyOf(f)
  const before = copy.digest()
  const t = f.now.ms
  const attempts = [
    forge(f.beta, 10, t, 'service/acme/web', serviceValue('acme', 'web', CREATED, { image: 'evil/miner:1' })),
    forge(f.beta, 11, t, 'service/acme/web', undefined),
    forge(f.beta, 12, t, `cordon/${f.root.peerId}`, { reason: 'beta says so' }),
    forge(f.beta, 13, t, `revoked/${f.root.peerId}`, { lastSeq: 0, reason: 'beta says so' }),
    forge(f.beta, 14, t, `node/${f.root.peerId}`, { labels: {}, addrs: ['/ip4/6.6.6.6/tcp/1'] }),
    forge(f.beta, 15, t, 'invite/' + 'a'.repeat(16), { issuerOrg: 'beta', org: 'beta', newOrg: false, secretHash: '0'.repeat(64), expires: t + 1e6, uses: 9 })
  ]
  const result = await copy.merge(attempts)
  assert.is(result.applied.length, 0)
  assert.is(copy.digest(), before)
  assert.is((copy.value(keys.service('acme', 'web'))!).spec.image, 'minga/busybox:1')
  // refused outright where nothing could ever make them valid; held back where a passed removal of acme would
  const codes = result.rejected.map(r => r.code).sort()
  assert.equal(codes, ['not-self', 'wrong-org', 'wrong-org', 'wrong-org'])
  assert.is(result.pending, 2)
})

test('replayed entries change nothing: held ones are ignored, superseded ones lose, another mesh\'s fail their signature', async () => {
  const f = await buildFixture()
  const v1 = await f.write(f.root, 'service/acme/web', serviceValue('acme', 'web', CREATED))
  await f.write(f.root, 'service/acme/web', serviceValue('acme', 'web', CREATED, { replicas: 3 }))
  const copy = await copyOf(f)
  const before = copy.digest()
  const again = await copy.merge(f.log)
  assert.is(again.applied.length, 0)
  assert.is(again.ignored, f.log.length)
  // the old version, replayed alone into a fresh copy after the new one: loses
  const fresh = await openState(f.root.peerId, () => f.now.ms)
  await fresh.merge(f.log.filter(e => e !== v1))
  const late = await fresh.merge([v1])
  assert.is(late.applied.length, 0)
  assert.is((fresh.value(keys.service('acme', 'web'))!).spec.replicas, 3)
  // the same bytes re-signed for another mesh do not verify here
  const other = signEntry('another-mesh', f.root, { author: v1.author, seq: 50, hlc: v1.hlc, key: v1.key, value: v1.value })
  const crossed = await copy.merge([other])
  assert.is(crossed.rejected[0]?.code, 'bad-signature')
  assert.is(copy.digest(), before)
})

test('a clock far in the future is refused, and not taken as settled (the entry may merge once clocks catch up)', async () => {
  const f = await buildFixture()
  const copy = await copyOf(f)
  const future = forge(f.root, 20, f.now.ms + 10 * 365 * 86_400_000, 'service/acme/later', serviceValue('acme', 'later', CREATED))
  const first = await copy.merge([future])
  assert.is(first.rejected[0]?.code, 'clock-ahead')
  assert.is(copy.value('service/acme/later'), undefined)
  // not a settled verdict: the author's seq is not marked as held
  assert.ok((copy.highWaterMarks()[f.root.peerId] ?? 0) < 20)
})

test('forged signatures: a changed value, a changed key and a stolen signature are all refused', async () => {
  const f = await buildFixture()
  const copy = await copyOf(f)
  const good = forge(f.acme2, 20, f.now.ms, 'service/acme/web', serviceValue('acme', 'web', CREATED))
  const results = await copy.merge([
    { ...good, value: serviceValue('acme', 'web', CREATED, { image: 'evil/miner:1' }) },
    { ...good, key: 'service/acme/other', value: serviceValue('acme', 'other', CREATED) },
    { ...good, author: f.root.peerId },
    { ...good, sig: good.sig.replace(/^./, good.sig[0] === 'A' ? 'B' : 'A') }
  ])
  assert.equal(results.rejected.map(r => r.code), ['bad-signature', 'bad-signature', 'bad-signature', 'bad-signature'])
  assert.is(results.applied.length, 0)
  const real = await copy.merge([good])
  assert.is(real.applied.length, 1)
})

test('a removed node: its entries up to lastSeq stand, later ones are held back everywhere, its admissions too', async () => {
  const f = await buildFixture()
  const before = await f.write(f.acme2, 'service/acme/web', serviceValue('acme', 'web', CREATED))
  await f.write(f.root, `revoked/${f.acme2.peerId}`, { lastSeq: before.seq, reason: 'retired' })
  const copy = await copyOf(f)
  const newcomer = await generateIdentity()
  const t = f.now.ms + 1
  const result = await copy.merge([
    forge(f.acme2, before.seq + 1, t, 'service/acme/web', serviceValue('acme', 'web', CREATED, { image: 'evil/miner:1' })),
    forge(f.acme2, before.seq + 2, t, `member/${newcomer.peerId}`, { org: 'acme', invite: 'a'.repeat(16) }),
    forge(f.acme2, before.seq + 3, t, `revoked/${f.acme2.peerId}`, { lastSeq: 1_000_000, reason: 'un-revoke myself' })
  ])
  assert.is(result.applied.length, 0)
  assert.is(result.pending, 3)
  assert.is((copy.value(keys.service('acme', 'web'))!).spec.image, 'minga/busybox:1')
  assert.is(copy.memberOrg(newcomer.peerId), undefined)
  assert.is(copy.revoked(f.acme2.peerId)?.lastSeq, before.seq)
  // the node itself cannot write any more
  try {
    await f.source.writeJson(f.acme2, 'service/acme/web', serviceValue('acme', 'web', CREATED))
    assert.unreachable('a removed node wrote')
  } catch (err: any) {
    assert.is(err.name, 'UnauthorizedWriteError')
    assert.match(err.message, /removed from the mesh/)
  }
})

test('an invite revoked with its issuer admits nobody stamped after the revocation', async () => {
  const f = await buildFixture()
  const invite = f.source.invite('a'.repeat(16))!
  const revokedAt = f.source.clock.tick()
  await f.write(f.root, 'invite/' + 'a'.repeat(16), { ...invite, revokedAt } as unknown as Json)
  const joiner = await generateIdentity()
  const copy = await copyOf(f)
  const late = forge(f.root, 50, f.now.ms + 10, `member/${joiner.peerId}`, { org: 'acme', invite: 'a'.repeat(16) })
  const result = await copy.merge([late])
  assert.is(result.rejected[0]?.code, 'bad-invite')
  assert.is(copy.memberOrg(joiner.peerId), undefined)
})

test('an expired invite admits nobody, whoever writes the admission', async () => {
  const f = await buildFixture()
  const joiner = await generateIdentity()
  const expires = f.source.invite('a'.repeat(16))!.expires
  const copy = await openState(f.root.peerId, () => expires + 10_000)
  await copy.merge(f.log)
  const result = await copy.merge([forge(f.acme2, 40, expires + 1, `member/${joiner.peerId}`, { org: 'acme', invite: 'a'.repeat(16) })])
  assert.is(result.rejected[0]?.code, 'invite-expired')
})

test('a revocation that arrives after entries it does not cover is raised, and every copy ends with the same entries', async () => {
  const f = await buildFixture()
  const early = await f.write(f.acme2, 'service/acme/web', serviceValue('acme', 'web', CREATED))
  const base = f.log.slice()
  // root revokes acme2 having seen only `early`; acme2 wrote once more meanwhile, which only copy X got
  const late = forge(f.acme2, early.seq + 1, f.now.ms + 1, 'service/acme/api', serviceValue('acme', 'api', CREATED))
  const revocation = forge(f.root, 30, f.now.ms + 2, `revoked/${f.acme2.peerId}`, { lastSeq: early.seq, reason: 'retired' })
  const x = await openState(f.root.peerId, () => f.now.ms + 10)
  const y = await openState(f.root.peerId, () => f.now.ms + 10)
  await x.merge([...base, late])
  await x.merge([revocation])
  await y.merge([...base, revocation])
  const held = await y.merge([late])
  assert.is(held.pending, 1, 'Y holds the uncovered entry back')
  assert.ok(x.value('service/acme/api') !== undefined)
  assert.is(y.value('service/acme/api'), undefined)
  // X (a node of acme) raises the revocation to what it holds; Y applies the held entry
  const raise = forge(f.root, 31, f.now.ms + 3, `revoked/${f.acme2.peerId}`, { lastSeq: late.seq, reason: 'retired' })
  await x.merge([raise])
  const healed = await y.merge([raise])
  assert.ok(healed.applied.some(e => e.key === 'service/acme/api'))
  assert.is(y.digest(), x.digest())
  // a later, lower revocation cannot shrink it back
  await y.merge([forge(f.acme2, 2, f.now.ms + 4, `revoked/${f.acme2.peerId}`, { lastSeq: 1, reason: 'again' })])
  assert.is(y.revoked(f.acme2.peerId)?.lastSeq, late.seq)
})

test('a node of another org raises a revocation only with the removed node\'s own signed entry as proof', async () => {
  const f = await buildFixture()
  const early = await f.write(f.acme2, 'service/acme/web', serviceValue('acme', 'web', CREATED))
  await f.write(f.root, `revoked/${f.acme2.peerId}`, { lastSeq: early.seq, reason: 'retired' })
  const copy = await copyOf(f)
  const late = forge(f.acme2, early.seq + 1, f.now.ms, 'service/acme/api', serviceValue('acme', 'api', CREATED))
  const unproven = forge(f.beta, 20, f.now.ms + 1, `revoked/${f.acme2.peerId}`, { lastSeq: 1_000_000, reason: 'let it back in' })
  const badProof = forge(f.beta, 21, f.now.ms + 1, `revoked/${f.acme2.peerId}`, { lastSeq: late.seq + 5, reason: 'x', proof: late as unknown as Json })
  const forgedProof = forge(f.beta, 22, f.now.ms + 1, `revoked/${f.acme2.peerId}`, { lastSeq: late.seq, reason: 'x', proof: { ...late, key: 'service/acme/zzz' } as unknown as Json })
  const result = await copy.merge([unproven, badProof, forgedProof])
  assert.is(result.applied.length, 0)
  assert.is(result.pending, 1)
  assert.equal(result.rejected.map(r => r.code), ['bad-value', 'bad-value'])
  const proven = forge(f.beta, 23, f.now.ms + 1, `revoked/${f.acme2.peerId}`, { lastSeq: late.seq, reason: 'retired', proof: late as unknown as Json })
  const ok = await copy.merge([proven, late])
  assert.is(copy.revoked(f.acme2.peerId)?.lastSeq, late.seq)
  assert.ok(ok.applied.some(e => e.key === 'service/acme/api'))
})

test('admissions and votes are facts: the first one wins wherever a conflicting one arrives', async () => {
  const f = await buildFixture()
  const copy = await copyOf(f)
  const betaAgain = forge(f.root, 60, f.now.ms, `member/${f.beta.peerId}`, { org: 'acme', invite: 'a'.repeat(16) })
  await copy.merge([betaAgain])
  assert.is(copy.memberOrg(f.beta.peerId), 'beta')
  // org records too: a member cannot rename or re-found its org
  await copy.merge([forge(f.acme2, 61, f.now.ms, 'org/acme', { name: 'acme', invite: 'b'.repeat(16) })])
  assert.equal(copy.value('org/acme'), { name: 'acme' })
})

test.run()
