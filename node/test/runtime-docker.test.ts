/**
 * The Docker runtime against a real engine: the conformance suite, then
 * what only Docker has (labels and limits on the container, name conflicts,
 * networks). The engine is MINGA_TEST_DOCKER_HOST (a unix socket) or
 * /var/run/docker.sock; without one the tests are skipped, except under CI.
 */
import { createServer as createHttpServer } from 'node:http'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Docker from 'dockerode'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ensureImage } from '../src/runtime/docker-images.js'
import { DockerRuntime, LABELS, containerName } from '../src/runtime/index.js'
import type { ImageProgress } from '../src/runtime/index.js'
import { collectUntil, rejection, replicaOf, sleep, waitFor } from './runtime-fixtures.js'
import { runRuntimeTests } from './runtime-suite.js'
import { dockerEngineTests, dockerSocket } from './docker-fixtures.js'

const socket = dockerSocket()
const run = `${process.pid}-${Date.now().toString(36)}`
let meshes = 0
let fakes = 0

test('docker: an engine that does not answer gives RuntimeUnavailableError naming the socket', async () => {
  const runtime = new DockerRuntime({ meshId: 'm', nodeId: 'a', socketPath: '/tmp/minga-no-engine.sock' })
  const err = await rejection(runtime.list())
  assert.is(err.name, 'RuntimeUnavailableError')
  assert.match(err.message, 'Docker engine at /tmp/minga-no-engine.sock does not answer')
  assert.match(err.message, 'scripts/docker-engine.sh')
})

test('docker: an engine that accepts but never answers gives RuntimeUnavailableError after the call timeout', async () => {
  await withFakeEngine(() => {}, async (path) => {
    const runtime = new DockerRuntime({ meshId: 'm', nodeId: 'a', socketPath: path, callTimeoutMs: 300 })
    const err = await rejection(runtime.list())
    assert.is(err.name, 'RuntimeUnavailableError')
    assert.match(err.message, 'no answer within 300 ms')
    const events = await rejection((async () => { for await (const _ of runtime.events()) { /* until it fails */ } })())
    assert.is(events.name, 'RuntimeUnavailableError')
    await runtime.close()
  })
})

test('docker: an event stream that the engine closes ends with RuntimeUnavailableError', async () => {
  await withFakeEngine(socket => {
    socket.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
  }, async (path) => {
    const runtime = new DockerRuntime({ meshId: 'm', nodeId: 'a', socketPath: path })
    const err = await rejection((async () => { for await (const _ of runtime.events()) { /* until it fails */ } })())
    assert.is(err.name, 'RuntimeUnavailableError')
    assert.match(err.message, 'the event stream ended')
    await runtime.close()
  })
})

test('docker: a missing image is pulled with progress; an error in the pull stream is ImageNotFoundError', async () => {
  const present = new Set<string>()
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://engine')
    if (url.pathname.startsWith('/images/') && url.pathname.endsWith('/json')) {
      const found = present.has(decodeURIComponent(url.pathname.slice('/images/'.length, -'/json'.length)))
      res.writeHead(found ? 200 : 404, { 'Content-Type': 'application/json' })
      res.end(found ? '{"Id":"sha256:1"}' : '{"message":"No such image"}')
    } else if (url.pathname === '/images/create' && url.searchParams.get('fromImage') === 'acme/web') {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.write('{"status":"Pulling fs layer","progressDetail":{}}\n{"status":"Downlo')
      setTimeout(() => { present.add('acme/web:2'); res.end('ading","progressDetail":{"current":5,"total":10}}\n') }, 20)
    } else {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end('{"status":"Pulling"}\n{"errorDetail":{"message":"pull access denied for acme/private"},"error":"pull access denied for acme/private"}\n')
    }
  })
  const path = join(tmpdir(), `minga-fake-engine-${process.pid}-${fakes++}.sock`)
  await new Promise<void>(resolve => server.listen(path, resolve))
  try {
    const docker = new Docker({ socketPath: path })
    const ctx = { address: path, closing: new AbortController().signal }
    const progress: ImageProgress[] = []
    await ensureImage(docker, ctx, 'acme/web:2', { pullTimeoutMs: 5000, onProgress: p => progress.push(p) })
    assert.equal(progress, [{ image: 'acme/web:2', status: 'Pulling fs layer' }, { image: 'acme/web:2', status: 'Downloading', current: 5, total: 10 }])
    const err = await rejection(ensureImage(docker, ctx, 'acme/private:1', { pullTimeoutMs: 5000 }))
    assert.is(err.name, 'ImageNotFoundError')
    assert.match(err.message, 'Image acme/private:1 is not on this node and could not be pulled (pull access denied for acme/private)')
  } finally {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  }
})

