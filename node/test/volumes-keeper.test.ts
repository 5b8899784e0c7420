/**
 * The volumes room on three nodes (two of acme, one of riverside) over the
 * in-memory mesh, with the model backend: a singleton's volume through an
 * unplanned failure, the failed node's return with a copy that diverged,
 * a planned move, hooks, seed mode, and holders that are gone.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { keys, snapshotPrefix, type ServiceSpec, type SnapshotView } from '@minga/protocol'
import type { VolumeKeeper } from '../src/core/volumes/keeper.js'
import { VolumeVerbs } from '../src/core/volumes/verbs.js'
import { MemoryLineage, ModelBackend, ModelRepositories } from '../src/core/volumes/model-backend.js'
import type { ContainerExec } from '../src/core/volumes/types.js'
import type { RuntimeContainer } from '../src/runtime/types.js'
import { MESH_ID, TestCluster, spec as specOf, waitFor, type TestNode } from './core-cluster.js'
import { keeperOn, settle } from './volumes-fixtures.js'

const VOLUME = 'minga-acme-db-pgdata'

interface Kept { node: TestNode, keeper: VolumeKeeper, backend: ModelBackend, restarts: string[], execs: string[][] }

async function mesh (options: { exec?: ContainerExec } = {}): Promise<{ cluster: TestCluster, nodes: Kept[], repositories: ModelRepositories, holdersAlive: { value: boolean } }> {
  const cluster = await TestCluster.start(['acme', 'acme', 'riverside'])
  await cluster.settled()
  const holdersAlive = { value: true }
  const riverside = cluster.nodes[2].identity.peerId
  const repositories = new ModelRepositories({ place: () => [riverside], alive: () => holdersAlive.value })
  const acme = cluster.nodes.filter(n => n.org === 'acme').map(n => n.identity.peerId).sort()
  const nodes = cluster.nodes.map(node => {
    const backend = new ModelBackend({ node: node.identity.peerId, clock: node.core.clock, repositories, fixedMs: 500 })
    const restarts: string[] = []
    const execs: string[][] = []
    const keeper = keeperOn(node, {
      backend,
      lineage: new MemoryLineage(),
      readers: () => acme,
      exec: options.exec ?? (async (_id, cmd) => { execs.push(cmd); return { exitCode: 0, output: '' } }),
      restart: (id, reason) => restarts.push(`${id}: ${reason}`),
      volumeTiming: { handoffWait: 20_000, handoffPoll: 200, handoffAsk: 2000 }
    })
    return { node, keeper, backend, restarts, execs }
  })
  return { cluster, nodes, repositories, holdersAlive }
}

function db (extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return specOf('acme', 'db', { singleton: true, volumes: [{ name: 'pgdata', path: '/data', readOnly: false, backup: { interval: 60_000, pre: [['sh', '-c', 'pg_dump > /data/dump.sql']] } }], ...extra })
}

/** the service deployed: its backup password made (by the first live node of acme) and readable by the acme nodes */
async function deployed (nodes: Kept[], spec: ServiceSpec): Promise<void> {
  const a = nodes[0]
  await a.node.state.write(a.node.identity, keys.service(spec.org, spec.name), { spec, created: a.node.state.clock.tick() })
  for (const n of nodes.filter(k => k.node.org === spec.org && !k.node.mesh.down)) await waitFor(() => n.keeper.repositories.ref(spec.org, spec.name), `${n.node.identity.peerId.slice(-8)} opens the backup password`)
}

function running (spec: ServiceSpec, id: string, kept: Kept): void {
  const container: RuntimeContainer = { id, service: `${spec.org}/${spec.name}`, replica: 0, hash: 'h', image: spec.image, state: 'running', health: 'none' }
  kept.keeper.observe([container], () => ({ id: container.service, spec, hash: 'h', created: '0' } as any))
}

function lines (kept: Kept, name = VOLUME): string[] {
  return (kept.backend.read(name, 'lines.log') ?? '').split('\n').filter(Boolean)
}

