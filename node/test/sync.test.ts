/**
 * State sync, directly, on virtual time: a write goes out on gossip at
 * once; what gossip lost (a partition) anti-entropy brings back, in pages,
 * from a peer whose probe shows another digest; strangers neither sync
 * nor gossip their way in.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeMessage, encodeMessage, generateIdentity, keys, protocols, topics } from '@minga/protocol'
import { MESH_ID, TestCluster, played, spec, waitFor } from './core-cluster.js'

const id = (n: { identity: { peerId: string } }): string => n.identity.peerId

test('a write reaches the others by gossip within a second, with no anti-entropy round', async () => {
  const mesh = await TestCluster.start([{ org: 'acme', timing: { syncInterval: 3_600_000 } }, { org: 'acme', timing: { syncInterval: 3_600_000 } }])
  try {
    const [a, b] = mesh.nodes
    const rounds = b.core.sync.stats.rounds + a.core.sync.stats.rounds
    const started = mesh.clock.now()
    await a.core.operations.deploy([spec('acme', 'web')])
    await waitFor(() => b.state.value(keys.service('acme', 'web')) !== undefined, 'b holds acme/web')
    assert.ok(mesh.clock.now() - started < 1000, `gossip took ${mesh.clock.now() - started} ms`)
    assert.is(b.core.sync.stats.rounds + a.core.sync.stats.rounds, rounds, 'no anti-entropy round was needed')
    assert.ok(a.core.sync.stats.gossipOut > 0 && b.core.sync.stats.gossipIn > 0)
  } finally {
    await mesh.stop()
  }
})

test('anti-entropy brings back what a partition lost, in pages, and then the digests agree', async () => {
  const mesh = await TestCluster.start(['acme', 'acme'])
  try {
    await mesh.settled()
    const [a, b] = mesh.nodes
    mesh.net.partition([id(a)], [id(b)])
    // more than one page (500 entries) written while b cannot hear it
    for (let i = 0; i < 1200; i++) await a.state.write(a.identity, keys.cordon(`${id(a)}`), { reason: `maintenance ${i}` })
    for (let i = 0; i < 600; i++) await a.core.operations.storeConfigs('web', [Buffer.from(`chunk ${i}`).toString('base64')])
    assert.is(b.state.value(keys.config('acme', 'web', 'f'.repeat(64))), undefined)
    const pulledBefore = b.core.sync.stats.pulled
    mesh.net.heal()
    await waitFor(() => a.state.digest() === b.state.digest(), 'the digests agree after the heal')
    assert.ok(b.core.sync.stats.pulled - pulledBefore >= 600, `pulled ${b.core.sync.stats.pulled - pulledBefore} entries`)
    assert.is(b.state.records('config', 'acme/web/').length, 600)
    assert.equal(b.state.value(keys.cordon(id(a))), { reason: 'maintenance 1199' })
  } finally {
    await mesh.stop()
  }
})

test('a stranger cannot reach sync (the gate refuses it) and slips no entry in by gossip, even relayed', async () => {
  const mesh = await TestCluster.start(['acme', 'acme'])
  try {
    await mesh.settled()
    const [a, b] = mesh.nodes
    const stranger = await generateIdentity()
    const probe = mesh.net.add(stranger.peerId, () => true)
    const refused = await probe.request(id(a), protocols.sync(MESH_ID), encodeMessage({ type: 'sync-request', marks: {}, digest: '' })).then(() => undefined, (err: Error) => err)
    assert.ok(refused instanceof Error, 'no connection for a stranger')
    const forged = mesh.sign(stranger, keys.service('acme', 'evil'), { spec: spec('acme', 'evil'), created: '000000000000001.000000' })
    mesh.net.inject(stranger.peerId, topics.entries(MESH_ID), encodeMessage({ type: 'entries', entries: [forged] }), { relayed: true })
    await mesh.clock.run(mesh.clock.now() + 5000)
    assert.is(b.state.value(keys.service('acme', 'evil')), undefined)
    assert.is(a.state.value(keys.service('acme', 'evil')), undefined)
  } finally {
    await mesh.stop()
  }
})

test('under a stream of writes, anti-entropy does not chase what gossip is still carrying (a digest heard before the last change is stale), and everyone agrees after', async () => {
  const mesh = await TestCluster.start(['acme', 'acme', 'acme'])
  try {
    await mesh.settled()
    const [a] = mesh.nodes
    const rounds = (): number => mesh.nodes.reduce((sum, n) => sum + n.core.sync.stats.rounds, 0)
    const before = rounds()
    // a write every 400 ms for 30 s: each node's digest differs from what it heard of most peers most of the time
    for (let i = 0; i < 75; i++) {
      await a.state.write(a.identity, keys.cordon(id(a)), { reason: `maintenance ${i}` })
      await mesh.clock.run(mesh.clock.now() + 400)
    }
    const during = rounds() - before
    // a round every 3 s on every node that hears another digest took ~30 here; the check of one peer every 5th round takes ~6
    assert.ok(during <= 12, `${during} anti-entropy rounds in 30 s of writes among 3 nodes`)
    await waitFor(() => mesh.nodes.every(n => n.state.digest() === a.state.digest()), 'the digests agree')
  } finally {
    await mesh.stop()
  }
})

test('an anti-entropy answer carries only the marks the asker lacks, not one per member', async () => {
  const mesh = await TestCluster.start(['acme', 'acme', 'acme', 'acme'])
  try {
    await mesh.settled()
    const [a, b] = mesh.nodes
    const marks = b.state.highWaterMarks()
    assert.ok(Object.keys(marks).length >= 4, `b has the marks of ${Object.keys(marks).length} authors`)
    const ask = async (theirs: Record<string, number>, digest: string): Promise<Record<string, number>> => {
      const answer = decodeMessage(await played(b.mesh.request(id(a), protocols.sync(MESH_ID), encodeMessage({ type: 'sync-request', marks: theirs, digest }))))
      if (answer.type !== 'sync-response') throw new Error(`answered ${answer.type}`)
      return answer.marks
    }
    // b lacks a's last entry: the answer raises a's mark only
    const behind = { ...marks, [id(a)]: marks[id(a)] - 1 }
    assert.equal(await ask(behind, 'other'), { [id(a)]: marks[id(a)] })
    // b holds what a holds: nothing to raise, whatever the digest said
    assert.equal(await ask(marks, a.state.digest()), {})
    assert.equal(await ask(marks, 'other'), {})
  } finally {
    await mesh.stop()
  }
})

test.run()
