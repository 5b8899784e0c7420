/**
 * The simulator's event queue runs events by (time, insertion order) whatever
 * the mix of times, cancellations and events scheduled while others run, and
 * a busy millisecond costs its bucket, not a heap of every event.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { EventQueue, VirtualClock } from '../src/core/index.js'

test('events run by time, then in the order they were pushed; cancelled ones never; pushes while popping join their time', () => {
  const queue = new EventQueue()
  const ran: number[] = []
  const expected: Array<{ time: number, id: number }> = []
  let next = 0
  // a deterministic mix: few distinct times, many events each, a third cancelled
  let x = 7
  const rnd = (n: number): number => { x = (x * 1103515245 + 12345) % 2147483648; return x % n }
  const add = (time: number, spawn: boolean): void => {
    const id = next++
    const event = queue.push(time, () => {
      ran.push(id)
      // an event may schedule more at its own time or later: they run after what is already due then
      if (spawn && rnd(3) === 0) add(time + rnd(2), false)
    })
    if (rnd(3) === 0) event.cancelled = true
    else expected.push({ time, id })
  }
  for (let i = 0; i < 2000; i++) add(rnd(50), true)
  let now = 0
  for (;;) {
    const at = queue.peekTime()
    if (at === Infinity) break
    assert.ok(at >= now, 'time never goes back')
    now = at
    const event = queue.pop()!
    assert.is(event.time, at)
    event.fn()
  }
  // spawned events were added to `expected` when pushed, in push order: a stable sort by time is the required order
  const order = [...expected].sort((a, b) => a.time - b.time || a.id - b.id).map(e => e.id)
  assert.equal(ran, order)
  assert.is(queue.size, 0, 'nothing left, cancelled ones included')
  assert.is(queue.pop(), undefined)
})

test('the virtual clock over the queue: timers, periodic timers and cancellations at the same millisecond', async () => {
  const clock = new VirtualClock()
  const seen: string[] = []
  clock.after(10, () => seen.push('a10'))
  const cancelled = clock.after(10, () => seen.push('never'))
  clock.after(10, () => { seen.push('b10'); clock.after(0, () => seen.push('c10')) })
  cancelled.cancel()
  const every = clock.every(5, () => seen.push(`e${clock.elapsed}`))
  clock.after(16, () => every.cancel())
  await clock.run(clock.now() + 100)
  assert.equal(seen, ['e5', 'a10', 'b10', 'e10', 'c10', 'e15'])
})

test('a cancelled timer lets go of its closure at once, not when its time comes', async () => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const clock = new VirtualClock()
  // other events due at the same times: the cancelled ones are not at the front of the queue
  clock.after(10_000, () => {})
  clock.every(10_000, () => {})
  // what a request's 10 s timeout holds: the request's closures and buffers, long after its answer came
  const held = (): WeakRef<object> => {
    const request = { body: new Uint8Array(1024) }
    const timer = clock.after(10_000, () => { request.body[0] = 1 })
    timer.cancel()
    const periodic = clock.every(10_000, () => { request.body[1] = 1 })
    periodic.cancel()
    return new WeakRef(request)
  }
  const ref = held()
  await clock.run(clock.now() + 1)
  gc()
  assert.is(ref.deref(), undefined, 'the cancelled timers still hold the request')
})

test.run()
