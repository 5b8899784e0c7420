/**
 * The simulator's CPU model (core/cpu-model.ts, NodeClock): a charged step
 * runs once its CPU is done, a busy node's timers and arrivals wait in the
 * event loop's order, and nodes on one machine queue for its cores
 */
import '../src/polyfill.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CorePool, NodeClock, VirtualClock, type CpuModel } from '../src/core/index.js'
import { advance } from './virtual-clock.js'

test('a machine\'s cores are taken first come, first served and held for the whole step', () => {
  const pool = new CorePool(2)
  assert.equal([0, 0, 0, 0].map(() => pool.reserve(0, 10)), [10, 10, 20, 20])
  // a step that may start later than every core is free starts then
  assert.is(pool.reserve(100, 5), 105)
  assert.throws(() => new CorePool(0), /1 or more cores/)
  assert.throws(() => new CorePool(1.5), /1 or more cores/)
})

test('a charged arrival runs once its CPU is done; what comes meanwhile waits: the paid step, then timers, then arrivals', async () => {
  const sim = new VirtualClock()
  const t0 = sim.now()
  const clock = new NodeClock(sim, { costs: { gossip: 5, message: 1 }, cores: new CorePool(1) })
  const seen: string[] = []
  const at = (what: string) => () => { seen.push(`${what}@${sim.now() - t0}`) }
  clock.io(at('gossip'), 'gossip')
  clock.after(2, at('timer'))
  sim.after(3, () => { clock.io(at('message'), 'message') })
  sim.after(3, () => { clock.io(at('free'), undefined) })
  await advance(sim, 20)
  // the message's 1 ms starts when the gossip's 5 end; a step without a cost waits its turn, but costs nothing
  assert.equal(seen, ['gossip@5', 'timer@5', 'message@6', 'free@6'])
})

test('work() resolves once the step is done; a clock without a model has no work() and runs arrivals at once', async () => {
  const sim = new VirtualClock()
  const t0 = sim.now()
  const clock = new NodeClock(sim, { costs: { pass: 6 }, cores: new CorePool(1) })
  let doneAt = -1
  void clock.work!('pass').then(() => { doneAt = sim.now() - t0 })
  await advance(sim, 10)
  assert.is(doneAt, 6)
  const free = new NodeClock(sim)
  assert.is(free.work, undefined)
  let ran = false
  free.io(() => { ran = true }, 'pass')
  assert.ok(ran)
})

test('ten nodes on one machine of two cores queue for them; a node of its own does not wait for the others', async () => {
  const sim = new VirtualClock()
  const t0 = sim.now()
  const machine = new CorePool(2)
  const model = (cores: CorePool): CpuModel => ({ costs: { gossip: 10 }, cores })
  const shared = Array.from({ length: 10 }, () => new NodeClock(sim, model(machine)))
  const alone = new NodeClock(sim, model(new CorePool(1)))
  const ends: number[] = []
  let aloneAt = -1
  for (const clock of shared) clock.io(() => { ends.push(sim.now() - t0) }, 'gossip')
  alone.io(() => { aloneAt = sim.now() - t0 }, 'gossip')
  await advance(sim, 100)
  assert.equal(ends, [10, 10, 20, 20, 30, 30, 40, 40, 50, 50])
  assert.is(aloneAt, 10)
})

test('a periodic timer due while the node is stalled runs once when it resumes, as setInterval does, then on its schedule', async () => {
  const sim = new VirtualClock()
  const t0 = sim.now()
  const clock = new NodeClock(sim)
  const ticks: number[] = []
  const timer = clock.every(100, () => { ticks.push(sim.now() - t0) })
  clock.stall(350)
  await advance(sim, 520)
  assert.equal(ticks, [350, 400, 500])
  // stalled again: the tick of 600 waits; the timer is cancelled before the node resumes at 670
  clock.stall(150)
  sim.after(90, () => { timer.cancel() })
  await advance(sim, 300)
  assert.equal(ticks, [350, 400, 500], 'a cancelled timer\'s late tick does not run')
})

test('processes that spend CPU in the background slow every step on their machine by their share, until they die', async () => {
  const sim = new VirtualClock()
  const machine = new CorePool(2)
  const busy = Array.from({ length: 4 }, () => new NodeClock(sim, { costs: {}, cores: machine, idle: 250 }))
  const node = new NodeClock(sim, { costs: { gossip: 10 }, cores: machine })
  const t0 = sim.now()
  let doneAt = -1
  // four processes taking a quarter of a core each: half of the two cores, so 10 ms of work take 20
  node.io(() => { doneAt = sim.now() - t0 }, 'gossip')
  await advance(sim, 50)
  assert.is(doneAt, 20)
  for (const clock of busy.slice(0, 3)) clock.kill()
  busy[0].kill()
  const t1 = sim.now()
  node.io(() => { doneAt = sim.now() - t1 }, 'gossip')
  await advance(sim, 50)
  // one left (an eighth of the machine; a second kill of the same process gives nothing back twice)
  assert.is(doneAt, Math.ceil(10 / (1 - 0.125)), '11.4 ms, on a clock of whole ms')
  assert.throws(() => machine.occupy(1001), /0 to 1000 ms/)
})

test('a process killed while busy never runs the step it was paying for', async () => {
  const sim = new VirtualClock()
  const clock = new NodeClock(sim, { costs: { gossip: 5 }, cores: new CorePool(1) })
  let ran = false
  clock.io(() => { ran = true }, 'gossip')
  sim.after(2, () => { clock.kill() })
  await advance(sim, 20)
  assert.not.ok(ran)
})

test.run()
