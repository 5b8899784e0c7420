import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MemoryEngine, MemoryRuntime } from '../src/runtime/index.js'
import type { Delay, ImageProgress, Runtime } from '../src/runtime/index.js'
import { STANDBY_START_SHARE } from '../src/runtime/constants.js'
import { parseProgram } from '../src/runtime/memory-program.js'
import { MISSING_IMAGE, TEST_IMAGE, rejection, replicaOf } from './runtime-fixtures.js'
import { runRuntimeTests } from './runtime-suite.js'

async function stopAll (runtime: Runtime): Promise<void> {
  for (const c of await runtime.list()) await runtime.stop(c.id)
  await runtime.close()
}

runRuntimeTests('memory', test, async () => {
  const engine = new MemoryEngine({ images: [TEST_IMAGE] })
  const runtime = new MemoryRuntime({ meshId: 'm', nodeId: 'a', engine })
  const other = new MemoryRuntime({ meshId: 'm', nodeId: 'b', engine })
  return { runtime, other, cleanup: async () => { await stopAll(runtime); await stopAll(other) } }
})

/** a virtual clock: time moves only when the test advances it */
function virtualTime (): { now: () => number, delay: Delay, advance: (ms: number) => Promise<void> } {
  let now = 1_000_000
  const timers: Array<{ at: number, resolve: () => void }> = []
  return {
    now: () => now,
    delay: async (ms, signal) => {
      await new Promise<void>((resolve, reject) => {
        const timer = { at: now + ms, resolve }
        timers.push(timer)
        signal?.addEventListener('abort', () => { const at = timers.indexOf(timer); if (at >= 0) timers.splice(at, 1); reject(signal.reason) }, { once: true })
      })
    },
    advance: async (ms) => {
      const until = now + ms
      while (true) {
        timers.sort((a, b) => a.at - b.at)
        const next = timers[0]
        if (next === undefined || next.at > until) break
        timers.shift()
        now = next.at
        next.resolve()
        for (let i = 0; i < 10; i++) await Promise.resolve()
      }
      now = until
    }
  }
}

test('memory: start takes startDelayMs of virtual time and is listed starting meanwhile', async () => {
  const time = virtualTime()
  const runtime = new MemoryRuntime({ now: time.now, delay: time.delay, startDelayMs: 400 })
  const starting = runtime.start(replicaOf('web'))
  await time.advance(100)
  assert.equal((await runtime.list()).map(c => c.state), ['starting'])
  await time.advance(300)
  const c = await starting
  assert.is(c.state, 'running')
  assert.is(c.startedAt, 1_000_400)
})

test('memory: a warm standby starts in the start\'s share of startDelayMs (its create took the rest), a cold start takes all of it', async () => {
  const time = virtualTime()
  const runtime = new MemoryRuntime({ now: time.now, delay: time.delay, startDelayMs: 1000 })
  const standbyMs = Math.round(1000 * STANDBY_START_SHARE)
  let prepared = false
  const preparing = runtime.prepare(replicaOf('web')).then(c => { prepared = true; return c })
  await time.advance(1000 - standbyMs - 1)
  assert.is(prepared, false, 'the create takes its share')
  await time.advance(1)
  const standby = await preparing
  assert.is(standby.state, 'created')
  const t0 = time.now()
  const starting = runtime.start(replicaOf('web'))
  await time.advance(standbyMs)
  assert.equal((await runtime.list()).map(c => [c.id, c.state, c.startedAt]), [[standby.id, 'running', t0 + standbyMs]], 'only Docker\'s start of the created container')
  assert.is((await starting).id, standby.id)
  const cold = runtime.start(replicaOf('api'))
  await time.advance(1000 - 1)
  assert.is((await runtime.list()).find(c => c.service === 'acme/api')?.state, 'starting', 'create + start')
  await time.advance(1)
  assert.is((await cold).startedAt, t0 + standbyMs + 1000)
})

