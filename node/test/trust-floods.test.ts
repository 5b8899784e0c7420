/**
 * What a member, a holder of the mesh key who is not a member, or a broken
 * peer can throw at a node's membership, gossip and sync handlers: a member
 * cannot make a node check signatures without bound, nor refute without
 * bound, nor keep a node alive or kill it for good; strangers get no
 * answer; nothing crashes, and the state does not change.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeMessage, encodeMessage, generateIdentity, protocols, signAlive, signEntry, topics, type MemberUpdate, type PeerIdString } from '@minga/protocol'
import { MESH_ID, TestCluster, spec, waitFor, pause } from './core-cluster.js'

const settle = async (ms = 150): Promise<void> => { await pause(ms) }
const membership = protocols.membership(MESH_ID)

/** every node has announced itself and all hold one state: from here on, the digest changes only if something is written */
async function quiet (mesh: TestCluster): Promise<void> {
  await waitFor(() => mesh.nodes.every(n => n.core.liveness.live().length === mesh.nodes.length && mesh.nodes.every(m => n.state.value(`node/${m.identity.peerId}`) !== undefined) && n.state.digest() === mesh.nodes[0].state.digest()), 'the mesh settles')
}

/** a gossip message of these updates */
const gossip = (updates: MemberUpdate[]): Uint8Array => encodeMessage({ type: 'gossip', updates })

test('a flood of alive updates from a member costs a bounded number of signature checks; forgeries change nothing', async () => {
  const mesh = await TestCluster.start(['acme', 'beta', 'gamma'])
  try {
    const [a, b, c] = mesh.nodes
    await quiet(mesh)
    const digest = a.state.digest()
    const before = a.core.membership.figures()
    // b claims c is alive at ever higher incarnations, signed by b: every one a forgery, 64 to a message
    const forged = (i: number): MemberUpdate => ({ ...signAlive(b.identity, MESH_ID, Date.now() + i, 1), node: c.identity.peerId as PeerIdString })
    for (let m = 0; m < 50; m++) await a.mesh.answer(membership, gossip(Array.from({ length: 64 }, (_, i) => forged(m * 64 + i))), b.identity.peerId)
    const after = a.core.membership.figures()
    const checked = after.forged - before.forged
    assert.ok(checked <= 200, `${checked} of 3200 forged signatures checked (a burst of 128, then 64 a second)`)
    assert.ok(after.throttled - before.throttled >= 3000, 'the rest were dropped unchecked')
    assert.is(a.core.liveness.status(c.identity.peerId), 'alive')
    assert.is(a.core.liveness.status(b.identity.peerId), 'alive')
    assert.is(a.state.digest(), digest)
  } finally {
    await mesh.stop()
  }
})

test('a flood of accusations against a node costs it a few refutations, not one each; an impossible incarnation is refused', async () => {
  const mesh = await TestCluster.start(['acme', 'beta', 'gamma'])
  try {
    const [a, b, c] = mesh.nodes
    await quiet(mesh)
    const incBefore = a.core.membership.membership.own().inc
    for (let i = 0; i < 2000; i++) {
      const from = i % 2 === 0 ? b : c
      const inc = a.core.membership.membership.own().inc
      await a.mesh.answer(membership, gossip([{ kind: 'suspect', node: a.identity.peerId as PeerIdString, inc, from: from.identity.peerId as PeerIdString }]), from.identity.peerId)
    }
    await settle()
    const refutations = a.core.membership.membership.own().inc - incBefore
    assert.ok(refutations >= 1 && refutations <= 5, `${refutations} refutations for 2000 accusations`)
    // an accusation far beyond any clock would have a node refute into numbers it cannot sign: refused
    const forgedBefore = a.core.membership.figures().forged
    await a.mesh.answer(membership, gossip([{ kind: 'dead', node: a.identity.peerId as PeerIdString, inc: Number.MAX_SAFE_INTEGER, from: b.identity.peerId as PeerIdString }]), b.identity.peerId)
    assert.is(a.core.membership.figures().forged, forgedBefore + 1)
    await waitFor(() => b.core.liveness.status(a.identity.peerId) === 'alive' && c.core.liveness.status(a.identity.peerId) === 'alive', 'the accused is alive everywhere')
  } finally {
    await mesh.stop()
  }
})

test('a holder of the mesh key who is not a member: its membership requests, gossip and sync requests change nothing', async () => {
  const mesh = await TestCluster.start(['acme', 'beta'])
  try {
    const [a, b] = mesh.nodes
    const outsider = await generateIdentity()
    await quiet(mesh)
    const digest = a.state.digest()
    const dropped = a.core.membership.figures().dropped
    const ping = encodeMessage({ type: 'ping', time: Date.now(), digest: '', updates: [signAlive(outsider, MESH_ID, Date.now(), Date.now()), { kind: 'dead', node: b.identity.peerId as PeerIdString, inc: 1e13, from: outsider.peerId as PeerIdString }] })
    const refused = await a.mesh.answer(membership, ping, outsider.peerId).then(() => false, () => true)
    assert.ok(refused, 'no answer for a stranger')
    assert.is(a.core.membership.figures().dropped, dropped + 1)
    const entry = signEntry(MESH_ID, outsider, { author: outsider.peerId, seq: 1, hlc: a.state.clock.tick(), key: 'service/acme/evil', value: { spec: spec('acme', 'evil'), created: '000000000000001.000000' } })
    mesh.net.inject(outsider.peerId, topics.entries(MESH_ID), encodeMessage({ type: 'entries', entries: [entry] }), { relayed: true })
    await settle()
    assert.is(a.core.liveness.status(b.identity.peerId), 'alive')
    assert.is(a.core.liveness.status(outsider.peerId), 'dead', 'not a member: never in the table')
    assert.is(a.state.digest(), digest)
    // its entries relayed by a member are held back, never applied
    const relayed = await a.state.merge([entry])
    assert.is(relayed.applied.length, 0)
    assert.is(a.state.value('service/acme/evil'), undefined)
    // the sync handler answers a non-member with a refusal
    const answer = decodeMessage(await a.mesh.answer(protocols.sync(MESH_ID), encodeMessage({ type: 'sync-request', marks: {}, digest: '' }), outsider.peerId))
    assert.is(answer.type, 'error')
  } finally {
    await mesh.stop()
  }
})

test('oversized and malformed membership messages and gossip are refused without a crash and without a change', async () => {
  const mesh = await TestCluster.start(['acme', 'beta'])
  try {
    const [a, b] = mesh.nodes
    await quiet(mesh)
    const digest = a.state.digest()
    const table = a.core.membership.membership.table.digest()
    const garbage = [
      new Uint8Array(5 * 1024 * 1024).fill(0x7b),
      new TextEncoder().encode('{"type":"gossip","updates":[' + '['.repeat(10_000)),
      new TextEncoder().encode('{"type":"ping","time":1}'),
      new Uint8Array([0xff, 0xfe, 0x00]),
      new TextEncoder().encode('{"type":"push-pull","digest":"x","members":[{"node":"nope"}]}')
    ]
    let refused = 0
    for (const data of garbage) {
      mesh.net.inject(b.identity.peerId, topics.entries(MESH_ID), data)
      await a.mesh.answer(membership, data, b.identity.peerId).catch(() => { refused++ })
    }
    await settle()
    assert.is(refused, garbage.length)
    assert.is(a.state.digest(), digest)
    assert.is(a.core.membership.membership.table.digest(), table)
    assert.is(a.core.liveness.status(b.identity.peerId), 'alive')
  } finally {
    await mesh.stop()
  }
})

test.run()
