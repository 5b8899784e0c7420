/**
 * The forwarding decision in virtual time: a local replica first, the next
 * replica when one fails before any byte flowed, a refusal that another
 * replica would repeat ends the attempt, and with no replica left the
 * connection waits for the view to change — a failover — for at most
 * `holdMs`.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Clock, Timer } from '../src/core/clock.js'
import { Forwarder, type ConnectRequest, type ForwardDialer, type ReplicaDirectory } from '../src/core/ingress/forwarder.js'
import { ForwardProtocolError } from '@minga/protocol'
import type { ReplicaLocation } from '../src/core/ingress/choose.js'

/** time moves only when the test says so */
class ManualClock implements Clock {
  private time = 0
  private timers: Array<{ at: number, fn: () => void, cancelled: boolean }> = []

  now (): number { return this.time }

  after (ms: number, fn: () => void): Timer {
    const timer = { at: this.time + ms, fn, cancelled: false }
    this.timers.push(timer)
    return { cancel: () => { timer.cancelled = true } }
  }

  every (): Timer { throw new Error('not used') }

  async sleep (ms: number, signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) { reject(signal.reason); return }
      const timer = this.after(ms, resolve)
      signal?.addEventListener('abort', () => { timer.cancel(); reject(signal.reason) }, { once: true })
    })
  }

  /** move time forward, firing due timers in order, letting promises settle between them */
  async advance (ms: number): Promise<void> {
    const until = this.time + ms
    while (true) {
      await settle()
      const due = this.timers.filter(t => !t.cancelled && t.at <= until).sort((a, b) => a.at - b.at)[0]
      if (due === undefined) break
      this.time = due.at
      due.cancelled = true
      due.fn()
    }
    this.time = until
    await settle()
  }
}

async function settle (): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve))
}

class Directory implements ReplicaDirectory {
  replicas: ReplicaLocation[] = []
  private waiters: Array<() => void> = []
  healthy = (): ReplicaLocation[] => this.replicas
  changed = async (signal: AbortSignal): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      this.waiters.push(resolve)
      signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    })
  }

  set (replicas: ReplicaLocation[]): void {
    this.replicas = replicas
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }
}

type Outcome = 'ok' | 'refused' | 'forbidden' | 'hang'

function dialer (outcomes: Map<string, Outcome>, tried: string[]): ForwardDialer<string> {
  const dial = async (node: string, signal: AbortSignal): Promise<string> => {
    tried.push(node)
    const outcome = outcomes.get(node) ?? 'refused'
    if (outcome === 'ok') return `channel to ${node}`
    if (outcome === 'forbidden') throw new ForwardProtocolError('forbidden', 'not exposed')
    if (outcome === 'refused') throw new ForwardProtocolError('refused', 'connection refused')
    return await new Promise<string>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))
  }
  return {
    local: async (_target, options) => await dial('self', options.signal),
    remote: async (node, _request, options) => await dial(node, options.signal)
  }
}

const request: ConnectRequest = { service: 'acme/web', port: 80, via: 'port', proxyProtocol: false, client: { address: '203.0.113.7', port: 1 }, local: { address: '127.0.0.1', port: 8080 } }

function setup (outcomes: Record<string, Outcome>, replicas: ReplicaLocation[]): { forwarder: Forwarder<string>, clock: ManualClock, directory: Directory, tried: string[] } {
  const clock = new ManualClock()
  const directory = new Directory()
  directory.replicas = replicas
  const tried: string[] = []
  const forwarder = new Forwarder({ self: 'self', clock, replicas: directory, dialer: dialer(new Map(Object.entries(outcomes)), tried) }, { holdMs: 30_000, attemptMs: 5000 })
  return { forwarder, clock, directory, tried }
}

test('a healthy local replica takes the connection without a hop; its load is counted until released', async () => {
  const { forwarder, tried } = setup({ self: 'ok', a: 'ok' }, [{ node: 'a', replica: 0 }, { node: 'self', replica: 1 }])
  const forwarded = await forwarder.connect(request)
  assert.equal([forwarded.channel, forwarded.node, forwarded.replica], ['channel to self', 'self', 1])
  assert.equal(tried, ['self'])
  assert.is(forwarder.load.get('self'), 1)
  forwarded.release()
  forwarded.release()
  assert.is(forwarder.load.get('self'), undefined)
})

