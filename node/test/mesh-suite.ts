/**
 * The conformance suite every `Mesh` passes: Libp2pMesh over real TCP
 * (mesh-libp2p.test.ts), the simulator's SimMesh on virtual time
 * (simulations/test/sim-mesh.test.ts) and the core tests' LocalMesh
 * (mesh-local.test.ts). What the core relies on: gossip reaches the other
 * subscribers with the authenticated sender as `from`, and stops at
 * unsubscribe; a request gets its handler's answer, or rejects (no handler,
 * a handler that throws, an aborted signal); a stream delivers its frames
 * in order; a peer whose process dies is reported disconnected, and a probe
 * of it is refused.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Mesh } from '../src/core/mesh.js'

export interface MeshHarness {
  /** three meshes of one mesh network, each a member the others admit */
  meshes: Mesh[]
  /** until `predicate` holds: real meshes poll it, a simulated one runs its clock; throws naming `what` when it never does */
  until: (what: string, predicate: () => boolean | Promise<boolean>) => Promise<void>
  /** the promise settled: a simulated mesh runs its clock until it is */
  settle: <T>(promise: Promise<T>) => Promise<T>
  /** the process of `meshes[index]` dies, its host stays up (a reset answers a dial) */
  kill: (index: number) => Promise<void>
  close: () => Promise<void>
}

const enc = new TextEncoder()
const dec = new TextDecoder()

async function rejection (harness: MeshHarness, promise: Promise<unknown>): Promise<Error> {
  try {
    await harness.settle(promise)
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a rejection')
}

/** registers the suite's tests under `name`; each gets a fresh harness from `setup` */
export function runMeshTests (name: string, setup: () => Promise<MeshHarness>): void {
  const withHarness = (title: string, body: (h: MeshHarness) => Promise<void>): void => {
    test(`${name}: ${title}`, async () => {
      const harness = await setup()
      try {
        await body(harness)
      } finally {
        await harness.close()
      }
    })
  }

  withHarness('gossip reaches the other subscribers, from the authenticated sender, and stops at unsubscribe', async (h) => {
    const [a, b, c] = h.meshes
    const heard = new Map<string, Array<{ text: string, from: string }>>([[a.self, []], [b.self, []], [c.self, []]])
    const offs = h.meshes.map(m => m.subscribe('suite/topic', (data, from) => heard.get(m.self)!.push({ text: dec.decode(data), from })))
    let n = 0
    // gossip needs its overlay: publish until both others hear one
    await h.until('b and c hear a', () => {
      a.publish('suite/topic', enc.encode(`hello ${n++}`))
      return heard.get(b.self)!.length > 0 && heard.get(c.self)!.length > 0
    })
    for (const m of [b, c]) assert.ok(heard.get(m.self)!.every(h => h.from === a.self && h.text.startsWith('hello ')), 'from is the publisher')
    assert.is(heard.get(a.self)!.length, 0, 'a publisher does not hear itself')
    offs[1]()
    const before = heard.get(b.self)!.length
    const cBefore = heard.get(c.self)!.length
    await h.until('c hears a again', () => {
      a.publish('suite/topic', enc.encode(`again ${n++}`))
      return heard.get(c.self)!.length > cBefore
    })
    assert.is(heard.get(b.self)!.length, before, 'nothing after unsubscribe')
  })

  withHarness('a request gets its handler\'s answer; the handler sees the requester as from', async (h) => {
    const [a, b] = h.meshes
    b.handle('/suite/echo/1', async (data, from) => enc.encode(`${from}:${dec.decode(data)}`))
    const answer = await h.settle(a.request(b.self, '/suite/echo/1', enc.encode('ping')))
    assert.is(dec.decode(answer), `${a.self}:ping`)
    const big = new Uint8Array(256 * 1024).fill(7)
    b.handle('/suite/size/1', async (data) => enc.encode(String(data.length)))
    assert.is(dec.decode(await h.settle(a.request(b.self, '/suite/size/1', big))), String(big.length), 'a large request arrives whole')
  })

  withHarness('a request rejects when nobody handles the protocol, when the handler throws, and when its signal aborts', async (h) => {
    const [a, b] = h.meshes
    assert.ok(await rejection(h, a.request(b.self, '/suite/nobody/1', enc.encode('x'))) instanceof Error)
    b.handle('/suite/throws/1', async () => { throw new Error('handler failed') })
    assert.ok(await rejection(h, a.request(b.self, '/suite/throws/1', enc.encode('x'))) instanceof Error)
    b.handle('/suite/slow/1', async () => await new Promise<Uint8Array>(() => {}))
    const controller = new AbortController()
    const pending = a.request(b.self, '/suite/slow/1', enc.encode('x'), { signal: controller.signal })
    controller.abort(new Error('given up'))
    assert.ok(await rejection(h, pending) instanceof Error)
  })

  withHarness('a stream delivers its frames in order, and ends', async (h) => {
    const [a, b] = h.meshes
    b.handleStream('/suite/count/1', async function * (data, from) {
      const n = Number(dec.decode(data))
      for (let i = 0; i < n; i++) yield enc.encode(`${from === a.self ? 'a' : '?'}${i}`)
    })
    const frames: string[] = []
    await h.settle((async () => { for await (const frame of a.stream(b.self, '/suite/count/1', enc.encode('5'))) frames.push(dec.decode(frame)) })())
    assert.equal(frames, ['a0', 'a1', 'a2', 'a3', 'a4'])
    const none: string[] = []
    await h.settle((async () => { for await (const frame of a.stream(b.self, '/suite/count/1', enc.encode('0'))) none.push(dec.decode(frame)) })())
    assert.equal(none, [])
  })

  withHarness('peers see a dead process disconnect, and a probe of it (and of its port) is refused', async (h) => {
    const [a, b, c] = h.meshes
    // a topic every node is on, so the meshes hold connections to one another
    for (const m of h.meshes) m.subscribe('suite/presence', () => {})
    await h.until('a is connected to c', () => {
      for (const m of h.meshes) m.publish('suite/presence', enc.encode('here'))
      return a.connections().includes(c.self) && b.connections().includes(c.self)
    })
    if (a.probePort !== undefined) assert.is(await h.settle(a.probePort(c.self)), 'up', 'a live peer\'s port accepts a TCP dial')
    const gone: string[] = []
    a.onPeer(({ type, peer }) => { if (type === 'disconnect') gone.push(peer) })
    await h.kill(2)
    await h.until('a sees c disconnect', () => gone.includes(c.self) && !a.connections().includes(c.self))
    if (a.probe !== undefined) assert.is(await h.settle(a.probe(c.self)), 'refused')
    if (a.probePort !== undefined) assert.is(await h.settle(a.probePort(c.self)), 'refused', 'a dead process\'s port refuses')
    // b still answers
    b.handle('/suite/alive/1', async () => enc.encode('yes'))
    assert.is(dec.decode(await h.settle(a.request(b.self, '/suite/alive/1', enc.encode('?')))), 'yes')
  })
}