async function stopAll (cluster: TestCluster, nodes: Kept[]): Promise<void> {
  for (const n of nodes) n.keeper.stop()
  await cluster.stop()
}

test('a singleton\'s volume: snapshot, unplanned failover from the snapshot, the returning node\'s diverged copy kept aside, a planned move that loses nothing', async () => {
  const { cluster, nodes } = await mesh()
  const [a, b] = nodes
  const spec = db()
  await deployed(nodes, spec)

  // a runs it from an empty volume, writes, snapshots (the pre hook runs in its container)
  await settle(a.keeper.prepare(spec, 0), 'a prepares')
  for (const line of ['one', 'two', 'three']) a.backend.append(VOLUME, 'lines.log', line)
  running(spec, 'container-a', a)
  const [first] = await settle(a.keeper.backupHere('acme/db'), 'a backs up')
  assert.is(first.generation, 1)
  assert.equal(a.execs, [['sh', '-c', 'pg_dump > /data/dump.sql']])
  a.backend.append(VOLUME, 'lines.log', 'four (after the snapshot)')

  // a's daemon dies: b starts the service from generation 1 (the recovery point is the interval)
  a.node.mesh.down = true
  cluster.net.regate()
  await waitFor(() => b.node.state.value(keys.snapshot('acme', 'db', 'pgdata', a.node.identity.peerId)), 'b has a\'s snapshot entry')
  await settle(b.keeper.prepare(spec, 0), 'b prepares')
  assert.equal(lines(b), ['one', 'two', 'three'])
  b.backend.append(VOLUME, 'lines.log', 'five')
  running(spec, 'container-b', b)
  assert.is((await settle(b.keeper.backupHere('acme/db'), 'b backs up'))[0].generation, 2)
  b.backend.append(VOLUME, 'lines.log', 'six (after generation 2)')

  // a comes back and the service moves back to it: a waits for b's final snapshot
  a.node.mesh.down = false
  cluster.net.heal()
  await waitFor(() => a.node.state.value(keys.snapshot('acme', 'db', 'pgdata', b.node.identity.peerId)), 'a has b\'s snapshot entry')
  let prepared = false
  const preparing = a.keeper.prepare(spec, 0).then(() => { prepared = true })
  await waitFor(() => a.keeper.restoreNotes().some(n => /waiting for .*final snapshot/.test(n.text)), 'a says it waits for b')
  assert.not.ok(prepared, 'a must not restore before b has settled')
  await settle(b.keeper.stopReplica(spec, 0, 'moved', async () => { b.keeper.observe([], () => undefined) }), 'b stops and takes its final snapshot')
  await settle(preparing, 'a prepares')
  assert.equal(lines(a), ['one', 'two', 'three', 'five', 'six (after generation 2)'], 'a has every line b wrote, up to its stop')
  // a's own line 4 is not lost: its copy is kept aside and listed
  const aside = (await a.backend.list()).find(v => v.aside !== undefined)
  assert.ok(aside !== undefined, 'a kept its diverged copy aside')
  assert.equal(lines(a, aside.name), ['one', 'two', 'three', 'four (after the snapshot)'])
  assert.match(aside.aside!.reason, /diverged: it was written after generation 1/)
  assert.ok(a.node.core.events.recent().some(e => e.kind === 'volume-aside'))
  assert.ok(a.node.core.events.recent().some(e => e.kind === 'restore' && /restored to generation 3/.test(e.reason)))
  await stopAll(cluster, nodes)
})

