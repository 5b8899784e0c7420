/** Membership messages: round trips, the alive signature, and refusals of what does not fit */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  MAX_TABLE_MEMBERS, MAX_UPDATES, MEMBERSHIP_BYTES, decodeMessage, encodeMessage, generateIdentity, signAlive, updateBytes, verifyAlive,
  type MemberUpdate, type PeerIdString, type WireMessage
} from '../src/index.js'
import { membershipMessages } from './fuzz-targets.js'

const MESH = 'mesh-7f3a'
const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
const encoder = new TextEncoder()
const refused = (bytes: Uint8Array, name: string, pattern: RegExp): void => {
  assert.throws(() => decodeMessage(bytes), (err: Error) => err.name === name && pattern.test(err.message), `expected ${name} matching ${String(pattern)}`)
}
const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value))

test('every membership message survives a round trip, field for field', () => {
  for (const message of membershipMessages(a, b)) {
    const back = decodeMessage(encodeMessage(message))
    assert.equal(back, message, message.type)
  }
})

test('a probe or gossip encodes to the bytes of its plain JSON, whether its updates were written before or not', () => {
  for (const message of membershipMessages(a, b)) {
    const plain = encoder.encode(JSON.stringify(message))
    assert.equal(encodeMessage(message), plain, `${message.type}, first`)
    // decoded updates carry their JSON once written: a forwarded update is not written again, and means the same
    const again = decodeMessage(encodeMessage(message))
    assert.equal(encodeMessage(again), plain, `${message.type}, forwarded`)
    assert.equal(encodeMessage(again), plain, `${message.type}, forwarded twice`)
  }
})

test('an alive update verifies for its node and mesh only, and not once altered', () => {
  const alive = signAlive(a, MESH, 1_800_000_000_005, 1_800_000_000_000)
  assert.ok(verifyAlive(MESH, alive))
  assert.not.ok(verifyAlive('other-mesh', alive), 'another mesh')
  assert.not.ok(verifyAlive(MESH, { ...alive, inc: alive.inc + 1 }), 'a raised incarnation')
  assert.not.ok(verifyAlive(MESH, { ...alive, boot: alive.boot + 1 }), 'another boot')
  assert.not.ok(verifyAlive(MESH, { ...alive, node: b.peerId as PeerIdString }), 'claimed for another node')
  assert.not.ok(verifyAlive(MESH, { ...alive, sig: 'A'.repeat(86) + '==' }), 'a made-up signature')
})

test('updates are checked field by field, and their number is bounded', () => {
  const alive = signAlive(a, MESH, 5, 5)
  const ping = (updates: unknown[]): Uint8Array => json({ type: 'ping', time: 1, digest: 'x', updates })
  refused(ping([{ ...alive, kind: 'zombie' }]), 'InvalidMessageError', /ping\.updates\[0\]\.kind must be alive, suspect or dead/)
  refused(ping([{ ...alive, extra: 1 }]), 'InvalidMessageError', /unknown field "extra"/)
  refused(ping([{ kind: 'suspect', node: b.peerId, inc: -1, from: a.peerId }]), 'InvalidMessageError', /inc must be a whole number/)
  refused(ping([{ kind: 'dead', node: 'not-a-peer', inc: 1, from: a.peerId }]), 'InvalidMessageError', /node must be an Ed25519 peer id/)
  refused(ping([{ kind: 'suspect', node: b.peerId, inc: 1 }]), 'InvalidMessageError', /from must be an Ed25519 peer id/)
  refused(ping([{ ...alive, sig: 'short' }]), 'InvalidMessageError', /sig must be a base64 Ed25519 signature/)
  const many = Array.from({ length: MAX_UPDATES + 1 }, () => ({ kind: 'suspect', node: b.peerId, inc: 1, from: a.peerId }))
  refused(ping(many), 'InvalidMessageError', new RegExp(`has ${MAX_UPDATES + 1} items \\(at most ${MAX_UPDATES}\\)`))
  assert.is(decodeMessage(ping(many.slice(1))).type, 'ping')
})

