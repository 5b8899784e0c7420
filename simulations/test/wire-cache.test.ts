/**
 * The simulator's codec (cluster/wire-cache.ts) gives a receiver what the
 * real decoder would: the checked copy its encoder wrote stands in for a parse
 * of the bytes, so it must equal `decodeMessage` of those bytes, field for field
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeMessage, generateIdentity, signAlive, type MemberUpdate, type PeerIdString, type WireMessage } from '@minga/protocol'
import { WireCache } from '../src/cluster/wire-cache.js'

const NOW = 1_800_000_000_000
const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
const alive = signAlive(a, 'm', NOW + 3, NOW)
const updates: MemberUpdate[] = [alive, { kind: 'suspect', node: b.peerId as PeerIdString, inc: 7, from: a.peerId as PeerIdString }, { kind: 'dead', node: b.peerId as PeerIdString, inc: 8, from: b.peerId as PeerIdString }]
const messages: WireMessage[] = [
  { type: 'ping', time: NOW, digest: '12-ab', updates },
  { type: 'ack', time: NOW, digest: '12-ab', updates: [] },
  { type: 'ping-req', target: b.peerId as PeerIdString, updates: updates.slice(1) },
  { type: 'nack' },
  { type: 'gossip', updates },
  { type: 'push-pull', digest: 'ff', members: [{ node: a.peerId as PeerIdString, status: 'suspect', inc: NOW + 5, alive: { inc: alive.inc, boot: alive.boot, sig: alive.sig } }, { node: b.peerId as PeerIdString, status: 'left', inc: 2 }] },
  { type: 'replicas', boot: NOW, records: [{ service: 'acme/web' as never, ver: 3, replicas: [{ replica: 0, hash: 'abcdef0123456789', healthy: true }] }], want: ['acme/db' as never] }
]

test('a message the simulator encodes decodes to what the real decoder makes of its bytes, and to what was sent', () => {
  const wire = new WireCache()
  for (const message of messages) {
    const bytes = wire.encode(message)
    assert.equal(wire.decode(bytes), decodeMessage(bytes), message.type)
    assert.equal(wire.decode(bytes), message, message.type)
  }
  assert.is(wire.decodes, 0, 'nothing was parsed')
})

test('the simulator\'s encoder refuses what the real one refuses, and bytes from elsewhere are parsed and checked', () => {
  const wire = new WireCache()
  assert.throws(() => wire.encode({ type: 'gossip', updates: [{ kind: 'suspect', node: 'not-a-peer', inc: 1, from: a.peerId }] } as never), /node must be an Ed25519 peer id/)
  const foreign = new TextEncoder().encode(JSON.stringify({ type: 'gossip', updates: [{ kind: 'zombie' }] }))
  assert.throws(() => wire.decode(foreign), /kind must be alive, suspect or dead/)
  assert.is(wire.decodes, 1)
})

test.run()