test('a replica that refuses or does not answer in time is skipped: the next one takes the connection, and the failed node goes last for a while', async () => {
  const { forwarder, clock, tried } = setup({ a: 'refused', b: 'hang', c: 'ok' }, [{ node: 'a', replica: 0 }, { node: 'b', replica: 1 }, { node: 'c', replica: 2 }])
  const pending = forwarder.connect(request)
  await clock.advance(5000)
  const forwarded = await pending
  assert.is(forwarded.node, 'c')
  assert.equal(tried, ['a', 'b', 'c'])
  tried.length = 0
  await forwarder.connect(request)
  assert.equal(tried, ['c'], 'a and b failed a moment ago: c first')
})

test('a refusal that every replica would repeat (forbidden) ends the attempt at once', async () => {
  const { forwarder, tried } = setup({ a: 'forbidden', b: 'ok' }, [{ node: 'a', replica: 0 }, { node: 'b', replica: 1 }])
  await forwarder.connect(request).then(() => assert.unreachable('connected'), (err: Error) => assert.is(err.name, 'ForwardProtocolError'))
  assert.equal(tried, ['a'])
})

test('failover: with no replica taking it, the connection waits for the view to change and then connects', async () => {
  // the replica's node was killed; the view still lists it until the failure detector says otherwise
  const { forwarder, clock, directory, tried } = setup({ dead: 'refused', fresh: 'ok' }, [{ node: 'dead', replica: 0 }])
  let done: string | undefined
  const pending = forwarder.connect(request).then(f => { done = f.node })
  await clock.advance(3000)
  assert.is(done, undefined, 'still waiting')
  assert.ok(tried.length > 1 && tried.every(n => n === 'dead'), 'it tried again with a back-off')
  assert.ok(tried.length <= 8, `backs off (${tried.length} attempts in 3 s)`)
  directory.set([{ node: 'fresh', replica: 0 }])
  await clock.advance(0)
  await pending
  assert.is(done, 'fresh')
})

test('an attempt to a node the view stops listing (declared dead; its host answers nothing) ends then, not at the attempt timeout', async () => {
  const { forwarder, clock, directory, tried } = setup({ vanished: 'hang', b: 'ok' }, [{ node: 'vanished', replica: 0 }, { node: 'b', replica: 1 }])
  let done: string | undefined
  const pending = forwarder.connect(request).then(f => { done = f.node })
  await clock.advance(1500)
  assert.is(done, undefined, 'waiting on the vanished node')
  // the failure detector declares it dead 1.5 s in; an unrelated change first must not end the attempt
  directory.set([{ node: 'vanished', replica: 0 }, { node: 'b', replica: 1 }])
  await clock.advance(0)
  assert.is(done, undefined, 'still listed: still waiting')
  directory.set([{ node: 'b', replica: 1 }])
  await clock.advance(0)
  assert.is(done, 'b', 'connected when the node left the view (1.5 s), not after attemptMs (5 s)')
  assert.equal(tried, ['vanished', 'b'])
  await clock.advance(5000)
  await pending
})

test('no replica within holdMs: NoReplicaError says what was tried', async () => {
  const { forwarder, clock } = setup({ a: 'refused' }, [{ node: 'a', replica: 0 }])
  let failure: Error | undefined
  const pending = forwarder.connect(request).catch((err: Error) => { failure = err })
  await clock.advance(29_000)
  assert.is(failure, undefined)
  await clock.advance(2000)
  await pending
  assert.is(failure?.name, 'NoReplicaError')
  assert.match(failure!.message, /^No replica of acme\/web took the connection within 30 s \(tried: a#0: connection refused\)$/)
  const none = setup({}, [])
  const nothing = none.forwarder.connect(request).catch((err: Error) => err)
  await none.clock.advance(31_000)
  assert.match((await nothing as Error).message, 'none is healthy')
})

test('the caller\'s signal ends the wait', async () => {
  const { forwarder } = setup({}, [])
  const controller = new AbortController()
  const pending = forwarder.connect(request, { signal: controller.signal }).catch((err: Error) => err)
  await settle()
  controller.abort(new Error('client went away'))
  assert.is((await pending as Error).message, 'client went away')
})

test.run()
