/**
 * The supervisor's decisions (core/supervision/watchdog.ts) in virtual
 * time: a daemon that goes is given the attach grace, then every container
 * of its node stops within the bound — through the engine, or, when the
 * engine is down or hung, by its process — and stays stopped until a
 * daemon attaches again. A daemon back within the grace adopts everything.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { DEFAULT_SUPERVISOR_BUDGET, hangBoundMs, supervisorBoundMs } from '../src/core/supervision/budget.js'
import { runtimeEngine } from '../src/core/supervision/runtime-engine.js'
import { Watchdog, type WatchdogInit } from '../src/core/supervision/watchdog.js'
import { MemoryRuntime, type ReplicaSpec } from '../src/runtime/index.js'
import { spec } from './core-cluster.js'
import { FakeEngine, FakeReaper, ManualClock, settle } from './supervisor-fixtures.js'

const B = DEFAULT_SUPERVISOR_BUDGET

function setup (options: Partial<WatchdogInit> = {}): { clock: ManualClock, engine: FakeEngine, reaper: FakeReaper, dog: Watchdog, done: () => boolean, lines: string[] } {
  const clock = new ManualClock()
  const engine = new FakeEngine(clock)
  const reaper = new FakeReaper(engine, clock)
  let finished = false
  const lines: string[] = []
  const dog = new Watchdog({ engine, reaper, clock, log: (l) => lines.push(l), onDone: () => { finished = true }, ...options })
  dog.start()
  return { clock, engine, reaper, dog, done: () => finished, lines }
}

test('the bound is the sum of its parts, and the default is 13.5 s (16 s for a hung daemon)', () => {
  assert.is(supervisorBoundMs(), B.detectMs + B.attachGraceMs + B.stopGraceMs + B.killMarginMs)
  assert.is(supervisorBoundMs(), 13_500)
  assert.is(hangBoundMs(), 16_000)
})

test('a daemon that goes: nothing stops during the grace, everything stops after it, then the supervisor lingers and exits', async () => {
  const { clock, engine, dog, done } = setup()
  engine.add('a'); engine.add('b', { replica: 1 })
  assert.ok(dog.attach().ok)
  await clock.advance(1000)
  const gone = clock.now()
  dog.detached(false)
  assert.is(dog.state, 'grace')
  await clock.advance(B.attachGraceMs - 1)
  assert.is(engine.running().length, 2, 'nothing stops within the grace')
  await clock.advance(1000)
  assert.is(engine.running().length, 0)
  for (const c of engine.containers.values()) {
    assert.is(c.stoppedBy, 'engine')
    assert.ok(c.stoppedAt! - gone <= supervisorBoundMs() - B.detectMs)
    assert.ok(c.removed, 'removed, so a returning daemon starts afresh and its ports are free')
  }
  assert.ok(engine.calls.includes(`stop a ${B.stopGraceMs}`), 'stopped with the stop grace')
  assert.is(dog.state, 'fenced')
  assert.not.ok(done())
  await clock.advance(30_000)
  assert.ok(done(), 'exits after lingering')
})

test('a daemon back within the grace adopts the containers: nothing stops', async () => {
  const { clock, engine, dog } = setup()
  engine.add('a')
  dog.attach()
  dog.detached(false)
  await clock.advance(B.attachGraceMs - 500)
  const again = dog.attach()
  assert.ok(again.ok)
  assert.equal(again.ok && again.rounds, [])
  await clock.advance(60_000)
  assert.is(engine.running().length, 1)
  assert.is(dog.state, 'attached')
})

test('a daemon back after the stop hears what was stopped; the fence ends and it may start containers', async () => {
  const { clock, engine, dog } = setup()
  engine.add('a')
  dog.attach()
  dog.detached(false)
  await clock.advance(B.attachGraceMs + 1000)
  const again = dog.attach()
  assert.ok(again.ok)
  if (!again.ok) return
  assert.is(again.rounds.length, 1)
  assert.equal(again.rounds[0].containers.map(c => [c.id, c.how]), [['a', 'engine']])
  assert.match(again.rounds[0].reason, /went away/)
  engine.start('new')
  await clock.advance(10_000)
  assert.ok(engine.containers.get('new')!.running, 'a container the new daemon starts is not stopped')
})

test('the engine down at that moment: the supervisor stops the processes itself, stop signal first, SIGKILL at the end of the grace', async () => {
  const { clock, engine, reaper, dog } = setup()
  engine.add('polite', { stopsAfterMs: 500 })
  engine.add('stubborn', { stopsAfterMs: Infinity })
  dog.attach()
  await clock.advance(100) // the supervisor learns their pids while the daemon is attached
  engine.mode = 'down'
  const gone = clock.now()
  dog.detached(false)
  await clock.advance(supervisorBoundMs())
  assert.is(engine.running().length, 0)
  assert.is(engine.containers.get('polite')!.stoppedBy, 'process')
  assert.ok(engine.containers.get('polite')!.stoppedAt! - gone <= B.attachGraceMs + 1000, 'the polite one stops on the stop signal')
  assert.ok(reaper.signals.includes('SIGKILL stubborn'))
  assert.ok(engine.containers.get('stubborn')!.stoppedAt! - gone <= supervisorBoundMs() - B.detectMs)
  // the engine comes back: what is left is removed, and the supervisor exits after lingering
  engine.mode = 'up'
  await clock.advance(40_000)
  assert.ok([...engine.containers.values()].every(c => c.removed === true))
  assert.is(dog.state, 'done')
})

/** a program that ignores SIGTERM, its pid learnt while attached, then the engine in `mode` and the daemon gone */
async function stubbornWhenGone (mode: FakeEngine['mode']): Promise<ReturnType<typeof setup> & { gone: number }> {
  const context = setup()
  context.engine.add('a', { stopsAfterMs: Infinity })
  context.dog.attach()
  await context.clock.advance(100)
  context.engine.mode = mode
  const gone = context.clock.now()
  context.dog.detached(false)
  return { ...context, gone }
}

