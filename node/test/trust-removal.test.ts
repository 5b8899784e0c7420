/**
 * Removing a node and removing an organization, at the core level: every
 * node reaches the same verdict, cuts the removed nodes off, and stops
 * placing anything on them or for them.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeMessage, keys, protocols, signEntry, topics } from '@minga/protocol'
import { MESH_ID, TestCluster, spec, waitFor, pause } from './core-cluster.js'

test('node rm: revoked everywhere, its links cut, its probes and gossip ignored, its invites dead, its replicas moved', async () => {
  const mesh = await TestCluster.start(['acme', 'acme', 'beta'])
  try {
    const [a1, a2, b1] = mesh.nodes
    const ops = a2.core.operations
    const invite = await ops.invite({ ttlMs: 3_600_000, uses: 1, bootstrap: ['/ip4/127.0.0.1/tcp/1/p2p/' + a2.identity.peerId], psk: new TextEncoder().encode('/key/swarm/psk/1.0.0/\n/base16/\n' + 'ab'.repeat(32)) })
    await a1.core.operations.deploy([spec('acme', 'web', { replicas: 3, spread: 'node' })])
    await waitFor(() => mesh.nodes.every(n => n.runtime.started.length > 0), 'every node runs a replica')

    // beta cannot remove an acme node
    try {
      await b1.core.trust.removeNode(a2.identity.peerId, 'hostile')
      assert.unreachable('beta removed an acme node')
    } catch (err: any) {
      assert.is(err.name, 'ForbiddenError')
    }
    // a1 keeps something of both peers (their process starts, their records)
    await waitFor(() => a1.core.membership.records.trackedPeers === 2, 'a1 tracks both peers')
    const removed = await a1.core.trust.removeNode(a2.identity.peerId, 'retired')
    assert.is(removed.invitesRevoked, 1)
    for (const n of [a1, b1]) await waitFor(() => n.state.revoked(a2.identity.peerId) !== undefined, 'revocation everywhere')
    assert.ok(a1.state.invite(invite.id)?.revokedAt !== undefined, 'its open invite is revoked')
    assert.not.ok(a1.mesh.connections().includes(a2.identity.peerId))
    assert.not.ok(b1.mesh.connections().includes(a2.identity.peerId))
    await waitFor(() => !a1.core.liveness.live().includes(a2.identity.peerId) && !b1.core.liveness.live().includes(a2.identity.peerId), 'removed node is not live anywhere')

    // speaking as the removed node: membership requests refused, gossip not merged, admissions refused
    const droppedBefore = a1.core.membership.figures().dropped
    const ping = encodeMessage({ type: 'ping', time: Date.now(), digest: '', updates: [a2.core.membership.membership.own()] })
    const refused = await a1.mesh.answer(protocols.membership(MESH_ID), ping, a2.identity.peerId).then(() => false, () => true)
    assert.ok(refused, 'the removed node\'s ping gets no answer')
    assert.is(a1.core.membership.figures().dropped, droppedBefore + 1)
    const evil = signEntry(MESH_ID, a2.identity, { author: a2.identity.peerId, seq: 10_000, hlc: a1.state.clock.tick(), key: 'service/acme/evil', value: { spec: spec('acme', 'evil'), created: '000000000000001.000000' } })
    mesh.net.inject(a2.identity.peerId, topics.entries(MESH_ID), encodeMessage({ type: 'entries', entries: [evil] }), { relayed: true })
    assert.is(a1.state.value('service/acme/evil'), undefined)
    // relayed by a member, its entry is held back, never applied
    await a1.state.merge([evil])
    assert.is(a1.state.value('service/acme/evil'), undefined)
    const join = await a1.core.admission.admit({ type: 'join-request', inviteId: invite.id, secret: 'A'.repeat(43) + '=', peerId: a2.identity.peerId, addrs: [] }, a2.identity.peerId)
    assert.is(join.ok, false)

    // its replica moves to the nodes that remain; every node agrees on the state
    await waitFor(() => {
      const a = a1.core.reconciler.currentAssignment().services['acme/web']
      return a !== undefined && !a.includes(a2.identity.peerId) && a.every(n => n !== null)
    }, 'replicas moved off the removed node')
    await waitFor(() => a1.state.digest() === b1.state.digest(), 'a1 and b1 agree')
    // nothing is kept of the removed node: the member list's change reaches the replica records
    await waitFor(() => a1.core.membership.records.trackedPeers === 1, `a1 forgets the removed node (tracks ${a1.core.membership.records.trackedPeers})`)
  } finally {
    await mesh.stop()
  }
})

test('org rm: a proposal, a strict majority of the other orgs, and every node carries out the same removal', async () => {
  const mesh = await TestCluster.start(['acme', 'beta', 'beta', 'gamma', 'delta'])
  try {
    const [a, b1, b2, g, d] = mesh.nodes
    await b1.core.operations.deploy([spec('beta', 'db')])
    await a.core.operations.deploy([spec('acme', 'web', { replicas: 2 })])
    await waitFor(() => mesh.nodes.every(n => n.state.value('service/beta/db') !== undefined && n.state.value('service/acme/web') !== undefined), 'services everywhere')

    const opened = await a.core.trust.proposeOrgRemoval('beta', 'left the cooperative')
    assert.equal(opened.proposal.electorate, ['acme', 'delta', 'gamma'])
    assert.is(opened.needed, 2)
    assert.is(opened.passed, false)
    // beta does not vote on its own removal; one vote of acme only
    await waitFor(() => b1.state.value(keys.proposal(opened.id)) !== undefined, 'proposal reached beta')
    try {
      await b1.core.trust.approve(opened.id)
      assert.unreachable('beta voted')
    } catch (err: any) {
      assert.is(err.name, 'ForbiddenError')
    }
    await pause(300)
    assert.is(b1.state.revoked(b2.identity.peerId), undefined, 'nothing happens before the majority')
    assert.ok(g.state.value('service/beta/db') !== undefined)

    await waitFor(() => g.state.value(keys.proposal(opened.id)) !== undefined, 'proposal reached gamma')
    const passed = await g.core.trust.approve(opened.id.slice(0, 8))
    assert.is(passed.passed, true)
    const survivors = [a, g, d]
    await waitFor(() => survivors.every(n => n.state.revoked(b1.identity.peerId) !== undefined && n.state.revoked(b2.identity.peerId) !== undefined), 'beta\'s nodes revoked on every node')
    await waitFor(() => survivors.every(n => n.state.value('service/beta/db') === undefined), 'beta\'s services deleted everywhere')
    await waitFor(() => survivors.every(n => !n.core.liveness.live().some(p => p === b1.identity.peerId || p === b2.identity.peerId)), 'beta\'s nodes out of every live set')
    await waitFor(() => survivors.every(n => n.state.digest() === a.state.digest()), 'the survivors agree on one state')
    const placement = a.core.reconciler.currentAssignment()
    assert.not.ok(Object.values(placement.services).flat().some(p => p === b1.identity.peerId || p === b2.identity.peerId))
    // beta, cut off, can no longer write anything the others accept
    try {
      await b1.core.operations.deploy([spec('beta', 'db2')])
    } catch {}
    await pause(300)
    assert.is(a.state.value('service/beta/db2'), undefined)
    // the audit trail shows it all, signed
    const trail = a.core.operations.audit({ kinds: ['proposal', 'vote', 'revoked'] })
    assert.ok(trail.length >= 5)
    assert.ok(trail.every(r => r.verified))
  } finally {
    await mesh.stop()
  }
})

test.run()
