/**
 * Builds from git (issue 15), on NodeCores over an in-process network and a
 * virtual clock, with a model of git and `docker build` (MemoryBuilder): a
 * build here is tested before its image enters the mesh; a failed test or
 * build pushes nothing and keeps its log, readable on any node; a request to
 * an organization that offers builds is taken by exactly one of its builder
 * nodes (rendezvous over them), and by the next one when that one dies
 * before it records a result. The log is bounded.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { keys, tagKeyId } from '@minga/protocol'
import { rendezvousOrder } from '@minga/scheduler'
import { BuildLog, MemoryBuilder, MemoryChunkStore, MemoryImages, type BuildView } from '../src/core/index.js'
import { RecordingRuntime, TestCluster, played, waitFor, MESH_ID, type NodeOptions, type TestNode } from './core-cluster.js'

interface BuildNode { options: NodeOptions, builder: MemoryBuilder, images: MemoryImages }

/** a node with modelled images and git; `offers`: it builds for others */
function buildNode (org: string, offers = false): BuildNode {
  const runtime = new RecordingRuntime({ meshId: MESH_ID, nodeId: org, images: [] })
  const images = new MemoryImages(runtime.engine)
  const builder = new MemoryBuilder(images)
  const options: NodeOptions = {
    org,
    runtime,
    images: { store: new MemoryChunkStore(), engine: images, fetch: { surveyMs: 200, stallMs: 5000 } },
    core: { builds: { engine: builder, offers } }
  }
  return { options, builder, images }
}

async function cluster (nodes: Array<[string, boolean]>): Promise<{ c: TestCluster, nodes: Array<TestNode & BuildNode> }> {
  const made = nodes.map(([org, offers]) => buildNode(org, offers))
  const c = await TestCluster.start(made.map(m => m.options))
  await c.settled()
  const out = c.nodes.map((n, i) => ({ ...n, ...made[i] }))
  // every node knows who builds
  await waitFor(() => out.every(a => out.every(b => (a.state.value(keys.node(b.identity.peerId))?.builds === true) === nodes[out.indexOf(b)][1])), 'every node knows which nodes build')
  return { c, nodes: out }
}

/** the error `promise` rejects with (fails when it resolves) */
async function refusal (promise: Promise<unknown>): Promise<Error> {
  try {
    await played(promise)
  } catch (err) {
    return err as Error
  }
  assert.unreachable('it was not refused')
  throw new Error('unreachable')
}

const WEB = { Dockerfile: 'FROM minga/busybox:1\nCOPY . /app/\n', version: '1\n' }