test('the engine hung at that moment: SIGKILL from the supervisor within the bound', async () => {
  const { clock, engine, gone } = await stubbornWhenGone('hung')
  await clock.advance(supervisorBoundMs())
  const a = engine.containers.get('a')!
  assert.not.ok(a.running)
  assert.is(a.stoppedBy, 'process')
  assert.ok(a.stoppedAt! - gone <= supervisorBoundMs() - B.detectMs, `stopped ${a.stoppedAt! - gone} ms after the daemon went`)
})

test('the engine lists but its stop does not return: SIGKILL from the supervisor halfway through the kill margin', async () => {
  const { clock, engine, gone } = await stubbornWhenGone('slow-stop')
  await clock.advance(B.attachGraceMs + B.stopGraceMs + B.killMarginMs / 2 - 1)
  assert.ok(engine.containers.get('a')!.running, 'the engine gets its whole stop grace')
  await clock.advance(1)
  const a = engine.containers.get('a')!
  assert.not.ok(a.running)
  assert.is(a.stoppedBy, 'process')
  assert.ok(a.stoppedAt! - gone <= supervisorBoundMs() - B.detectMs)
})

test('engine down and the processes out of sight (a remote engine): unconfirmed, and the supervisor stays until it can confirm', async () => {
  const { clock, engine, reaper, dog, lines } = setup()
  reaper.visible = false
  engine.add('a')
  dog.attach()
  await clock.advance(100)
  engine.mode = 'down'
  dog.detached(false)
  await clock.advance(120_000)
  assert.is(dog.state, 'fenced', 'does not exit while a container may still run')
  assert.ok(lines.some(l => /could not be confirmed/.test(l)))
  engine.mode = 'up'
  await clock.advance(40_000)
  assert.not.ok(engine.containers.get('a')!.running)
  assert.is(dog.state, 'done')
})

test('a daemon that stops pinging counts as gone at once, without the grace', async () => {
  const { clock, engine, dog } = setup()
  engine.add('a')
  dog.attach()
  for (let i = 0; i < 5; i++) { await clock.advance(1000); dog.heard(); assert.not.ok(dog.check()) }
  await clock.advance(B.hangMs)
  assert.not.ok(dog.check(), 'silent exactly hangMs: not yet')
  await clock.advance(1)
  assert.ok(dog.check())
  await clock.advance(500)
  assert.is(engine.running().length, 0)
})