test('memory: standbyStartDelayMs sets a standby\'s start; a start during its create is the copy the create then finds', async () => {
  const time = virtualTime()
  const runtime = new MemoryRuntime({ now: time.now, delay: time.delay, startDelayMs: 1000, standbyStartDelayMs: 200 })
  const preparing = runtime.prepare(replicaOf('web'))
  await time.advance(100)
  const starting = runtime.start(replicaOf('web'))
  await time.advance(700)
  const found = await preparing
  assert.is(found.state, 'starting', 'the copy being started, not a second container')
  await time.advance(300)
  assert.is((await starting).id, found.id)
  assert.equal((await runtime.list()).map(c => c.state), ['running'])
  const preparingApi = runtime.prepare(replicaOf('api'))
  await time.advance(800)
  const standby = await preparingApi
  const t0 = time.now()
  const warm = runtime.start(replicaOf('api'))
  await time.advance(200)
  assert.is((await runtime.list()).find(c => c.id === standby.id)?.startedAt, t0 + 200)
  assert.is((await warm).id, standby.id)
})

test('memory: a container stopped while it starts fails the start and never runs', async () => {
  const time = virtualTime()
  const runtime = new MemoryRuntime({ now: time.now, delay: time.delay, startDelayMs: 400 })
  const starting = rejection(runtime.start(replicaOf('web', { command: ['sh', '-c', 'echo hi'] })))
  await time.advance(100)
  const [c] = await runtime.list()
  await runtime.stop(c.id)
  const err = await starting
  assert.is(err.name, 'RuntimeStartError')
  assert.match(err.message, 'stopped while it started')
  await time.advance(1000)
  assert.equal(await runtime.list(), [])
})

test('memory: scripts, health checks and exits follow virtual time', async () => {
  const time = virtualTime()
  const runtime = new MemoryRuntime({ now: time.now, delay: time.delay })
  const job = await runtime.start(replicaOf('job', { command: ['sh', '-c', 'echo hi; sleep 2; echo bye >&2; exit 4'] }))
  const checked = await runtime.start(replicaOf('db', { health: { cmd: ['false'], interval: 1000, timeout: 500, retries: 3, startPeriod: 2000 } }))
  await time.advance(1999)
  assert.is((await runtime.list()).find(c => c.id === job.id)?.state, 'running')
  await time.advance(1)
  const exited = (await runtime.list()).find(c => c.id === job.id)
  assert.equal([exited?.state, exited?.exitCode], ['exited', 4])
  const lines = []
  for await (const line of runtime.logs(job.id)) lines.push(line)
  assert.equal(lines, [{ time: 1_000_000, stream: 'stdout', text: 'hi' }, { time: 1_002_000, stream: 'stderr', text: 'bye' }])
  assert.is((await runtime.list()).find(c => c.id === checked.id)?.health, 'starting')
  await time.advance(3000)
  assert.is((await runtime.list()).find(c => c.id === checked.id)?.health, 'unhealthy')
})

test('memory: failureRate with an injected random fails starts and leaves nothing behind', async () => {
  const runtime = new MemoryRuntime({ failureRate: 0.5, random: () => 0.3 })
  const err = await rejection(runtime.start(replicaOf('web')))
  assert.is(err.name, 'RuntimeStartError')
  assert.equal(await runtime.list(), [])
})

test('memory: an image in the registry is pulled with progress; others are not found', async () => {
  const runtime = new MemoryRuntime({ images: [], registry: ['acme/web:2'] })
  const progress: ImageProgress[] = []
  const c = await runtime.start(replicaOf('web', { image: 'acme/web:2' }), { onProgress: p => progress.push(p) })
  assert.is(c.image, 'acme/web:2')
  assert.equal(progress.map(p => p.status), ['Pulling', 'Pulled'])
  assert.ok(runtime.engine.hasImage('acme/web:2'))
  assert.is((await rejection(runtime.start(replicaOf('x', { image: MISSING_IMAGE })))).name, 'ImageNotFoundError')
})