const { engine, it } = await dockerEngineTests(socket)
const docker = new Docker({ socketPath: socket })
const hasBridge = engine && await docker.getNetwork('bridge').inspect().then(() => true, () => false)

runRuntimeTests('docker', it, async () => {
  const meshId = `test-${run}-${meshes++}`
  const runtime = new DockerRuntime({ meshId, nodeId: 'a', socketPath: socket })
  const other = new DockerRuntime({ meshId, nodeId: 'b', socketPath: socket })
  return { runtime, other, cleanup: async () => { await stopAll(runtime); await stopAll(other) } }
})

const withRuntime = (title: string, body: (runtime: DockerRuntime, meshId: string) => Promise<void>): void => {
  it(`docker: ${title}`, async () => {
    const meshId = `test-${run}-${meshes++}`
    const runtime = new DockerRuntime({ meshId, nodeId: 'a', socketPath: socket })
    try { await body(runtime, meshId) } finally { await stopAll(runtime) }
  })
}

withRuntime('a container carries labels, limits, env, health check, volumes and no restart policy', async (runtime, meshId) => {
  const replica = replicaOf('web', {
    env: { GREETING: 'hi' },
    resources: { cpu: 250, memory: 32 * 1024 * 1024 },
    health: { cmd: ['true'], interval: 1500, timeout: 1000, retries: 4, startPeriod: 500 },
    volumes: [{ name: 'data', path: '/data', readOnly: false }]
  }, { replica: 1, hash: 'cafe0123456789' })
  const c = await runtime.start({ ...replica, secretEnv: { TOKEN: 's3cret' } })
  const info = await docker.getContainer(c.id).inspect()
  assert.is(info.Name, `/${containerName(replica, { meshId, nodeId: 'a' })}`)
  assert.match(info.Name, /^\/minga-acme-web-1-cafe0123-[0-9a-f]{6}$/)
  const ours = Object.fromEntries(Object.values(LABELS).flatMap(k => info.Config.Labels[k] === undefined ? [] : [[k, info.Config.Labels[k]]]))
  assert.equal(ours, { [LABELS.mesh]: meshId, [LABELS.node]: 'a', [LABELS.service]: 'acme/web', [LABELS.replica]: '1', [LABELS.hash]: 'cafe0123456789' })
  assert.ok(info.Config.Env.includes('GREETING=hi') && info.Config.Env.includes('TOKEN=s3cret'))
  assert.not.match(JSON.stringify(info.Config.Labels), 's3cret')
  assert.is(info.HostConfig.NanoCpus, 250_000_000)
  assert.is(info.HostConfig.Memory, 32 * 1024 * 1024)
  assert.is(info.HostConfig.RestartPolicy?.Name, 'no')
  assert.equal(info.Config.Healthcheck, { Test: ['CMD', 'true'], Interval: 1.5e9, Timeout: 1e9, StartPeriod: 5e8, Retries: 4 })
  assert.equal(info.Mounts.map(m => [m.Name, m.Destination]), [['minga-acme-web-data', '/data']])
  await runtime.stop(c.id)
  await docker.getVolume('minga-acme-web-data').remove().catch(() => {})
})

withRuntime('a stale container of this node under the same name is replaced', async (runtime, meshId) => {
  const replica = replicaOf('web')
  const name = containerName(replica, { meshId, nodeId: 'a' })
  const stale = await docker.createContainer({ name, Image: replica.spec.image, Cmd: ['sleep', '600'], Labels: { [LABELS.mesh]: meshId, [LABELS.node]: 'a' } })
  const c = await runtime.start(replica)
  assert.is.not(c.id, stale.id)
  assert.is(c.state, 'running')
  assert.is(await stale.inspect().then(() => 'there', () => 'gone'), 'gone')
})