test('a live previous holder that fails to answer the handoff ask is waited for, not taken for gone (a start beside its running copy)', async () => {
  const { cluster, nodes } = await mesh()
  const [a, b] = nodes
  const spec = db()
  await deployed(nodes, spec)
  // b runs the singleton; a (just restarted, say) is to take it over
  await settle(b.keeper.prepare(spec, 0), 'b prepares')
  running(spec, 'container-b', b)
  // a's first asks to b fail (a connection not yet up after a restart, a stream reset under load), b stays live
  const peerB = b.node.identity.peerId
  const request = a.node.mesh.request.bind(a.node.mesh)
  let failures = 3
  a.node.mesh.request = async (peer, protocol, data, options) => {
    if (peer === peerB && protocol.includes('volumes') && failures > 0) { failures--; throw new Error('stream reset') }
    return await request(peer, protocol, data, options)
  }
  let prepared = false
  const preparing = a.keeper.prepare(spec, 0).then(() => { prepared = true })
  await waitFor(() => failures === 0 && a.keeper.restoreNotes().some(n => /final snapshot/.test(n.text)), 'a hears b run it, after its failed asks')
  assert.not.ok(prepared, 'a must not start beside b\'s running copy')
  await settle(b.keeper.stopReplica(spec, 0, 'moved', async () => { b.keeper.observe([], () => undefined) }), 'b stops and takes its final snapshot')
  await settle(preparing, 'a prepares')
  assert.is(a.keeper.stats.handoffsGivenUp, 0)
  await stopAll(cluster, nodes)
})

test('a failing pre hook skips the snapshot and says so; nothing is written to the mesh', async () => {
  const { cluster, nodes } = await mesh({ exec: async () => ({ exitCode: 2, output: 'pg_dump: connection refused' }) })
  const [a] = nodes
  const spec = db()
  await deployed(nodes, spec)
  await settle(a.keeper.prepare(spec, 0), 'a prepares')
  running(spec, 'container-a', a)
  try {
    await settle(a.keeper.backupHere('acme/db'), 'a backs up')
    assert.unreachable('snapshot taken')
  } catch (err: any) {
    assert.match(err.message, /skipped/)
  }
  const event = a.node.core.events.recent().find(e => e.kind === 'backup-error')
  assert.match(event?.reason ?? '', /pre hook of pgdata \(sh -c pg_dump > \/data\/dump.sql\) exited with 2: pg_dump: connection refused; snapshot skipped/)
  assert.equal(a.node.state.records('snapshot', snapshotPrefix('acme', 'db')), [])
  await stopAll(cluster, nodes)
})

test('a replicated service keeps each copy as it is; a node without one starts from the latest snapshot', async () => {
  const { cluster, nodes } = await mesh()
  const [a, b] = nodes
  const spec = db({ singleton: false, replicas: 2 })
  await deployed(nodes, spec)
  await settle(a.keeper.prepare(spec, 0), 'a prepares')
  a.backend.append(VOLUME, 'lines.log', 'from a')
  running(spec, 'container-a', a)
  await settle(a.keeper.backupHere('acme/db'), 'a backs up')
  await waitFor(() => b.keeper.repositories.latest('acme', 'db', 'pgdata'), 'b sees the snapshot')
  await settle(b.keeper.prepare(spec, 1), 'b prepares')
  assert.equal(lines(b), ['from a'])
  b.backend.append(VOLUME, 'lines.log', 'from b')
  a.backend.append(VOLUME, 'lines.log', 'more from a')
  await settle(a.keeper.backupHere('acme/db'), 'a backs up')
  await waitFor(() => b.keeper.repositories.latest('acme', 'db', 'pgdata')?.record.generation === 2, 'b sees generation 2')
  await settle(b.keeper.prepare(spec, 1), 'b prepares')
  assert.equal(lines(b), ['from a', 'from b'], 'its own copy is used, not overwritten')
  await stopAll(cluster, nodes)
})

test('a restore whose holders are all gone fails with what to do, leaves no lineage behind, and works once they are back', async () => {
  const { cluster, nodes, holdersAlive } = await mesh()
  const [a, b] = nodes
  const spec = db()
  await deployed(nodes, spec)
  await settle(a.keeper.prepare(spec, 0), 'a prepares')
  a.backend.append(VOLUME, 'lines.log', 'kept safe')
  running(spec, 'container-a', a)
  await settle(a.keeper.backupHere('acme/db'), 'a backs up')
  a.node.mesh.down = true
  cluster.net.regate()
  await waitFor(() => b.keeper.repositories.latest('acme', 'db', 'pgdata'), 'b sees the snapshot')
  holdersAlive.value = false
  try {
    await settle(b.keeper.prepare(spec, 0), 'b prepares')
    assert.unreachable('restored without holders')
  } catch (err: any) {
    assert.match(err.message, /No holder of snapshot .* is alive/)
  }
  holdersAlive.value = true
  await settle(b.keeper.prepare(spec, 0), 'b prepares')
  assert.equal(lines(b), ['kept safe'])
  await stopAll(cluster, nodes)
})

