/**
 * The phoenix drill at core level, on the virtual clock: acme's only node
 * runs its database (allowed on acme's nodes only) with a secret and a
 * backed-up volume; the node is lost for good; a new server joins acme with
 * acme's recovery key and a new-org invite from riverside, and gets the
 * database back with its secret and its data, restored from the snapshots
 * that riverside's and coop's nodes hold.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateIdentity, inviteSecretHash, keys, MemoryPersistence, newInviteSecret, signRecoveryProof, State, type Identity, type PeerIdString } from '@minga/protocol'
import type { Clock } from '../src/core/clock.js'
import type { NodeCoreInit } from '../src/core/core.js'
import { MemoryLineage, ModelBackend, ModelRepositories } from '../src/core/volumes/model-backend.js'
import { MESH_ID, TestCluster, spec as specOf, waitFor } from './core-cluster.js'
import { settle } from './volumes-fixtures.js'

const VOLUME = 'minga-acme-db-data'

test('an org that lost its only node comes back on a new server with its recovery key: its database runs again with its secret and its data', async () => {
  const alive = new Set<string>()
  const others: string[] = []
  const repositories = new ModelRepositories({ place: () => others.filter(p => alive.has(p)), alive: (peer) => alive.has(peer) })
  const backends = new Map<string, ModelBackend>()
  const withVolumes = (identity: Identity, clock: Clock): Partial<NodeCoreInit> => {
    const backend = new ModelBackend({ node: identity.peerId, clock, repositories, fixedMs: 200 })
    backends.set(identity.peerId, backend)
    alive.add(identity.peerId)
    return { volumes: { backend, lineage: new MemoryLineage() } }
  }
  const cluster = await TestCluster.start([{ org: 'acme', core: withVolumes }, { org: 'riverside', core: withVolumes }, { org: 'coop', core: withVolumes }])
  try {
    await cluster.settled()
    const [acme, riverside] = cluster.nodes
    others.push(...cluster.nodes.slice(1).map(n => n.identity.peerId))
    const recovery = await generateIdentity()
    await acme.state.write(acme.identity, keys.recovery('acme'), { key: recovery.peerId })
    const db = specOf('acme', 'db', { singleton: true, allowOrgs: ['acme'], volumes: [{ name: 'data', path: '/data', readOnly: false }] })
    await settle(acme.core.secrets.set('acme', 'db', 'DB_PASSWORD', new TextEncoder().encode('s3cret')), 'the secret is set')
    await settle(acme.core.operations.deploy([db]), 'deployed')
    await waitFor(() => acme.core.volumes!.runsHere('acme/db'), 'the database runs on acme\'s node')
    backends.get(acme.identity.peerId)!.append(VOLUME, 'rows.db', 'row 1')
    backends.get(acme.identity.peerId)!.append(VOLUME, 'rows.db', 'row 2')
    const [snapshot] = await settle(acme.core.volumes!.backupHere('acme/db'), 'a snapshot')
    assert.is(snapshot.generation, 1)

    // acme's only server is lost for good: its disk too
    acme.mesh.down = true
    alive.delete(acme.identity.peerId)
    cluster.net.regate()
    await acme.core.stop()

    // a new server, an invite from riverside, and the key acme kept offline
    const secret = newInviteSecret()
    const inviteId = 'c0ffee'.repeat(3).slice(0, 16)
    await riverside.state.write(riverside.identity, keys.invite(inviteId), { issuerOrg: 'riverside', newOrg: true, secretHash: inviteSecretHash(secret), expires: riverside.core.clock.now() + 3_600_000, uses: 1 })
    const phoenix = await generateIdentity()
    const answer = await settle(riverside.core.admission.admit({
      type: 'join-request',
      inviteId,
      secret: Buffer.from(secret).toString('base64'),
      peerId: phoenix.peerId as PeerIdString,
      org: 'acme',
      addrs: [],
      recovery: signRecoveryProof(recovery, MESH_ID, 'acme', phoenix.peerId, inviteId)
    }, phoenix.peerId), 'admitted')
    assert.is(answer.ok, true, JSON.stringify(answer))
    // what `minga join` does: the state the answer carries, stored before the node runs
    const persistence = new MemoryPersistence()
    const joined = await State.open({ meshId: MESH_ID, root: riverside.state.root, persistence, now: () => riverside.core.clock.now() })
    await joined.merge(answer.ok ? answer.entries ?? [] : [])
    await joined.close()
    let recovered = false
    const node = await cluster.boot(phoenix, { org: 'acme', core: (identity, clock) => ({ ...withVolumes(identity, clock), recovery: { identity: recovery, done: () => { recovered = true } } }) }, persistence)
    // the database comes back on it, with its secret, on its data
    await waitFor(() => node.runtime.started.some(r => r.service === 'acme/db'), 'the database runs on the new server', 600_000)
    const started = node.runtime.started.find(r => r.service === 'acme/db')!
    assert.is(started.secretEnv?.DB_PASSWORD, 's3cret')
    assert.is(backends.get(phoenix.peerId)!.read(VOLUME, 'rows.db'), 'row 1\nrow 2\n')
    // it sealed acme's secret and backup password to itself; then it needs the recovery key no more
    await waitFor(() => recovered, 'the new server sealed everything of acme to itself')
    const record = node.state.value(keys.backup('acme', 'db'))!
    assert.ok(record.sealed.keys[phoenix.peerId] !== undefined)
    assert.ok(node.state.value(keys.secret('acme', 'db', 'DB_PASSWORD'))!.sealed.keys[phoenix.peerId] !== undefined)
  } finally {
    await cluster.stop()
  }
})

test('an admission into an existing org needs its recovery key\'s signature', async () => {
  const cluster = await TestCluster.start(['acme', 'riverside'])
  try {
    await cluster.settled()
    const [acme, riverside] = cluster.nodes
    const recovery = await generateIdentity()
    const forged = await generateIdentity()
    const secret = newInviteSecret()
    const inviteId = 'beef'.repeat(4)
    await riverside.state.write(riverside.identity, keys.invite(inviteId), { issuerOrg: 'riverside', newOrg: true, secretHash: inviteSecretHash(secret), expires: riverside.core.clock.now() + 3_600_000, uses: 3 })
    const joiner = await generateIdentity()
    const ask = async (proof?: string): Promise<{ ok: boolean, code?: string, error?: string }> => await settle(riverside.core.admission.admit({
      type: 'join-request', inviteId, secret: Buffer.from(secret).toString('base64'), peerId: joiner.peerId as PeerIdString, org: 'acme', addrs: [], ...(proof === undefined ? {} : { recovery: proof })
    }, joiner.peerId), 'answered') as any
    assert.is((await ask()).code, 'org-exists')
    assert.is((await ask(signRecoveryProof(recovery, MESH_ID, 'acme', joiner.peerId, inviteId))).code, 'no-recovery-key')
    await acme.state.write(acme.identity, keys.recovery('acme'), { key: recovery.peerId })
    await waitFor(() => riverside.state.value(keys.recovery('acme')), 'riverside knows acme\'s recovery key')
    const refused = await ask(signRecoveryProof(forged, MESH_ID, 'acme', joiner.peerId, inviteId))
    assert.is(refused.code, 'bad-recovery')
    assert.match(refused.error ?? '', /--recover/)
    assert.is(riverside.state.memberOrg(joiner.peerId), undefined, 'a refused admission writes nothing')
  } finally {
    await cluster.stop()
  }
})

test.run()
