/**
 * What membership sends, by message type (wire-bytes.ts): probes and their
 * answers are counted where they leave the core, and read from a message's
 * first bytes without parsing it.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeMessage } from '@minga/protocol'
import { messageType } from '../src/core/membership/wire-bytes.js'
import { TestCluster, played } from './core-cluster.js'

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

test('gathering the reports of 12 members warns of no listener leak (each request listens on one shared signal); each rides the shared stream', async () => {
  const mesh = await TestCluster.start(Array.from({ length: 12 }, () => 'acme'))
  const warnings: string[] = []
  const onWarning = (warning: Error): void => { warnings.push(`${warning.name}: ${warning.message}`) }
  process.on('warning', onWarning)
  try {
    await mesh.settled()
    const node = mesh.nodes[0]
    const asked: boolean[] = []
    const request = node.mesh.request.bind(node.mesh)
    node.mesh.request = async (peer, protocol, data, options) => {
      if (messageType(data) === 'report-request') asked.push((options as { largeAnswer?: boolean } | undefined)?.largeAnswer === true)
      return await request(peer, protocol, data, options)
    }
    const reports = await played(node.core.membership.gather())
    assert.is(reports.size, 12)
    // a stream of its own per report missed every peer's report at once under load (service.ts)
    assert.equal(asked, Array.from({ length: 11 }, () => false))
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(warnings.filter(w => w.startsWith('MaxListenersExceededWarning')), [])
  } finally {
    process.off('warning', onWarning)
    await mesh.stop()
  }
})

test.run()
