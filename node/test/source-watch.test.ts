/**
 * Change sets and git sources at the core level, on the cluster's virtual
 * clock: a change set is checked whole and written in one batch or not at
 * all; prune removes only what it should; one node of the organization
 * watches a source, applies each new commit, refuses a broken one, and
 * another node takes over when it dies.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { keys } from '@minga/protocol'
import { MemorySourceReader, type LoadedChangeSet } from '../src/core/index.js'
import { TestCluster, spec, waitFor, type TestNode } from './core-cluster.js'

async function rejection (promise: Promise<unknown>): Promise<Error> {
  try { await promise } catch (err) { return err as Error }
  throw new Error('did not reject')
}

const set = (...specs: LoadedChangeSet['specs']): LoadedChangeSet => ({ specs, secrets: [], configs: [], warnings: [] })

test('a change set is planned field by field, checked whole, and written at once or not at all', async () => {
  const mesh = await TestCluster.start(['acme', 'riverside'])
  try {
    const ops = mesh.nodes[0].core.operations
    await ops.deploy([spec('acme', 'old'), spec('acme', 'web')])
    await mesh.nodes[1].core.operations.deploy([spec('riverside', 'theirs')])
    await waitFor(() => mesh.nodes[0].state.value(keys.service('riverside', 'theirs')), 'riverside\'s service arrives')
    const declared = [spec('acme', 'web', { image: 'minga/busybox:2', replicas: 2 }), spec('acme', 'api')]
    const before = mesh.nodes[0].state.digest()
    const plan = await ops.apply({ specs: declared, prune: { scope: 'org' } }, { dryRun: true })
    assert.equal(plan.changes.map(c => [c.service, c.action, c.restarts]), [['acme/api', 'create', false], ['acme/old', 'remove', false], ['acme/web', 'update', true]])
    assert.equal(plan.changes[2].fields, [{ path: 'image', from: 'minga/busybox:1', to: 'minga/busybox:2' }, { path: 'replicas', from: 1, to: 2 }])
    assert.is(mesh.nodes[0].state.digest(), before, 'a dry run writes nothing')

    const refused = await rejection(ops.apply({ specs: [...declared, spec('riverside', 'theirs')], prune: { scope: 'org' } }, { dryRun: false }))
    assert.is(refused.name, 'ForbiddenError')
    assert.is(mesh.nodes[0].state.digest(), before, 'one bad service: nothing written')

    const heard: number[] = []
    mesh.nodes[0].state.subscribe(applied => heard.push(applied.filter(e => e.key.startsWith('service/')).length))
    await ops.apply({ specs: declared, prune: { scope: 'org' } }, { dryRun: false })
    assert.equal(heard, [3], 'the three changes are one batch')
    assert.equal(ops.records().map(r => r.spec.name), ['api', 'web'])
    assert.ok(mesh.nodes[0].state.value(keys.service('riverside', 'theirs')), 'prune never touches another organization')
    const again = await ops.apply({ specs: declared, prune: { scope: 'org' } }, { dryRun: true })
    assert.ok(again.changes.every(c => c.action === 'unchanged'), 'applying again changes nothing')
  } finally {
    await mesh.stop()
  }
})

function watcherOf (nodes: TestNode[]): TestNode | undefined {
  return nodes.find(n => (n.core.sourceWatch?.watching() ?? []).length > 0)
}

test('one node of the organization follows a git source: new commits apply, a broken one is refused, prune removes, another node takes over', async () => {
  const repo = new MemorySourceReader()
  const url = 'file:///srv/infra.git'
  const mesh = await TestCluster.start([{ org: 'acme', sources: repo }, { org: 'acme', sources: repo }, { org: 'acme', sources: repo }, { org: 'riverside', sources: repo }])
  try {
    await mesh.settled()
    const acme = mesh.nodes.slice(0, 3)
    const state = mesh.nodes[0].state
    const first = repo.commit(url, 'main', set(spec('acme', 'web'), spec('acme', 'api')))
    await mesh.nodes[1].core.sources.set('infra', { url, ref: 'main', path: 'apps', interval: 20_000, prune: true })
    await waitFor(() => state.value(keys.service('acme', 'api'))?.source?.commit === first, 'the first commit is applied')
    const watcher = watcherOf(mesh.nodes)!
    assert.ok(acme.includes(watcher), 'a node of acme watches')
    assert.equal(mesh.nodes.filter(n => (n.core.sourceWatch?.watching() ?? []).length > 0).length, 1, 'one node watches')
    assert.is(mesh.nodes[3].core.sourceWatch?.watching().length, 0, 'riverside never watches acme\'s source')
    assert.equal(state.value(keys.service('acme', 'web'))?.source, { name: 'infra', commit: first })

    const second = repo.commit(url, 'main', set(spec('acme', 'web', { image: 'minga/busybox:2' }), spec('acme', 'api')))
    await waitFor(() => state.value(keys.service('acme', 'web'))?.spec.image === 'minga/busybox:2', 'a change rolls out at the next poll')
    assert.equal(state.value(keys.service('acme', 'web'))?.source?.commit, second)
    assert.equal(state.value(keys.service('acme', 'api'))?.source?.commit, first, 'an untouched service keeps the commit it came from')

    const digest = state.digest()
    const broken = repo.commit(url, 'main', { problem: 'web.yaml: replicas: must be a whole number (got "two")' })
    await waitFor(() => state.value(keys.sourceStatus('acme', 'infra'))?.rejected?.commit === broken, 'the broken commit is reported')
    assert.match(state.value(keys.sourceStatus('acme', 'infra'))!.rejected!.error, 'replicas: must be a whole number')
    assert.is(state.value(keys.sourceStatus('acme', 'infra'))?.commit, second, 'the last applied commit stays')
    assert.ok(watcher.core.events.recent({}).some(e => e.kind === 'source-rejected' && e.reason.includes(broken.slice(0, 12))))
    assert.equal([...state.records('service', 'acme/')].map(e => e.value.spec.image).sort(), ['minga/busybox:1', 'minga/busybox:2'], 'nothing changed')
    assert.not.equal(digest, undefined)

    const third = repo.commit(url, 'main', set(spec('acme', 'web', { image: 'minga/busybox:2' })))
    await waitFor(() => state.value(keys.service('acme', 'api')) === undefined, 'a service no longer declared is pruned')
    assert.is(state.value(keys.sourceStatus('acme', 'infra'))?.rejected, undefined, 'a good commit clears the refusal')

    // the watcher dies: the next node in rendezvous order takes over
    watcher.mesh.down = true
    await watcher.core.stop()
    const rest = acme.filter(n => n !== watcher)
    const fourth = repo.commit(url, 'main', set(spec('acme', 'web', { image: 'minga/busybox:2' }), spec('acme', 'late')))
    await waitFor(() => rest[0].state.value(keys.service('acme', 'late'))?.source?.commit === fourth, 'another node applies the next commit')
    const next = watcherOf(rest)!
    assert.ok(next !== undefined && next !== watcher)
    assert.is(rest[0].state.value(keys.sourceStatus('acme', 'infra'))?.node, next.identity.peerId)
    assert.ok(third !== fourth)
  } finally {
    await mesh.stop()
  }
})

test('a source set with bad fields is refused with the flag to fix', async () => {
  const mesh = await TestCluster.start(['acme'])
  try {
    const sources = mesh.nodes[0].core.sources
    const good = { url: 'file:///srv/infra.git', ref: 'main', path: '', interval: 60_000, prune: false }
    assert.match((await rejection(sources.set('infra', { ...good, interval: 100 }))).message, '--watch')
    assert.match((await rejection(sources.set('Bad_Name', good))).message, '--name')
    assert.is((await rejection(sources.remove('none'))).name, 'NotFoundError')
    const view = await sources.set('infra', good)
    assert.is(view.watcher, mesh.nodes[0].identity.peerId)
    assert.equal(sources.list().map(s => s.id), ['acme/infra'])
  } finally {
    await mesh.stop()
  }
})

test.run()
