/**
 * Admission, directly: any member admits a joiner whose invite the mesh
 * holds, and refuses with a code and a message that says what to do when
 * the invite is unknown, forged, revoked, expired or used up, when the
 * request speaks for another peer, or when a new organization's name is
 * taken. A refusal writes nothing.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  generateIdentity, inviteSecretHash, keys, MemoryPersistence, newInviteId, newInviteSecret, State,
  type Identity, type InviteRecord, type JoinRequestMessage, type PeerIdString
} from '@minga/protocol'
import { Admission, EventLog, VirtualClock } from '../src/core/index.js'

const MESH = 'admission-test'

interface Rig { admission: Admission, state: State, clock: VirtualClock, founder: Identity, events: EventLog }

async function rig (): Promise<Rig> {
  const founder = await generateIdentity()
  const clock = new VirtualClock(Date.now())
  const state = await State.open({ meshId: MESH, root: founder.peerId, persistence: new MemoryPersistence(), now: () => clock.now() })
  await state.write(founder, keys.mesh(), { id: MESH, root: founder.peerId, created: clock.now() })
  await state.write(founder, keys.member(founder.peerId), { org: 'acme' })
  await state.write(founder, keys.org('acme'), { name: 'acme' })
  const events = new EventLog()
  return { admission: new Admission({ identity: founder, state, clock, events }), state, clock, founder, events }
}

/** an invite written to the state, and a request that presents it */
async function invite (r: Rig, record: Partial<InviteRecord> = {}): Promise<{ id: string, request: (joiner: Identity, extra?: Partial<JoinRequestMessage>) => JoinRequestMessage }> {
  const id = newInviteId()
  const secret = newInviteSecret()
  await r.state.write(r.founder, keys.invite(id), { issuerOrg: 'acme', org: 'acme', newOrg: false, secretHash: inviteSecretHash(secret), expires: r.clock.now() + 3_600_000, uses: 1, ...record })
  return {
    id,
    request: (joiner, extra = {}) => ({ type: 'join-request', inviteId: id, secret: Buffer.from(secret).toString('base64'), peerId: joiner.peerId as PeerIdString, addrs: [], ...extra })
  }
}

test('a valid invite admits the joiner to its org, with the state to start from; asking again is welcomed, not admitted twice', async () => {
  const r = await rig()
  const joiner = await generateIdentity()
  const { request } = await invite(r)
  const answer = await r.admission.admit(request(joiner), joiner.peerId)
  assert.is(answer.ok, true)
  assert.is(answer.ok && answer.org, 'acme')
  assert.ok(answer.ok && (answer.entries ?? []).some(e => e.key === keys.member(joiner.peerId)), 'the answer carries the admission')
  assert.equal(r.state.value(keys.member(joiner.peerId))?.org, 'acme')
  assert.is(r.events.recent().filter(e => e.kind === 'node-joined').length, 1)
  const again = await r.admission.admit(request(joiner), joiner.peerId)
  assert.is(again.ok, true, 'a member asking again (its answer was lost) is welcomed')
  assert.is(r.events.recent().filter(e => e.kind === 'node-joined').length, 1, 'and not admitted twice')
})

test('a new organization is created with the joiner, once; a taken name is refused', async () => {
  const r = await rig()
  const { request } = await invite(r, { org: undefined, newOrg: true, uses: 2 })
  const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
  const first = await r.admission.admit(request(a, { org: 'riverside' }), a.peerId)
  assert.is(first.ok && first.org, 'riverside')
  assert.equal(r.state.value(keys.org('riverside'))?.name, 'riverside')
  const taken = await r.admission.admit(request(b, { org: 'riverside' }), b.peerId)
  assert.is(!taken.ok && taken.code, 'org-exists')
  const unnamed = await r.admission.admit(request(b), b.peerId)
  assert.is(!unnamed.ok && unnamed.code, 'bad-org')
  assert.match(!unnamed.ok ? unnamed.error : '', /pass its name with --org NAME/)
})

test('refusals: another peer, an unknown invite, a wrong secret, revoked, expired, used up, a removed node; none writes anything', async () => {
  const r = await rig()
  const [joiner, other] = await Promise.all([generateIdentity(), generateIdentity()])
  const refused = async (request: JoinRequestMessage, from: string): Promise<string> => {
    const digest = r.state.digest()
    const answer = await r.admission.admit(request, from)
    assert.is(r.state.digest(), digest, 'a refusal writes nothing')
    assert.is(answer.ok, false)
    if (answer.ok) throw new Error('admitted')
    assert.match(answer.error, /minga invite|data dir|another peer|--org/, 'the message says what to do')
    return answer.code
  }
  const valid = await invite(r)
  assert.is(await refused(valid.request(joiner), other.peerId), 'bad-request')
  assert.is(await refused({ ...valid.request(joiner), inviteId: newInviteId() }, joiner.peerId), 'unknown-invite')
  assert.is(await refused({ ...valid.request(joiner), secret: Buffer.from(newInviteSecret()).toString('base64') }, joiner.peerId), 'bad-secret')
  const revoked = await invite(r, { revokedAt: r.state.clock.tick() })
  assert.is(await refused(revoked.request(joiner), joiner.peerId), 'revoked-invite')
  const short = await invite(r, { expires: r.clock.now() + 1000 })
  await r.clock.run(r.clock.now() + 1001)
  assert.is(await refused(short.request(joiner), joiner.peerId), 'expired-invite')
  const once = await invite(r)
  assert.is((await r.admission.admit(once.request(joiner), joiner.peerId)).ok, true)
  assert.is(await refused(once.request(other), other.peerId), 'used-invite')
  const fresh = await invite(r)
  await r.state.write(r.founder, keys.revoked(joiner.peerId), { lastSeq: 0, reason: 'retired' })
  assert.is(await refused(fresh.request(joiner), joiner.peerId), 'revoked')
})

test.run()