test('a container of this node that starts while no daemon is attached is stopped at once', async () => {
  const { clock, engine, dog } = setup()
  dog.attach()
  dog.detached(false)
  await clock.advance(B.attachGraceMs + 100)
  assert.is(dog.state, 'fenced')
  engine.start('late', { stopsAfterMs: Infinity })
  await clock.advance(10)
  assert.not.ok(engine.containers.get('late')!.running)
  assert.ok(engine.calls.includes('stop late 0'), 'no grace for a container that should never have started')
})

test('one daemon at a time', () => {
  const { dog } = setup()
  assert.ok(dog.attach().ok)
  const second = dog.attach()
  assert.not.ok(second.ok)
  assert.match(!second.ok ? second.error : '', /Another minga daemon/)
})

test('never attached: exits after the first-attach wait without touching anything', async () => {
  const { clock, engine, dog, done } = setup({ firstAttachMs: 5000 })
  engine.add('a')
  await clock.advance(5000)
  assert.ok(done())
  assert.is(dog.state, 'done')
  assert.is(engine.running().length, 1)
  assert.equal(engine.calls, [])
})

test('stopped by the service manager (SIGTERM to the whole unit): no grace once the daemon goes, no lingering after', async () => {
  const { clock, engine, dog, done } = setup()
  engine.add('a')
  dog.attach()
  dog.terminate()
  assert.is(dog.state, 'attached', 'it waits for its daemon')
  dog.detached(true)
  await clock.advance(200)
  assert.is(engine.running().length, 0)
  await clock.advance(10)
  assert.ok(done())
})

test('whatever the programs do on the stop signal and whenever the engine fails, every container stops within the bound', async () => {
  await fc.assert(fc.asyncProperty(
    fc.array(fc.oneof(fc.integer({ min: 0, max: 20_000 }), fc.constant(Infinity)), { minLength: 1, maxLength: 5 }),
    fc.constantFrom('up', 'down', 'hung', 'slow-stop'),
    fc.integer({ min: 0, max: 5000 }),
    async (stops, mode, attachedFor) => {
      const { clock, engine, dog } = setup()
      stops.forEach((ms, i) => engine.add(`c${i}`, { stopsAfterMs: ms, replica: i }))
      dog.attach()
      await clock.advance(attachedFor + 100)
      engine.mode = mode as FakeEngine['mode']
      const gone = clock.now()
      dog.detached(false)
      await clock.advance(supervisorBoundMs() - B.detectMs)
      assert.is(engine.running().length, 0, `still running ${supervisorBoundMs()} ms after: ${engine.running().map(c => c.id).join(', ')}`)
      for (const c of engine.containers.values()) assert.ok(c.stoppedAt! - gone >= B.attachGraceMs, 'nothing stops within the grace')
      await settle()
    }
  ), { numRuns: 60 })
})

test('over the in-memory runtime (the simulator\'s twin): a dead daemon\'s containers stop after the grace, a quick restart keeps them', async () => {
  const clock = new ManualClock()
  const runtime = new MemoryRuntime({ meshId: 'm', nodeId: 'a', now: () => clock.now(), delay: async (ms, signal) => { await clock.sleep(ms, signal) } })
  const dog = new Watchdog({ engine: runtimeEngine(runtime), reaper: new FakeReaper(new FakeEngine(clock), clock), clock })
  dog.start()
  const replica = (r: number): ReplicaSpec => ({ service: 'acme/db', replica: r, hash: 'h1', spec: spec('acme', 'db') })
  const starting = Promise.all([runtime.start(replica(0)), runtime.start(replica(1))])
  await clock.advance(10)
  await starting
  dog.attach()
  dog.detached(false)
  await clock.advance(B.attachGraceMs - 1)
  dog.attach()
  dog.detached(false)
  await clock.advance(B.attachGraceMs - 1)
  assert.is((await runtime.list()).filter(c => c.state === 'running').length, 2, 'each restart within the grace keeps them')
  await clock.advance(supervisorBoundMs())
  assert.equal(await runtime.list(), [], 'stopped and removed')
})

test.run()