test('an update is checked again on every encode unless it is frozen: one changed after it passed is refused', () => {
  const alive = signAlive(a, MESH, 5, 5)
  assert.ok(Object.isFrozen(alive), 'an own alive update is frozen')
  const decoded = decodeMessage(encodeMessage({ type: 'gossip', updates: [alive] })) as { updates: MemberUpdate[] }
  assert.ok(Object.isFrozen(decoded.updates[0]), 'a decoded update is frozen')
  assert.throws(() => { (decoded.updates[0] as { inc: number }).inc = 6 }, 'a frozen update cannot change')
  const open: Record<string, unknown> = { kind: 'suspect', node: b.peerId, inc: 1, from: a.peerId }
  assert.is(encodeMessage({ type: 'gossip', updates: [open as unknown as MemberUpdate] }).length > 0, true)
  open.node = 'not-a-peer'
  assert.throws(() => encodeMessage({ type: 'gossip', updates: [open as unknown as MemberUpdate] }), /node must be an Ed25519 peer id/)
})

test('a probe larger than its limit is refused before it is parsed', () => {
  const pad = 'x'.repeat(MEMBERSHIP_BYTES.ping)
  refused(encoder.encode(`{"type":"ping","time":1,"digest":"${pad}","updates":[]}`), 'MessageTooLargeError', /ping message of \d+ bytes exceeds the limit of 32768/)
  refused(encoder.encode(`{"type":"nack","pad":"${'y'.repeat(100)}"}`), 'MessageTooLargeError', /nack message/)
})

test('a push-pull table names each member once, with a known status, and an alive proof no newer than the row', () => {
  const row = { node: a.peerId, status: 'alive', inc: 9, alive: { inc: 9, boot: 1, sig: 'A'.repeat(86) + '==' } }
  assert.is((decodeMessage(json({ type: 'push-pull', digest: 'd', members: [row] })) as any).members[0].inc, 9)
  refused(json({ type: 'push-pull', digest: 'd', members: [row, row] }), 'InvalidMessageError', /members\[1\]\.node is listed twice/)
  refused(json({ type: 'push-pull', digest: 'd', members: [{ ...row, status: 'asleep' }] }), 'InvalidMessageError', /status must be one of alive, suspect, dead, left/)
  refused(json({ type: 'push-pull', digest: 'd', members: [{ ...row, inc: 8 }] }), 'InvalidMessageError', /alive\.inc must not be above the row's inc/)
  const tooMany = { type: 'push-pull', digest: 'd', members: Array.from({ length: MAX_TABLE_MEMBERS + 1 }, () => 0) }
  refused(json(tooMany), 'InvalidMessageError', new RegExp(`has ${MAX_TABLE_MEMBERS + 1} items`))
})

test('replica records: a service once per message, a replica once per record, hashes checked, nothing else', () => {
  const record = { service: 'acme/web', ver: 3, replicas: [{ replica: 0, hash: 'abcdef12', healthy: true }] }
  const message = (records: unknown[], extra: object = {}): Uint8Array => json({ type: 'replicas', boot: 1, records, ...extra })
  assert.is((decodeMessage(message([record])) as any).records[0].ver, 3)
  refused(message([record, record]), 'InvalidMessageError', /records\[1\]\.service is listed twice/)
  refused(message([{ ...record, replicas: [record.replicas[0], record.replicas[0]] }]), 'InvalidMessageError', /replicas\[1\]\.replica is listed twice/)
  refused(message([{ ...record, replicas: [{ ...record.replicas[0], state: 'running' }] }]), 'InvalidMessageError', /unknown field "state"/)
  refused(message([{ ...record, replicas: [{ ...record.replicas[0], hash: 'XYZ' }] }]), 'InvalidMessageError', /hash must be a container hash/)
  refused(message([{ ...record, service: 'web' }]), 'InvalidMessageError', /service must be a service id org\/name/)
  refused(message([], { want: ['acme/web', 'nope'] }), 'InvalidMessageError', /want\[1\] must be a service id/)
})

test('updateBytes is what an update adds to an encoded message', () => {
  const updates: MemberUpdate[] = [signAlive(a, MESH, 5, 5), { kind: 'suspect', node: b.peerId as PeerIdString, inc: 12, from: a.peerId as PeerIdString }]
  const empty = encodeMessage({ type: 'gossip', updates: [] }).length
  const full = encodeMessage({ type: 'gossip', updates } satisfies WireMessage).length
  // one separator fewer than updates: the budget errs on the safe side by one byte
  assert.is(full - empty, updates.reduce((sum, u) => sum + updateBytes(u), 0) - 1)
})

test.run()
