/**
 * The supervisor's own Engine API client (supervisor/docker-engine.ts)
 * against a real engine: it lists only this node's containers in this mesh
 * (never another node's, another mesh's or an unlabelled one), with the pid
 * of what runs; sees their starts; stops with a grace and removes. And the
 * watchdog on it, with the /proc reaper: the engine's answers and the
 * processes agree.
 */
import Docker from 'dockerode'
import * as assert from 'uvu/assert'
import { test } from 'uvu'
import { systemClock } from '../src/core/clock.js'
import { Watchdog } from '../src/core/supervision/watchdog.js'
import { engineAddress } from '../src/runtime/docker-address.js'
import { DockerRuntime } from '../src/runtime/index.js'
import { SupervisorDocker } from '../src/supervisor/docker-engine.js'
import { ProcReaper } from '../src/supervisor/proc-reaper.js'
import { dockerEngineTests, dockerSocket } from './docker-fixtures.js'
import { replicaOf, waitFor } from './runtime-fixtures.js'

const socket = dockerSocket()
const { it } = await dockerEngineTests(socket)
const meshId = `sup-${process.pid}-${Date.now().toString(36)}`
const TRAPPING = ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"]

it('docker: the supervisor lists, watches, stops and removes only its own node\'s containers', async () => {
  const mine = new DockerRuntime({ meshId, nodeId: 'a', socketPath: socket })
  const theirs = new DockerRuntime({ meshId, nodeId: 'b', socketPath: socket })
  const engine = new SupervisorDocker({ address: engineAddress(socket), meshId, nodeId: 'a' })
  const docker = new Docker({ socketPath: socket })
  const watching = new AbortController()
  const starts: string[] = []
  const watch = (async () => { try { for await (const id of engine.starts({ signal: watching.signal })) starts.push(id) } catch {} })()
  const unlabelled = await docker.createContainer({ Image: 'minga/busybox:1', Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'none' } })
  try {
    await unlabelled.start()
    const a = await mine.start(replicaOf('web', { command: TRAPPING }))
    const b = await theirs.start(replicaOf('web', { command: TRAPPING }))
    const listed = await engine.list()
    assert.equal(listed.map(c => c.id), [a.id], 'only node a\'s container of this mesh')
    assert.is(listed[0].service, 'acme/web')
    assert.ok(listed[0].running)
    const pid = listed[0].pid!
    assert.ok(pid > 1, 'the pid of its main process')
    await waitFor('its start event', async () => starts.includes(a.id) ? true : undefined)
    assert.not.ok(starts.includes(b.id), 'another node\'s start is not ours')

    await engine.stop(a.id, 5000)
    assert.not.ok((await engine.list())[0].running)
    await engine.remove(a.id)
    await engine.remove(a.id)
    assert.equal(await engine.list(), [])
    assert.is((await theirs.list())[0].state, 'running', 'node b\'s container is untouched')
    assert.is((await unlabelled.inspect()).State.Running, true, 'the unlabelled container is untouched')
  } finally {
    watching.abort()
    await watch
    await unlabelled.remove({ force: true }).catch(() => {})
    for (const runtime of [mine, theirs]) {
      for (const c of await runtime.list()) await runtime.stop(c.id, { graceMs: 0 })
      await runtime.close()
    }
  }
})

it('docker: the watchdog with a real engine and /proc: a daemon that goes has its containers stopped after the grace, and they stay stopped', async () => {
  const runtime = new DockerRuntime({ meshId, nodeId: 'c', socketPath: socket })
  const engine = new SupervisorDocker({ address: engineAddress(socket), meshId, nodeId: 'c' })
  const reaper = new ProcReaper()
  const budget = { detectMs: 500, attachGraceMs: 200, stopGraceMs: 3000, killMarginMs: 2000, hangMs: 6000, pingMs: 1000 }
  const dog = new Watchdog({ engine, reaper, clock: systemClock, budget, lingerMs: 60_000 })
  dog.start()
  try {
    const c = await runtime.start(replicaOf('db', { command: TRAPPING }))
    dog.attach()
    await waitFor('the supervisor knows its pid', async () => reaper.alive(c.id) === true ? true : undefined)
    dog.detached(false)
    await waitFor('the container is stopped and removed', async () => (await runtime.list()).length === 0 ? true : undefined, 30_000)
    assert.is(reaper.alive(c.id), undefined, 'forgotten once the engine confirmed')
    assert.is(dog.state, 'fenced')
    const late = await runtime.start(replicaOf('db', { command: TRAPPING }, { hash: 'ffffffffffff' }))
    await waitFor('a container started with no daemon is stopped at once', async () => (await runtime.list()).every(x => x.id !== late.id || x.state === 'exited') ? true : undefined, 30_000)
  } finally {
    dog.stop()
    for (const c of await runtime.list()) await runtime.stop(c.id, { graceMs: 0 })
    await runtime.close()
  }
})

test.run()
