/**
 * What membership sends, by message type (wire-bytes.ts): probes and their
 * answers are counted where they leave the core, and read from a message's
 * first bytes without parsing it.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeMessage } from '@minga/protocol'
import { messageType } from '../src/core/membership/wire-bytes.js'
import { TestCluster } from './core-cluster.js'

test('a message\'s type is read from its first bytes; anything else is other', () => {
  assert.is(messageType(encodeMessage({ type: 'report-request' })), 'report-request')
  assert.is(messageType(encodeMessage({ type: 'sync-request', marks: {}, digest: 'x' })), 'sync-request')
  assert.is(messageType(new TextEncoder().encode('{"digest":"x","type":"ping"}')), 'other')
  assert.is(messageType(new TextEncoder().encode(`{"type":"${'p'.repeat(100)}"}`)), 'other')
  assert.is(messageType(new Uint8Array(0)), 'other')
})

test('a quiet mesh\'s membership bytes are its probes and acks, counted per type as they are sent', async () => {
  const mesh = await TestCluster.start(['acme', 'acme', 'acme'])
  try {
    await mesh.settled()
    const [a] = mesh.nodes
    const before = new Map(a.core.membership.figures().sentBytes)
    const probes = a.core.membership.membership.stats.probes
    await mesh.clock.run(mesh.clock.now() + 10_000)
    const sent = a.core.membership.figures().sentBytes
    const grew = (type: string): number => (sent.get(type) ?? 0) - (before.get(type) ?? 0)
    const pings = a.core.membership.membership.stats.probes - probes
    assert.ok(pings >= 15, `${pings} probes in 10 s`)
    // each ping is at least `{"type":"ping","time":…,"digest":…,"updates":[]}`; the others' pings were answered with acks
    assert.ok(grew('ping') >= pings * 40, `${grew('ping')} bytes of pings`)
    assert.ok(grew('ack') > 0, `${grew('ack')} bytes of acks`)
    assert.is(sent.get('other'), undefined)
  } finally {
    await mesh.stop()
  }
})

test.run()
