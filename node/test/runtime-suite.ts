/**
 * The conformance suite every Runtime passes: the Docker adapter and the
 * in-memory model behave alike for what the node core relies on.
 *
 * The setup's engine must have the test image (`minga/busybox:1`, see
 * scripts/test-image.sh) and must not have `minga/nope:1`. The specs use a
 * few busybox commands that the memory runtime models (memory-program.ts).
 */
import * as assert from 'uvu/assert'
import type { Runtime, RuntimeContainer, RuntimeEvent } from '../src/runtime/index.js'
import { MISSING_IMAGE, TEST_IMAGE, collectUntil, rejection, replicaOf, waitFor } from './runtime-fixtures.js'

export interface RuntimeSetup {
  runtime: Runtime
  /** a runtime of another node (same mesh) on the same engine */
  other: Runtime
  /** stop what the test left running and close both runtimes */
  cleanup: () => Promise<void>
}

const FAST_HEALTH = { interval: 200, timeout: 2000, retries: 2, startPeriod: 0 }

async function listed (runtime: Runtime, id: string): Promise<RuntimeContainer | undefined> {
  return (await runtime.list()).find(c => c.id === id)
}

/** `register` is uvu's `test`, or `test.skip` where the runtime cannot run here */
export function runRuntimeTests (name: string, register: (title: string, fn: () => Promise<void>) => void, setup: () => Promise<RuntimeSetup>): void {
  const it = (title: string, body: (s: RuntimeSetup) => Promise<void>): void => {
    register(`${name}: ${title}`, async () => {
      const s = await setup()
      try { await body(s) } finally { await s.cleanup() }
    })
  }

  it('a started replica is listed running, with its service, replica, hash and image', async ({ runtime }) => {
    const before = Date.now()
    const c = await runtime.start(replicaOf('web', {}, { replica: 2, hash: 'feedbeef0001' }))
    assert.is(c.state, 'running')
    const seen = await listed(runtime, c.id)
    assert.ok(seen, 'listed')
    assert.is(seen.service, 'acme/web')
    assert.is(seen.replica, 2)
    assert.is(seen.hash, 'feedbeef0001')
    assert.is(seen.image, TEST_IMAGE)
    assert.is(seen.state, 'running')
    assert.is(seen.health, 'none')
    assert.ok(seen.startedAt !== undefined && seen.startedAt >= before - 2000 && seen.startedAt <= Date.now() + 2000, `startedAt ${seen.startedAt}`)
  })

  it('starting a replica that already runs returns it and starts no second copy', async ({ runtime }) => {
    const first = await runtime.start(replicaOf('web'))
    const second = await runtime.start(replicaOf('web'))
    assert.is(second.id, first.id)
    assert.is((await runtime.list()).length, 1)
  })

  it('a missing image fails with ImageNotFoundError and leaves nothing behind', async ({ runtime }) => {
    const err = await rejection(runtime.start(replicaOf('ghost', { image: MISSING_IMAGE })))
    assert.is(err.name, 'ImageNotFoundError')
    assert.match(err.message, MISSING_IMAGE)
    assert.match(err.message, 'minga image push')
    assert.equal(await runtime.list(), [])
  })

  it('stop removes the container; stopping it again or an unknown id is fine', async ({ runtime }) => {
    const c = await runtime.start(replicaOf('web'))
    await runtime.stop(c.id, { graceMs: 2000 })
    assert.is(await listed(runtime, c.id), undefined)
    await runtime.stop(c.id)
    await runtime.stop('nope')
    await runtime.stop('0'.repeat(64))
  })

  it('a container that exits is listed exited, with its exit code', async ({ runtime }) => {
    const c = await runtime.start(replicaOf('job', { command: ['sh', '-c', 'exit 3'] }))
    const exited = await waitFor('exit', async () => {
      const seen = await listed(runtime, c.id)
      return seen?.state === 'exited' ? seen : undefined
    })
    assert.is(exited.exitCode, 3)
    assert.is(exited.health, 'none')
  })

  it('a passing health check turns healthy, a failing one unhealthy, and events say so', async ({ runtime }) => {
    const abort = new AbortController()
    const events = runtime.events({ signal: abort.signal })
    try {
      const good = await runtime.start(replicaOf('good', { health: { cmd: ['true'], ...FAST_HEALTH } }))
      const bad = await runtime.start(replicaOf('bad', { health: { cmd: ['false'], ...FAST_HEALTH } }))
      assert.ok(good.health === 'starting' || good.health === 'healthy', good.health)
      await waitFor('healthy', async () => (await listed(runtime, good.id))?.health === 'healthy' ? true : undefined)
      await waitFor('unhealthy', async () => (await listed(runtime, bad.id))?.health === 'unhealthy' ? true : undefined)
      assert.is((await listed(runtime, bad.id))?.state, 'running')
      const seen = await collectUntil('both health events', events, all => all.filter(e => e.type === 'health').length >= 2)
      assert.ok(seen.some(e => e.type === 'health' && e.id === good.id && e.health === 'healthy'), 'healthy event')
      assert.ok(seen.some(e => e.type === 'health' && e.id === bad.id && e.health === 'unhealthy'), 'unhealthy event')
    } finally {
      abort.abort()
    }
  })

  it('minga runs the first health probe itself: a 30 s interval is healthy long before 30 s, with one healthy event', async ({ runtime }) => {
    const abort = new AbortController()
    const events = runtime.events({ signal: abort.signal })
    try {
      const slow = { interval: 30_000, timeout: 5000, retries: 3, startPeriod: 0 }
      const c = await runtime.start(replicaOf('slow', { health: { cmd: ['sh', '-c', 'echo ready'], ...slow } }))
      // Docker alone would say healthy after 30 s; 20 s leaves a loaded host room
      const healthy = await waitFor('healthy before the first interval', async () => {
        const seen = await listed(runtime, c.id)
        return seen?.health === 'healthy' ? seen : undefined
      }, 20_000)
      assert.equal(healthy.probe, { exitCode: 0, output: 'ready' })
      const seen = await collectUntil('the healthy event', events, all => all.some(e => e.type === 'health' && e.id === c.id))
      assert.equal(seen.flatMap(e => e.type === 'health' && e.id === c.id ? [e.health] : []), ['healthy'])
    } finally {
      abort.abort()
    }
  })

  it('a warm standby is created, not started; a start of its replica and hash starts that container; stop removes one', async ({ runtime }) => {
    assert.ok(runtime.prepare, 'the runtime keeps warm standbys')
    const standby = await runtime.prepare(replicaOf('web', { health: { cmd: ['true'], ...FAST_HEALTH } }, { hash: 'feedbeef0002' }))
    assert.is(standby.state, 'created')
    assert.is(standby.standby, true)
    assert.is((await listed(runtime, standby.id))?.standby, true)
    // preparing again finds it
    assert.is((await runtime.prepare(replicaOf('web', { health: { cmd: ['true'], ...FAST_HEALTH } }, { hash: 'feedbeef0002' }))).id, standby.id)
    // a standby of another hash is not what a start of this one starts
    const stale = await runtime.prepare(replicaOf('web', {}, { replica: 1, hash: 'feedbeef0003' }))
    const started = await runtime.start(replicaOf('web', { health: { cmd: ['true'], ...FAST_HEALTH } }, { hash: 'feedbeef0002' }))
    assert.is(started.id, standby.id, 'the standby container was started, not a new one created')
    assert.is(started.state, 'running')
    assert.is(started.standby, undefined)
    await waitFor('healthy', async () => (await listed(runtime, standby.id))?.health === 'healthy' ? true : undefined)
    await runtime.stop(stale.id)
    assert.equal((await runtime.list()).map(c => c.id), [standby.id])
  })

  it('a failing health check leaves its last probe: exit code and output, on one bounded line', async ({ runtime }) => {
    const failing = await runtime.start(replicaOf('sick', { health: { cmd: ['sh', '-c', 'echo database   not ready; echo retry later; exit 3'], ...FAST_HEALTH } }))
    const sick = await waitFor('unhealthy', async () => { const c = await listed(runtime, failing.id); return c?.health === 'unhealthy' ? c : undefined })
    assert.equal(sick.probe, { exitCode: 3, output: 'database not ready retry later' })
    const passing = await runtime.start(replicaOf('fine', { health: { cmd: ['sh', '-c', 'echo ok'], ...FAST_HEALTH } }))
    const fine = await waitFor('healthy', async () => { const c = await listed(runtime, passing.id); return c?.health === 'healthy' ? c : undefined })
    assert.equal(fine.probe, { exitCode: 0, output: 'ok' })
  })

  it('logs give stdout and stderr lines in order, with times; tail and since narrow them', async ({ runtime }) => {
    const before = Date.now()
    // Docker reads stdout and stderr apart: lines printed in the same instant may swap
    const c = await runtime.start(replicaOf('talk', { command: ['sh', '-c', 'echo one; sleep 0.2; echo two >&2; sleep 60'] }))
    const lines = await waitFor('two lines', async () => {
      const got = []
      for await (const line of runtime.logs(c.id)) got.push(line)
      return got.length >= 2 ? got : undefined
    })
    assert.equal(lines.map(l => [l.stream, l.text]), [['stdout', 'one'], ['stderr', 'two']])
    assert.ok(lines[0].time <= lines[1].time, 'in time order')
    assert.ok(lines[0].time >= before - 2000 && lines[1].time <= Date.now() + 2000, 'times are wall-clock ms')
    const tail = []
    for await (const line of runtime.logs(c.id, { tail: 1 })) tail.push(line.text)
    assert.equal(tail, ['two'])
    const since = []
    for await (const line of runtime.logs(c.id, { since: lines[1].time + 1 })) since.push(line.text)
    assert.equal(since, [])
  })

  it('logs with follow yield a line printed later, and end on abort', async ({ runtime }) => {
    const c = await runtime.start(replicaOf('later', { command: ['sh', '-c', 'echo one; sleep 1; echo later; sleep 60'] }))
    const abort = new AbortController()
    try {
      const lines = await collectUntil('the later line', runtime.logs(c.id, { follow: true, signal: abort.signal }), seen => seen.some(l => l.text === 'later'))
      assert.equal(lines.map(l => l.text), ['one', 'later'])
      assert.ok(lines[1].time - lines[0].time >= 500, `printed a second apart: ${lines[1].time - lines[0].time} ms`)
    } finally {
      abort.abort()
    }
    const ended = new AbortController()
    const stream = runtime.logs(c.id, { follow: true, signal: ended.signal })
    setTimeout(() => { ended.abort() }, 300)
    const all = await collectUntil('the end of the stream', { [Symbol.asyncIterator]: () => wrapEnd(stream) }, seen => seen.at(-1) === 'end')
    assert.equal(all.slice(0, -1).length, 2)
  })

  /** the replica's log lines once it printed `count` of them */
  const printed = async (runtime: Runtime, id: string, count: number): Promise<string[]> => await waitFor(`${count} lines`, async () => {
    const got: string[] = []
    for await (const line of runtime.logs(id)) got.push(line.text)
    return got.length >= count ? got : undefined
  })

  it('an entrypoint replaces the image\'s, and the command follows it as its arguments', async ({ runtime }) => {
    const c = await runtime.start(replicaOf('words', { entrypoint: ['echo'], command: ['hello', 'world'] }))
    assert.equal(await printed(runtime, c.id, 1), ['hello world'])
    const exited = await waitFor('exit', async () => (await listed(runtime, c.id))?.state === 'exited' ? (await listed(runtime, c.id)) : undefined)
    assert.is(exited.exitCode, 0)
  })

  it('files are in the container when its program starts, and it runs as the given user', async ({ runtime }) => {
    const files = [
      { path: '/etc/app/app.conf', content: Buffer.from('mode=fast\nlevel=2\n'), mode: 0o444 },
      { path: '/run/secrets/token', content: Buffer.from('s3cret\n'), mode: 0o400, uid: 1234 }
    ]
    const c = await runtime.start({
      ...replicaOf('reader', { user: '1234:5678', command: ['sh', '-c', 'cat /etc/app/app.conf; cat /run/secrets/token; id -u; id -g; sleep 60'] }),
      files
    })
    assert.equal(await printed(runtime, c.id, 5), ['mode=fast', 'level=2', 's3cret', '1234', '5678'])
  })

  it('logs of an unknown container fail with ContainerNotFoundError', async ({ runtime }) => {
    const err = await rejection((async () => { for await (const _ of runtime.logs('0'.repeat(64))) { /* until it fails */ } })())
    assert.is(err.name, 'ContainerNotFoundError')
  })

  it('events report start, die with the exit code, and remove; they end on abort', async ({ runtime }) => {
    const abort = new AbortController()
    const events = runtime.events({ signal: abort.signal })
    const c = await runtime.start(replicaOf('job', { command: ['sh', '-c', 'sleep 0.3; exit 7'] }))
    const seen: RuntimeEvent[] = await collectUntil('start and die', events, all => all.some(e => e.type === 'die' && e.id === c.id))
    const mine = seen.filter(e => e.id === c.id)
    assert.equal(mine.map(e => e.type), ['start', 'die'])
    assert.equal(mine[1], { type: 'die', id: c.id, exitCode: 7 })
    const more = runtime.events({ signal: abort.signal })
    await runtime.stop(c.id)
    await collectUntil('remove', more, all => all.some(e => e.type === 'remove' && e.id === c.id))
    const finished = runtime.events({ signal: abort.signal })
    setTimeout(() => { abort.abort() }, 200)
    await collectUntil('the end of the stream', { [Symbol.asyncIterator]: () => wrapEnd(finished) }, all => all.at(-1) === 'end')
  })

  it('a node never sees, stops or reads another node\'s containers', async ({ runtime, other }) => {
    const abort = new AbortController()
    const events = runtime.events({ signal: abort.signal })
    try {
      const theirs = await other.start(replicaOf('web'))
      const ours = await runtime.start(replicaOf('web'))
      assert.is.not(ours.id, theirs.id)
      assert.equal((await runtime.list()).map(c => c.id), [ours.id])
      assert.equal((await other.list()).map(c => c.id), [theirs.id])
      await runtime.stop(theirs.id)
      assert.ok(await listed(other, theirs.id), 'still running on the other node')
      const err = await rejection((async () => { for await (const _ of runtime.logs(theirs.id)) { /* until it fails */ } })())
      assert.is(err.name, 'ContainerNotFoundError')
      const seen = await collectUntil('our start', events, all => all.some(e => e.id === ours.id))
      assert.ok(seen.every(e => e.id !== theirs.id), 'no events of the other node')
    } finally {
      abort.abort()
    }
  })

  it('a command runs in a running container (backup hooks): its exit code and output; another node\'s container is not reached', async ({ runtime, other }) => {
    const c = await runtime.start(replicaOf('hooked', { command: ['sleep', '600'] }))
    const result = await runtime.exec!(c.id, ['sh', '-c', 'echo dumped; exit 3'], { timeoutMs: 30_000 })
    assert.is(result.exitCode, 3)
    assert.match(result.output, /dumped/)
    assert.is((await runtime.exec!(c.id, ['true'], { timeoutMs: 30_000 })).exitCode, 0)
    assert.is((await rejection(other.exec!(c.id, ['true'], { timeoutMs: 30_000 }))).name, 'ContainerNotFoundError')
    await runtime.stop(c.id)
  })

  it('capacity is positive', async ({ runtime }) => {
    const capacity = await runtime.capacity()
    assert.ok(capacity.cpu > 0 && capacity.memory > 0, JSON.stringify(capacity))
  })
}

/** yields the stream's items, then 'end' once it finishes */
async function * wrapEnd<T> (source: AsyncIterable<T>): AsyncGenerator<T | 'end'> {
  yield * source
  yield 'end'
}
