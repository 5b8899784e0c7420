/** An org's recovery key: its fact in the state, the proof a phoenix node's admission carries, and the key's text */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  decodeRecoveryKey, encodeRecoveryKey, generateIdentity, keys, signRecoveryProof, verifyRecoveryProof, type Identity
} from '../src/index.js'
import { buildFixture, MESH_ID } from './fixtures.js'

async function refused (write: Promise<unknown>, pattern?: RegExp): Promise<void> {
  try {
    await write
    assert.unreachable('written')
  } catch (err: any) {
    assert.is(err.name, 'UnauthorizedWriteError', err.message)
    if (pattern !== undefined) assert.match(err.message, pattern)
  }
}

test('a recovery proof signs one admission: this peer, this org, this invite, this mesh', async () => {
  const [recovery, peer, other] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()])
  const proof = signRecoveryProof(recovery, 'm', 'acme', peer.peerId, 'a'.repeat(16))
  assert.ok(verifyRecoveryProof(recovery.peerId, proof, 'm', 'acme', peer.peerId, 'a'.repeat(16)))
  for (const [mesh, org, who, invite] of [['x', 'acme', peer.peerId, 'a'.repeat(16)], ['m', 'beta', peer.peerId, 'a'.repeat(16)], ['m', 'acme', other.peerId, 'a'.repeat(16)], ['m', 'acme', peer.peerId, 'b'.repeat(16)]]) {
    assert.not.ok(verifyRecoveryProof(recovery.peerId, proof, mesh, org, who, invite), `${mesh} ${org} ${invite}`)
  }
  assert.not.ok(verifyRecoveryProof(other.peerId, proof, 'm', 'acme', peer.peerId, 'a'.repeat(16)), 'another key')
  assert.not.ok(verifyRecoveryProof(recovery.peerId, 'AAAA', 'm', 'acme', peer.peerId, 'a'.repeat(16)), 'garbage')
})

test('the key\'s text round-trips; anything else says what it is not', async () => {
  const recovery = await generateIdentity()
  const text = encodeRecoveryKey(recovery)
  assert.match(text, /^minga-recovery-key-1:[A-Za-z0-9+/=]+$/)
  assert.is(decodeRecoveryKey(`\n  ${text}\n`).peerId, recovery.peerId)
  assert.throws(() => decodeRecoveryKey('-----BEGIN PRIVATE KEY-----'), (err: any) => err.name === 'InvalidIdentityError' && /starts with minga-recovery-key-1:/.test(err.message))
  assert.throws(() => decodeRecoveryKey('minga-recovery-key-1:AAAA'), (err: any) => err.name === 'InvalidIdentityError')
})

test('recovery/<org>: written by the org, once and for good; an admission with its proof is judged against it', async () => {
  const f = await buildFixture()
  const [recovery, phoenix, impostor] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()])
  const betaInvite = 'b'.repeat(16)
  const admit = (who: Identity, proof: string): Promise<unknown> => f.write(f.beta, keys.member(who.peerId), { org: 'acme', invite: betaInvite, recovery: proof })
  // before the org has a recovery key, an admission with a proof is not taken (it waits for the key)
  await refused(admit(phoenix, signRecoveryProof(recovery, MESH_ID, 'acme', phoenix.peerId, betaInvite)))
  assert.is(f.source.memberOrg(phoenix.peerId), undefined)
  await refused(f.write(f.beta, keys.recovery('acme'), { key: recovery.peerId }), /only members of acme record its recovery key/)
  await f.write(f.acme2, keys.recovery('acme'), { key: recovery.peerId })
  await admit(phoenix, signRecoveryProof(recovery, MESH_ID, 'acme', phoenix.peerId, betaInvite))
  assert.is(f.source.memberOrg(phoenix.peerId), 'acme')
  // a second key does not replace the first; a key cannot be deleted
  const later = await generateIdentity()
  await f.write(f.root, keys.recovery('acme'), { key: later.peerId }).catch((err) => { assert.is(err.name, 'UnauthorizedWriteError') })
  assert.is(f.source.value(keys.recovery('acme'))?.key, recovery.peerId)
  await refused(f.write(f.root, keys.recovery('acme'), undefined), /cannot be deleted/)
  // a proof by another key, or for another peer, is refused
  await refused(admit(impostor, signRecoveryProof(later, MESH_ID, 'acme', impostor.peerId, betaInvite)), /not acme's recovery key's signature/)
  await refused(admit(impostor, signRecoveryProof(recovery, MESH_ID, 'acme', phoenix.peerId, betaInvite)), /not acme's recovery key's signature/)
})

test.run()