/** db running on a, snapshotted twice (generation 1 holds "good", 2 "bad migration"), and b's verbs (b sees generation 2) */
async function twoGenerations (nodes: Kept[]): Promise<{ a: Kept, b: Kept, spec: ServiceSpec, first: SnapshotView, verbs: VolumeVerbs }> {
  const [a, b] = nodes
  const spec = db()
  await deployed(nodes, spec)
  await settle(a.keeper.prepare(spec, 0), 'a prepares')
  running(spec, 'container-a', a)
  a.backend.append(VOLUME, 'lines.log', 'good')
  const [first] = await settle(a.keeper.backupHere('acme/db'), 'a backs up')
  a.backend.append(VOLUME, 'lines.log', 'bad migration')
  await settle(a.keeper.backupHere('acme/db'), 'a backs up')
  await waitFor(() => b.keeper.repositories.latest('acme', 'db', 'pgdata')?.record.generation === 2, 'b sees generation 2')
  const verbs = new VolumeVerbs({ keeper: b.keeper, mesh: b.node.mesh, meshId: MESH_ID, live: () => b.node.core.liveness.live(), holdersOf: () => [a.node.identity.peerId], now: () => b.node.core.clock.now() })
  return { a, b, spec, first, verbs }
}

test('minga restore: a chosen older snapshot becomes the latest; the node running it restarts, keeps its copy aside and restores', async () => {
  const { cluster, nodes } = await mesh()
  const { a, spec, first, verbs } = await twoGenerations(nodes)
  a.backend.append(VOLUME, 'lines.log', 'written after')
  const listing = await settle(verbs.list('acme', 'db'), 'listing')
  assert.is(listing.snapshots.length, 2)
  assert.is(listing.latest.pgdata.generation, 2)
  const chosen = await settle(verbs.restore('acme', 'db', first.snapshot.slice(0, 8)), 'choosing')
  assert.equal(chosen, [{ volume: 'pgdata', snapshot: first.snapshot, generation: 3 }])
  await waitFor(() => a.restarts.length > 0, 'a restarts its copy')
  assert.match(a.restarts[0], /container-a: generation 3 of pgdata \(restore\) was chosen elsewhere/)
  a.keeper.observe([], () => undefined)
  await settle(a.keeper.prepare(spec, 0), 'a prepares')
  assert.equal(lines(a), ['good'])
  const aside = (await a.backend.list()).find(v => v.aside !== undefined)!
  assert.equal(lines(a, aside.name), ['good', 'bad migration', 'written after'])
  // a backup now, asked on b, runs on a (where it runs) and extends the lineage from the restored snapshot
  running(spec, 'container-a', a)
  const now = await settle(verbs.backup('acme', 'db'), 'backing up')
  assert.is(now.node, a.node.identity.peerId)
  assert.is(now.snapshots[0].generation, 4)
  try {
    await settle(verbs.restore('acme', 'db', 'ffffffff'), 'choosing')
    assert.unreachable('restored a snapshot that does not exist')
  } catch (err: any) {
    assert.is(err.code, 'not-found')
    assert.match(err.message, /No snapshot of acme\/db starts with ffffffff/)
  }
  const listed = await settle(verbs.volumes('acme'), 'listing')
  assert.ok(listed.volumes.some(v => v.lineage === 'aside' && v.node === a.node.identity.peerId))
  assert.ok(listed.volumes.some(v => v.lineage === 'current' && v.generation === 4))
  await stopAll(cluster, nodes)
})

