/**
 * What a member, a holder of the mesh key who is not a member, or a broken
 * peer can throw at a node's heartbeat, down-report, gossip and sync
 * handlers: floods are rate-limited per peer before any parsing, strangers
 * are dropped, nothing crashes, and the state does not change.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeMessage, encodeMessage, generateIdentity, heartbeatSigningBytes, protocols, signEntry, signHeartbeat, topics, type PeerIdString } from '@minga/protocol'
import { MESH_ID, TestCluster, spec, waitFor, pause } from './core-cluster.js'

const settle = async (ms = 150): Promise<void> => { await pause(ms) }

/** every node has announced itself and all hold one state: from here on, the digest changes only if something is written */
async function quiet (mesh: TestCluster): Promise<void> {
  await waitFor(() => mesh.nodes.every(n => n.core.liveness.live().length === mesh.nodes.length && mesh.nodes.every(m => n.state.value(`node/${m.identity.peerId}`) !== undefined) && n.state.digest() === mesh.nodes[0].state.digest()), 'the mesh settles')
}

/** a heartbeat for `node`, signed by `who` (a forgery when they differ) */
function heartbeatOf (who: Awaited<ReturnType<typeof generateIdentity>>, seq: number, org: string, node = who.peerId): Uint8Array {
  const body = { node: node as PeerIdString, seq, time: Date.now(), org, capacity: { cpu: 1000, memory: 1 }, allocated: { cpu: 0, memory: 0 }, labels: {}, replicas: [], version: 'x', digest: '' }
  if (node === who.peerId) return encodeMessage(signHeartbeat(who, MESH_ID, body))
  return encodeMessage({ type: 'heartbeat', ...body, sig: Buffer.from(who.sign(heartbeatSigningBytes(MESH_ID, body))).toString('base64') })
}

test('a heartbeat flood from a member is dropped per peer before parsing; the peer stays alive, nothing else changes', async () => {
  const mesh = await TestCluster.start(['acme', 'beta'])
  try {
    const [a, b] = mesh.nodes
    await quiet(mesh)
    const digest = a.state.digest()
    const before = { ...a.core.liveness.dropped }
    const flood = 3000
    const base = Date.now() * 10
    const messages = Array.from({ length: flood }, (_, i) => heartbeatOf(b.identity, base + i, 'beta'))
    const started = Date.now()
    for (const message of messages) mesh.net.inject(b.identity.peerId, topics.heartbeat(MESH_ID), message)
    await settle()
    const dropped = a.core.liveness.dropped.rate - before.rate
    // at most one heartbeat per quarter period gets through, however long the flood lasted
    const allowed = Math.ceil((Date.now() - started) / 25) + 2
    assert.ok(flood - dropped <= allowed, `${flood - dropped} of ${flood} flooded heartbeats got through (at most ${allowed} may)`)
    assert.is(a.core.liveness.status(b.identity.peerId), 'alive')
    assert.is(a.state.digest(), digest)
  } finally {
    await mesh.stop()
  }
})

test('a flood of false down reports costs the accused a few extra heartbeats, not one each', async () => {
  const mesh = await TestCluster.start(['acme', 'beta', 'gamma'])
  try {
    const [a, b, c] = mesh.nodes
    await waitFor(() => a.core.liveness.live().length === 3, 'all alive')
    const seqBefore = a.core.liveness.own()!.seq
    const started = Date.now()
    for (let i = 0; i < 2000; i++) {
      const from = i % 2 === 0 ? b : c
      mesh.net.inject(from.identity.peerId, topics.down(MESH_ID), encodeMessage({ type: 'down', node: a.identity.peerId as PeerIdString, seq: 1e15 }))
    }
    await settle()
    const beats = a.core.liveness.own()!.seq - seqBefore
    const regular = Math.ceil((Date.now() - started) / 100) + 1
    assert.ok(beats <= regular + 4, `${beats} heartbeats for 2000 false reports (regular ${regular})`)
    assert.ok(a.core.liveness.dropped.rate > 1900)
    assert.is(b.core.liveness.status(a.identity.peerId), 'alive')
  } finally {
    await mesh.stop()
  }
})