withRuntime('a foreign container under our name is left alone and the start fails clearly', async (runtime, meshId) => {
  const replica = replicaOf('web')
  const name = containerName(replica, { meshId, nodeId: 'a' })
  const foreign = await docker.createContainer({ name, Image: replica.spec.image, Cmd: ['sleep', '600'] })
  try {
    const err = await rejection(runtime.start(replica))
    assert.is(err.name, 'RuntimeStartError')
    assert.match(err.message, `docker rm -f ${name}`)
    assert.is((await foreign.inspect()).Id, foreign.id)
  } finally {
    await foreign.remove({ force: true })
  }
})

withRuntime('a container that cannot start is removed and the error says why', async (runtime) => {
  const err = await rejection(runtime.start(replicaOf('broken', { command: ['/no/such/program'] })))
  assert.is(err.name, 'RuntimeStartError')
  assert.match(err.message, 'acme/broken#0 could not start')
  assert.match(err.message, '/no/such/program')
  assert.equal(await runtime.list(), [])
})

it('docker: with init, a shell stops at once on SIGTERM, and a missing program exits 127 with the reason in its logs', async () => {
  const runtime = new DockerRuntime({ meshId: `test-${run}-${meshes++}`, nodeId: 'a', socketPath: socket, init: true })
  try {
    const shell = await runtime.start(replicaOf('shell', { command: ['sh', '-c', 'sleep 600'] }))
    // a SIGTERM in the first instant can land while busybox sh blocks it, before it execs
    await sleep(500)
    // stopped by the SIGTERM (exit 143), not by the kill at the end of a grace period (137): whatever the machine's load
    const abort = new AbortController()
    const died = collectUntil('the shell dies', runtime.events({ signal: abort.signal }), seen => seen.some(e => e.type === 'die' && e.id === shell.id), 120_000)
    await runtime.stop(shell.id, { graceMs: 60_000 })
    const exit = (await died).find(e => e.type === 'die' && e.id === shell.id)
    abort.abort()
    assert.is(exit?.type === 'die' ? exit.exitCode : undefined, 143, 'the shell ended on SIGTERM')
    const broken = await runtime.start(replicaOf('broken', { command: ['/no/such/program'] }))
    const exited = await waitFor('exit', async () => (await runtime.list()).find(c => c.id === broken.id && c.state === 'exited'))
    assert.is(exited.exitCode, 127)
    const lines = []
    for await (const line of runtime.logs(broken.id)) lines.push(line.text)
    assert.match(lines.join('\n'), '/no/such/program')
  } finally {
    await stopAll(runtime)
  }
})

if (!hasBridge) {
  withRuntime('without a bridge network, ports keep their number on the host network or fail clearly', async (runtime) => {
    const remapped = await rejection(runtime.start(replicaOf('web', { ports: [{ container: 80, host: 18080, protocol: 'tcp' }] })))
    assert.is(remapped.name, 'RuntimeStartError')
    assert.match(remapped.message, 'no bridge network')
    const c = await runtime.start(replicaOf('web', { ports: [{ container: 18081, host: 18081, protocol: 'tcp' }] }))
    assert.is((await docker.getContainer(c.id).inspect()).HostConfig.NetworkMode, 'host')
    const plain = await runtime.start(replicaOf('plain'))
    assert.is((await docker.getContainer(plain.id).inspect()).HostConfig.NetworkMode, 'none')
  })
}

/** a unix socket server standing in for an engine that misbehaves */
async function withFakeEngine (onConnection: (socket: Socket) => void, body: (path: string) => Promise<void>): Promise<void> {
  const path = join(tmpdir(), `minga-fake-engine-${process.pid}-${fakes++}.sock`)
  const sockets = new Set<Socket>()
  const server = createServer(socket => { sockets.add(socket); onConnection(socket) })
  await new Promise<void>(resolve => server.listen(path, resolve))
  try {
    await body(path)
  } finally {
    for (const socket of sockets) socket.destroy()
    await new Promise(resolve => server.close(resolve))
  }
}

async function stopAll (runtime: DockerRuntime): Promise<void> {
  for (const c of await runtime.list()) await runtime.stop(c.id, { graceMs: 0 })
  await runtime.close()
}

/** scripts/test-image.sh, found above this file or the working directory */
test.run()