async function logOf (node: TestNode, id: string): Promise<string> {
  const chunks: Uint8Array[] = []
  for await (const chunk of node.core.builds!.logs(id)) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

test('a build here is tested, then pushed under its tag; a failing test or build pushes nothing, and its log reads on another node', async () => {
  const { c, nodes } = await cluster([['acme', false], ['acme', false]])
  try {
    const [a, b] = nodes
    const commit = a.builder.commit('/src/web', WEB)
    const passed = await played(a.core.builds!.build({ source: { dir: '/src/web' }, tag: 'acme/web:1', test: 'sh /app/test.sh' }))
    assert.equal([passed.status, passed.commit, passed.testExit, passed.by, passed.builderOrg], ['passed', commit, 0, a.identity.peerId, 'acme'])
    assert.is(a.state.value(keys.tag('acme', tagKeyId('acme/web:1')))?.digest, passed.digest, 'the tag names the tested image')
    assert.is(a.state.value(keys.image('acme', passed.digest!.slice(7)))?.build, passed.id, 'the image names its build')

    const broken = a.builder.commit('/src/web', { ...WEB, version: '' })
    const failed = await played(a.core.builds!.build({ source: { dir: '/src/web' }, tag: 'acme/web:1', test: 'echo checking; exit 3' }))
    assert.equal([failed.status, failed.commit, failed.testExit], ['failed', broken, 3])
    assert.match(failed.error!, 'The test "echo checking; exit 3" exited with code 3; nothing was pushed')
    assert.is(a.state.value(keys.tag('acme', tagKeyId('acme/web:1')))?.digest, passed.digest, 'the tag still names the passed image')
    assert.is(a.state.records('image').length, 1, 'no image record for the failed one')
    await waitFor(() => b.core.builds!.list().find(x => x.id === failed.id)?.status === 'failed', 'the other node sees the failed build')
    const log = await played(logOf(b, failed.id))
    assert.match(log, `= commit ${broken}`)
    assert.match(log, 'running echo checking; exit 3\n# the test exited with code 3')

    a.builder.commit('/src/web', { ...WEB, Dockerfile: 'FROM minga/busybox:1\nRUN false\n' })
    const unbuilt = await played(a.core.builds!.build({ source: { dir: '/src/web' }, tag: 'acme/web:1' }))
    assert.equal([unbuilt.status, unbuilt.digest, unbuilt.testExit], ['failed', undefined, undefined])
    assert.match(unbuilt.error!, 'docker build failed')
    assert.match(unbuilt.tail, 'returned a non-zero code: 1')

    // no repository, no such ref: refused, nothing written; no Dockerfile: a failed build
    for (const [request, error] of [
      [{ source: { dir: '/src/none' }, tag: 'acme/web:1' }, '/src/none is not in a git repository'],
      [{ source: { dir: '/src/web' }, ref: 'v9', tag: 'acme/web:1' }, '/src/web has no commit v9']
    ] as const) {
      const err = await refusal(a.core.builds!.build(request))
      assert.is(err.name, 'BuildError')
      assert.match(err.message, error)
    }
    const noFile = await played(a.core.builds!.build({ source: { dir: '/src/web' }, file: 'Containerfile', tag: 'acme/web:1' }))
    assert.is(noFile.status, 'failed')
    assert.match(noFile.error!, 'has no Containerfile')
    assert.is(a.state.value(keys.tag('acme', tagKeyId('acme/web:1')))?.digest, passed.digest, 'bad input pushed nothing')
    assert.is(a.core.builds!.list().length, 4)
  } finally {
    await c.stop()
  }
})

test('a build request goes to exactly one builder of an organization that offers builds; the image is tagged for the asking org; a dead builder\'s request goes to the next', async () => {
  const { c, nodes } = await cluster([['acme', false], ['riverside', true], ['riverside', true], ['riverside', false]])
  try {
    const [a, r1, r2] = nodes
    const commit = a.builder.commit('/src/web', WEB)
    const built: BuildView = await played(a.core.builds!.build({ source: { dir: '/src/web' }, tag: 'acme/web:1', test: 'true' }))
    assert.equal([built.status, built.commit, built.builderOrg], ['passed', commit, 'riverside'])
    const order = rendezvousOrder(built.id, [r1.identity.peerId, r2.identity.peerId])
    assert.is(built.by, order[0], 'the builder ranked first for the build id ran it')
    assert.equal([r1, r2].map(r => r.builder.built.length).sort(), [0, 1], 'and only it')
    assert.is(a.builder.built.length, 0, 'the asking node built nothing')
    assert.is(a.state.value(keys.tag('acme', tagKeyId('acme/web:1')))?.digest, built.digest, 'acme\'s tag names the built image')
    assert.is(a.state.value(keys.tag('riverside', tagKeyId('acme/web:1'))), undefined, 'the builder wrote no tag of its own for it')
    assert.is(a.state.value(keys.buildResult('riverside', built.id))?.org, 'acme')
    assert.match(await played(logOf(a, built.id)), 'running true', 'the log reads on the asking node')

    // the first-ranked builder takes the next request and dies while it builds: the other takes it over
    let release = (): void => {}
    const held = new Promise<void>(resolve => { release = resolve })
    for (const r of [r1, r2]) r.builder.hold = held
    const second = a.builder.commit('/src/web', { ...WEB, version: '2\n' })
    const asked = a.core.builds!.build({ source: { dir: '/src/web' }, tag: 'acme/web:2' })
    const request = await waitFor(() => a.state.records('build').find(e => e.value.tag === 'acme/web:2'), 'the request is written')
    const id = request.key.split('/')[2]
    const [first, next] = rendezvousOrder(id, [r1.identity.peerId, r2.identity.peerId]).map(p => nodes.find(n => n.identity.peerId === p)!)
    await waitFor(() => a.state.value(keys.buildResult('riverside', id))?.status === 'running', 'the first builder started')
    first.mesh.down = true
    await first.core.stop()
    c.net.regate()
    next.builder.hold = undefined
    release()
    const taken = await played(asked, 120_000)
    assert.equal([taken.status, taken.commit, taken.by], ['passed', second, next.identity.peerId])

    // a request may not make a builder read its own files
    const local = await played(a.core.builds!.build({ source: { url: 'file:///var/lib/secret-repo' }, tag: 'acme/web:3', on: 'riverside' }))
    assert.equal([local.status, local.builderOrg], ['failed', 'riverside'])
    assert.match(local.error!, 'A build request\'s source must be a remote git repository')
  } finally {
    await c.stop()
  }
})

test('--on an org without a live builder, and --private for another org, are refused before anything is written', async () => {
  const { c, nodes } = await cluster([['acme', false], ['riverside', true]])
  try {
    const [a] = nodes
    a.builder.commit('/src/web', WEB)
    const noBuilder = await refusal(a.core.builds!.build({ source: { dir: '/src/web' }, tag: 'acme/web:1', on: 'acme' }))
    assert.equal([noBuilder.name, noBuilder.message.includes('No live node of acme offers builds')], ['BuildError', true])
    assert.is((await refusal(a.core.builds!.build({ source: { dir: '/src/web' }, tag: 'acme/web:1', private: true }))).name, 'BadRequestError')
    assert.is(a.state.records('build').length + a.state.records('build-result').length, 0)
  } finally {
    await c.stop()
  }
})

test('a build log keeps its start and its end within its bounds, and says what it left out', () => {
  const log = new BuildLog({ head: 100, tail: 300 })
  log.line('# start')
  for (let i = 0; i < 10_000; i++) log.line(`step ${i}`)
  log.line('# the test exited with code 1')
  const text = log.text()
  assert.ok(text.startsWith('# start\nstep 0\n'), text.slice(0, 50))
  assert.ok(text.endsWith('# the test exited with code 1\n'))
  assert.match(text, /\[… \d+ characters of the log left out …\]/)
  assert.ok(text.length < 100 + 300 + 80, `${text.length} characters kept`)
  const big = new BuildLog()
  big.write('x'.repeat(5 * 1024 * 1024))
  big.line('the end')
  assert.ok(big.text().length <= 1024 * 1024 + 80)
  assert.ok(big.text().endsWith('the end\n'))
  assert.ok(Buffer.byteLength(big.last(4096)) <= 4096)
  assert.is(new BuildLog().text(), '')
})

test.run()