test('a holder of the mesh key who is not a member: its heartbeats, down reports, gossip and sync requests change nothing', async () => {
  const mesh = await TestCluster.start(['acme', 'beta'])
  try {
    const [a, b] = mesh.nodes
    const outsider = await generateIdentity()
    await quiet(mesh)
    const digest = a.state.digest()
    const stranger = a.core.liveness.dropped.stranger
    mesh.net.inject(outsider.peerId, topics.heartbeat(MESH_ID), heartbeatOf(outsider, 1, 'acme'), { relayed: true })
    mesh.net.inject(outsider.peerId, topics.down(MESH_ID), encodeMessage({ type: 'down', node: b.identity.peerId as PeerIdString, seq: 1e15 }), { relayed: true })
    const entry = signEntry(MESH_ID, outsider, { author: outsider.peerId, seq: 1, hlc: a.state.clock.tick(), key: 'service/acme/evil', value: { spec: spec('acme', 'evil'), created: '000000000000001.000000' } })
    mesh.net.inject(outsider.peerId, topics.entries(MESH_ID), encodeMessage({ type: 'entries', entries: [entry] }), { relayed: true })
    await settle()
    assert.ok(a.core.liveness.dropped.stranger >= stranger + 2)
    assert.is(a.core.liveness.peer(outsider.peerId), undefined)
    assert.is(a.core.liveness.status(b.identity.peerId), 'alive')
    assert.is(a.state.digest(), digest)
    // its entries relayed by a member are held back, never applied
    const relayed = await a.state.merge([entry])
    assert.is(relayed.applied.length, 0)
    assert.is(a.state.value('service/acme/evil'), undefined)
    // a heartbeat of a member, signed by someone else, is invalid (sent again if it fell in b's rate-limit window)
    const invalid = a.core.liveness.dropped.invalid
    await waitFor(async () => {
      mesh.net.inject(b.identity.peerId, topics.heartbeat(MESH_ID), heartbeatOf(outsider, Date.now() * 10, 'beta', b.identity.peerId))
      await settle(20)
      return a.core.liveness.dropped.invalid > invalid
    }, 'a forged heartbeat counted as invalid')
    assert.is(a.core.liveness.status(b.identity.peerId), 'alive')
    // the sync handler answers a non-member with a refusal
    const answer = decodeMessage(await fakeRequest(a, outsider.peerId, protocols.sync(MESH_ID), encodeMessage({ type: 'sync-request', marks: {}, digest: '' })))
    assert.is(answer.type, 'error')
  } finally {
    await mesh.stop()
  }
})

test('oversized and malformed gossip is dropped without a crash and without a change', async () => {
  const mesh = await TestCluster.start(['acme', 'beta'])
  try {
    const [a, b] = mesh.nodes
    await quiet(mesh)
    const digest = a.state.digest()
    const garbage = [
      new Uint8Array(5 * 1024 * 1024).fill(0x7b),
      new TextEncoder().encode('{"type":"entries","entries":[' + '['.repeat(10_000)),
      new TextEncoder().encode('{"type":"heartbeat","node":1}'),
      new Uint8Array([0xff, 0xfe, 0x00]),
      new TextEncoder().encode('{"type":"entries","entries":[{"author":"x"}]}')
    ]
    for (const data of garbage) {
      mesh.net.inject(b.identity.peerId, topics.entries(MESH_ID), data)
      mesh.net.inject(b.identity.peerId, topics.heartbeat(MESH_ID), data)
      mesh.net.inject(b.identity.peerId, topics.down(MESH_ID), data)
    }
    await settle()
    assert.is(a.state.digest(), digest)
    assert.is(a.core.liveness.status(b.identity.peerId), 'alive')
    await waitFor(() => a.core.liveness.own()!.seq > 0, 'a still beats')
  } finally {
    await mesh.stop()
  }
})

/** call a node's request handler as `from`, as the network would after authenticating `from` */
async function fakeRequest (node: { mesh: any }, from: string, protocol: string, data: Uint8Array): Promise<Uint8Array> {
  const handler = node.mesh.handlers.get(protocol)
  return await handler(data, from)
}

test.run()