test('memory: crash, emitLog and setHealth hooks show in list, logs and events', async () => {
  const runtime = new MemoryRuntime()
  const abort = new AbortController()
  const events = runtime.events({ signal: abort.signal })
  const c = await runtime.start(replicaOf('web', { command: undefined, health: { cmd: ['true'], interval: 60_000, timeout: 1, retries: 1, startPeriod: 0 } }))
  runtime.setHealth(c.id, 'unhealthy')
  runtime.emitLog(c.id, 'boom', 'stderr')
  runtime.crash(c.id, 137)
  abort.abort()
  const seen = []
  for await (const e of events) seen.push(e)
  assert.equal(seen, [
    { type: 'start', id: c.id },
    { type: 'health', id: c.id, health: 'unhealthy' },
    { type: 'die', id: c.id, exitCode: 137 }
  ])
  const [listed] = await runtime.list()
  assert.equal([listed.state, listed.exitCode, listed.health], ['exited', 137, 'unhealthy'])
  const lines = []
  for await (const line of runtime.logs(c.id)) lines.push(line.text)
  assert.equal(lines, ['boom'])
  assert.throws(() => { runtime.crash('nope') }, (err: Error) => err.name === 'ContainerNotFoundError')
})

test('memory: a host port is held by one container of the engine at a time', async () => {
  const engine = new MemoryEngine()
  const a = new MemoryRuntime({ nodeId: 'a', engine })
  const b = new MemoryRuntime({ nodeId: 'b', engine })
  const ports = [{ container: 80, host: 8080, protocol: 'tcp' as const, mode: 'host' as const }]
  const held = await a.start(replicaOf('web', { ports }))
  assert.match((await rejection(b.start(replicaOf('web', { ports })))).message, 'Port 8080/tcp is already taken')
  await a.stop(held.id)
  await b.start(replicaOf('web', { ports }))
})

test('memory: a port bound to one address leaves the port free on others, as Docker\'s bindings do', async () => {
  const runtime = new MemoryRuntime({ images: [TEST_IMAGE] })
  const on = (name: string, hostIp?: string): ReturnType<typeof replicaOf> => replicaOf(name, { ports: [{ container: 80, host: 8080, ...(hostIp === undefined ? {} : { hostIp }), protocol: 'tcp', mode: 'host' }] })
  await runtime.start(on('local', '127.0.0.1'))
  await runtime.start(on('other', '127.0.0.2'))
  assert.match((await rejection(runtime.start(on('same', '127.0.0.1')))).message, 'Port 8080/tcp is already taken on this host by acme/local#0')
  assert.match((await rejection(runtime.start(on('everywhere')))).message, 'Port 8080/tcp is already taken')
  await stopAll(runtime)
})

test('memory: ports of mode ingress are the node\'s forwarder\'s: two containers may have the same one; running containers have a modelled address', async () => {
  const runtime = new MemoryRuntime({ images: [TEST_IMAGE] })
  const ports = [{ container: 80, host: 8080, protocol: 'tcp' as const }]
  const a = await runtime.start(replicaOf('web', { ports }, { replica: 0 }))
  const b = await runtime.start(replicaOf('web', { ports }, { replica: 1 }))
  assert.match(String(a.address), /^198\.1[89]\.\d+\.\d+$/)
  assert.is.not(a.address, b.address)
  await stopAll(runtime)
})

test('memory: the sh model reads the scripts the suites use', () => {
  assert.equal(parseProgram(['sh', '-c', 'echo one; echo two >&2; sleep 0.5 && exit 3']), [
    { op: 'echo', text: 'one', stream: 'stdout' },
    { op: 'echo', text: 'two', stream: 'stderr' },
    { op: 'sleep', ms: 500 },
    { op: 'exit', code: 3 }
  ])
  assert.equal(parseProgram(['sh', '-c', 'echo "a  b"; httpd -f']), [{ op: 'echo', text: 'a  b', stream: 'stdout' }, { op: 'serve' }])
  assert.equal(parseProgram(undefined), [{ op: 'serve' }])
  assert.equal(parseProgram(['false']), [{ op: 'status', code: 1 }])
})

test.run()