test('minga restore while a snapshot of the running copy is under way: the restore stays the latest, and the copy restarts to it', async () => {
  const { cluster, nodes } = await mesh()
  const { a, first, verbs } = await twoGenerations(nodes)
  // an interval snapshot on a (500 ms of the model's restic), and the restore chosen on b while it runs
  const inFlight = a.keeper.backupHere('acme/db').catch((err: Error) => err)
  const chosen = await settle(verbs.restore('acme', 'db', first.snapshot.slice(0, 8)), 'choosing')
  assert.equal(chosen, [{ volume: 'pgdata', snapshot: first.snapshot, generation: 3 }])
  const snapshot = await settle(inFlight, 'the snapshot under way ends')
  assert.instance(snapshot, Error, 'the snapshot of a copy no longer at the latest is not recorded')
  await waitFor(() => a.restarts.length > 0, 'a restarts its copy to restore it')
  for (const n of nodes) {
    const latest = n.keeper.repositories.latest('acme', 'db', 'pgdata')!
    assert.equal([latest.record.snapshot, latest.record.generation, latest.record.reason], [first.snapshot, 3, 'restore'], `${n.node.identity.peerId.slice(-8)}: the restore is the latest`)
  }
  await stopAll(cluster, nodes)
})

test('the repository password is sealed like a secret: to the nodes that may run the service, and sealed again when they change', async () => {
  const { cluster, nodes } = await mesh()
  const [a, , r] = nodes
  const acmeOnly = db({ allowOrgs: ['acme'] })
  await a.node.state.write(a.node.identity, keys.service('acme', 'db'), { spec: acmeOnly, created: a.node.state.clock.tick() })
  const readers = (org: string, service: string): string[] => a.node.core.secrets.readers(org, service)
  // the keeper's own readers rule is the secrets' one in the daemon; here the test node's
  const keeper = keeperOn(a.node, { backend: a.backend, lineage: new MemoryLineage(), readers })
  await waitFor(() => a.node.state.value('backup/acme/db'), 'the first live node of acme creates the password')
  assert.not.ok(await keeper.repositories.ensureRecord('acme', 'db'), 'created once')
  await waitFor(() => r.node.state.value('backup/acme/db'), 'riverside has the record')
  assert.is(r.keeper.repositories.ref('acme', 'db'), undefined, 'riverside may not run it: it cannot open the password')
  assert.match(r.keeper.repositories.unavailable('acme', 'db'), /not sealed to this node yet/)
  const password = keeper.repositories.ref('acme', 'db')!.password
  await a.node.state.write(a.node.identity, keys.service('acme', 'db'), { spec: db({ allowOrgs: ['acme', 'riverside'] }), created: a.node.state.clock.tick() })
  await waitFor(() => r.keeper.repositories.ref('acme', 'db'), 'riverside can open the password once it may run the service')
  assert.is(r.keeper.repositories.ref('acme', 'db')!.password, password, 'sealed again, not changed')
  await stopAll(cluster, nodes)
})

test('a node that starts with services already deployed (its volumes backend new, or the deploy made while it was down) creates their backup passwords without waiting for a change', async () => {
  const cluster = await TestCluster.start(['acme', 'acme', 'riverside'])
  await cluster.settled()
  const [a] = cluster.nodes
  const spec = db()
  await a.state.write(a.identity, keys.service(spec.org, spec.name), { spec, created: a.state.clock.tick() })
  await waitFor(() => cluster.nodes.every(n => n.state.value(keys.service('acme', 'db')) !== undefined), 'every node holds the service')
  const repositories = new ModelRepositories({ place: () => [cluster.nodes[2].identity.peerId], alive: () => true })
  const acme = cluster.nodes.filter(n => n.org === 'acme').map(n => n.identity.peerId).sort()
  const keepers = cluster.nodes.map(node => keeperOn(node, { backend: new ModelBackend({ node: node.identity.peerId, clock: node.core.clock, repositories }), lineage: new MemoryLineage(), readers: () => acme }))
  await waitFor(() => keepers[0].repositories.ref('acme', 'db'), 'the first live node of acme created the password, and a can open it')
  for (const keeper of keepers) keeper.stop()
  await cluster.stop()
})

test.run()
