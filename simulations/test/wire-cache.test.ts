/**
 * The simulator's codec (cluster/wire-cache.ts) gives a receiver what the
 * real decoder would: the checked copy its encoder wrote stands in for a parse
 * of the bytes, so it must equal `decodeMessage` of those bytes, field for field
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeMessage, generateIdentity } from '@minga/protocol'
import { membershipMessages } from '@minga/protocol/testing'
import { WireCache } from '../src/cluster/wire-cache.js'

const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
const messages = membershipMessages(a, b)

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
