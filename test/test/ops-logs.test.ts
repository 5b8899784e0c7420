/**
 * The logs protocol in one process: two "nodes" (a LogsServer each over a
 * MemoryRuntime) behind an in-memory Mesh, read through gatherLogs. Checks
 * the merge by time and the labels, membership, bounded memory (lossless
 * backpressure for history, dropped markers for a slow live reader), and
 * that a reader whose session vanished (node restart) reopens without
 * duplicating lines.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseServiceSpec, containerHash, decodeLogsRequest, decodeLogsResponse, encodeLogs } from '@minga/protocol'
import {
  LogsServer, MemoryRuntime, MemoryEngine, gatherLogs, systemClock,
  type LogItem, type LogsLimits, type Mesh, type RequestHandler
} from '@minga/node'

const MESH = 'm1'
const SPEC = parseServiceSpec('name: talk\nimage: minga/busybox:1\nreplicas: 3\nresources: { cpu: 10m, memory: 8Mi }\n', { org: 'acme' })[0]

/** a network of handlers keyed by peer; `from` is the caller, as libp2p authenticates it */
class FakeNet {
  readonly handlers = new Map<string, Map<string, RequestHandler>>()
  down = new Set<string>()
  mesh (self: string): Mesh {
    const net = this
    return {
      self,
      publish () {},
      subscribe: () => () => {},
      async request (peer, protocol, data) {
        if (net.down.has(peer)) throw new Error('connection refused')
        const handler = net.handlers.get(peer)?.get(protocol)
        if (handler === undefined) throw new Error(`${peer} does not speak ${protocol}`)
        return await handler(data, self)
      },
      handle (protocol, handler) {
        let map = net.handlers.get(self)
        if (map === undefined) net.handlers.set(self, map = new Map())
        map.set(protocol, handler)
      },
      stream () { throw new Error('not used') },
      handleStream () {},
      connections: () => [],
      onPeer: () => () => {}
    }
  }
}

const members = new Set(['a', 'b'])
const state = { meshId: MESH, memberOrg: (p: string) => members.has(p) ? 'acme' : undefined, revoked: () => undefined }

interface TestNode { id: string, runtime: MemoryRuntime, server: LogsServer, mesh: Mesh }

function node (net: FakeNet, id: string, engine: MemoryEngine, limits: Partial<LogsLimits> = {}): TestNode {
  const runtime = new MemoryRuntime({ meshId: MESH, nodeId: id, engine })
  const mesh = net.mesh(id)
  let containers: any[] = []
  const server = new LogsServer({ identity: { peerId: id }, state, mesh, clock: systemClock, runtime, containers: () => containers, limits })
  // the reconciler's view of the containers, refreshed as often as a follower scans
  const refresh = setInterval(() => { void runtime.list().then(list => { containers = list }) }, 50)
  refresh.unref()
  server.start()
  return { id, runtime, server, mesh }
}

async function start (n: TestNode, replica: number): Promise<string> {
  const c = await n.runtime.start({ service: 'acme/talk', replica, hash: containerHash(SPEC), spec: SPEC })
  return c.id
}

async function collect (items: AsyncIterable<LogItem>, until?: (all: LogItem[]) => boolean): Promise<LogItem[]> {
  const out: LogItem[] = []
  for await (const item of items) {
    out.push(item)
    if (until?.(out) === true) break
  }
  return out
}

function reader (from: TestNode, locate: () => string[], extra: { budgetPerNode?: number } = {}): (options: any) => AsyncGenerator<LogItem> {
  return (options) => gatherLogs({ self: from.id, meshId: MESH, mesh: from.mesh, clock: systemClock, server: from.server, locate: async () => locate(), alive: () => true, holdMs: 100, resolveMs: 100, ...extra }, { service: 'acme/talk', ...options })
}

test('a one-shot read merges the lines of every replica on every node by time, labelled', async () => {
  let now = 1_000_000
  const engine = new MemoryEngine({ now: () => now })
  const net = new FakeNet()
  const a = node(net, 'a', engine)
  const b = node(net, 'b', engine)
  const [a0, b1, b2] = [await start(a, 0), await start(b, 1), await start(b, 2)]
  const printers = [[a, a0], [b, b1], [b, b2]] as const
  for (let i = 0; i < 60; i++) {
    now += 7
    const [n, id] = printers[(i * 7) % 3]
    n.runtime.emitLog(id, `line ${i}`, i % 5 === 0 ? 'stderr' : 'stdout')
  }
  const items = await collect(reader(a, () => ['a', 'b'])({}))
  const lines = items.filter(i => i.type === 'line')
  assert.is(lines.length, 60, JSON.stringify(items.filter(i => i.type !== 'line')))
  assert.equal(lines.map(l => l.text), Array.from({ length: 60 }, (_, i) => `line ${i}`), 'in time order')
  for (const line of lines) {
    const i = Number(line.text.split(' ')[1])
    const [n, id] = printers[(i * 7) % 3]
    assert.is(line.node, n.id)
    assert.is(line.container, id)
    assert.is(line.stream, i % 5 === 0 ? 'stderr' : 'stdout')
  }
  assert.equal([...new Set(lines.map(l => l.replica))].sort(), [0, 1, 2])
  const two = (await collect(reader(a, () => ['a', 'b'])({ replicas: [2], tail: 3 }))).filter(i => i.type === 'line')
  assert.is(two.length, 3, '--replica 2 --tail 3')
  assert.ok(two.every(l => l.replica === 2))
})

test('only members read logs, and bad requests get clear errors', async () => {
  const net = new FakeNet()
  const a = node(net, 'a', new MemoryEngine())
  const open = encodeLogs({ type: 'logs-open', service: 'acme/talk', follow: false })
  assert.throws(() => decodeLogsResponse(new TextEncoder().encode('{"hello":1}')), /not a logs message/)
  const stranger = decodeError(await a.server.answer(open, 'mallory'))
  assert.is(stranger.code, 'not-member')
  assert.match(stranger.message, /Only members/)
  assert.throws(() => decodeLogsRequest(new TextEncoder().encode('{"type":"logs-open","service":"../etc"}')), /not a service id/)
  assert.throws(() => decodeLogsRequest(new TextEncoder().encode('x'.repeat(5000))), /at most 4096 bytes/)
  assert.throws(() => decodeLogsRequest(new TextEncoder().encode('{"type":"logs-poll","session":"s","credit":-1,"wait":0}')), /credit/)
  const unknown = decodeError(await a.server.answer(encodeLogs({ type: 'logs-poll', session: 'nope', credit: 10, wait: 0 }), 'b'))
  assert.is(unknown.code, 'no-session')
  // a session belongs to the peer that opened it
  const opened = decodeLogsResponse(await a.server.answer(open, 'b'))
  assert.is(opened.type, 'logs-opened')
  const session = (opened as any).session
  assert.is(decodeError(await a.server.answer(encodeLogs({ type: 'logs-poll', session, credit: 10, wait: 0 }), 'a')).code, 'no-session')
  a.server.stop()
})

test('history is read losslessly through a small buffer; the node never holds more than its limit', async () => {
  const engine = new MemoryEngine({ maxLogLines: 50_000 })
  const net = new FakeNet()
  const limits = { bufferLines: 200 }
  const a = node(net, 'a', engine)
  const b = node(net, 'b', engine, limits)
  const id = await start(b, 0)
  for (let i = 0; i < 20_000; i++) b.runtime.emitLog(id, `h${i}`)
  let peak = 0
  const items: LogItem[] = []
  for await (const item of reader(a, () => ['b'], { budgetPerNode: 100 })({})) {
    items.push(item)
    peak = Math.max(peak, (b.server as any).sessions.values().next().value?.buffered ?? 0)
  }
  const lines = items.filter(i => i.type === 'line')
  assert.is(lines.length, 20_000, 'every history line arrives')
  assert.ok(lines.every((l, i) => l.text === `h${i}`), 'in order')
  assert.ok(peak <= 200, `the node buffered at most its limit (peak ${peak})`)
  assert.not.ok(items.some(i => i.type === 'dropped'))
})

test('many containers with more history than any buffer holds: every line, in time order, no deadlock', async () => {
  let now = 2_000_000
  const engine = new MemoryEngine({ now: () => now })
  const net = new FakeNet()
  const a = node(net, 'a', engine, { bufferLines: 300 })
  const b = node(net, 'b', engine, { bufferLines: 300 })
  const ids: Array<[TestNode, string]> = []
  for (let r = 0; r < 24; r++) {
    const n = r % 2 === 0 ? a : b
    ids.push([n, await start(n, r)])
  }
  // interleaved in time across all 24 containers on both nodes
  for (let i = 0; i < 4800; i++) {
    now += 1
    const [n, id] = ids[(i * 5) % 24]
    n.runtime.emitLog(id, `l${i}`)
  }
  const items = await collect(reader(a, () => ['a', 'b'], { budgetPerNode: 50 })({}))
  const lines = items.filter(i => i.type === 'line')
  assert.is(lines.length, 4800, JSON.stringify(items.filter(i => i.type !== 'line')))
  assert.ok(lines.every((l, i) => l.text === `l${i}`), 'exactly in time order')
})

test('a live reader too slow for a chatty container gets a dropped marker, and the node stays within its limit', async () => {
  const engine = new MemoryEngine()
  const net = new FakeNet()
  const a = node(net, 'a', engine)
  const b = node(net, 'b', engine, { bufferLines: 100, scanMs: 20 })
  const id = await start(b, 0)
  const opened = decodeLogsResponse(await b.server.answer(encodeLogs({ type: 'logs-open', service: 'acme/talk', follow: true }), 'a')) as any
  const session = (b.server as any).sessions.get(opened.session)
  // the session found the container and read its (empty) backlog: what it prints now is live
  await until(() => [...session.pumps.values()].some((p: any) => p.live === true))
  // nobody polls while the container prints, until the node has had to drop lines
  let printed = 0
  while (b.server.stats.linesDropped === 0 && printed < 100_000) {
    for (let i = 0; i < 1000; i++) b.runtime.emitLog(id, `live ${printed++}`)
    await sleep(20)
  }
  await sleep(50)
  assert.ok(b.server.stats.linesDropped > 0, 'the node dropped lines')
  assert.ok(session.buffered <= 101, `buffered ${session.buffered}`)
  const seen: any[] = []
  while (true) {
    const batch = decodeLogsResponse(await b.server.answer(encodeLogs({ type: 'logs-poll', session: opened.session, credit: 1000, wait: 0 }), 'a')) as any
    const lines = batch.containers.flatMap((c: any) => c.lines)
    if (lines.length === 0) break
    seen.push(...lines)
  }
  const dropped = seen.filter(l => l[1] === 2)
  assert.is(dropped.length, 1, 'one marker for the run of dropped lines')
  const kept = seen.filter(l => l[1] !== 2).length
  assert.is(kept + dropped[0][2], printed, 'kept + dropped = printed')
  assert.is(b.server.stats.linesDropped, dropped[0][2])
  b.runtime.emitLog(id, 'after the gap')
  const next = decodeLogsResponse(await b.server.answer(encodeLogs({ type: 'logs-poll', session: opened.session, credit: 10, wait: 500 }), 'a')) as any
  assert.equal(next.containers[0].lines.map((l: any) => l[2]), ['after the gap'], 'following goes on after the gap')
  a.server.stop()
  b.server.stop()
})

test('following survives a node restart (session gone): reopened from the last line, nothing twice', async () => {
  const engine = new MemoryEngine()
  const net = new FakeNet()
  const a = node(net, 'a', engine)
  let b = node(net, 'b', engine)
  const id = await start(b, 0)
  for (let i = 0; i < 5; i++) b.runtime.emitLog(id, `before ${i}`)
  const controller = new AbortController()
  const items: LogItem[] = []
  const done = collect(reader(a, () => ['b'])({ follow: true, signal: controller.signal }), (all) => { items.length = 0; items.push(...all); return false })
  await until(() => items.filter(i => i.type === 'line').length === 5)
  // the node restarts: a new server on the same engine knows no sessions
  b.server.stop()
  net.down.add('b')
  b.runtime.emitLog(id, 'while down')
  await sleep(300)
  net.down.delete('b')
  b = node(net, 'b', engine)
  b.runtime.emitLog(id, 'after restart')
  await until(() => items.some(i => i.type === 'line' && i.text === 'after restart'))
  controller.abort()
  await done
  const texts = items.filter(i => i.type === 'line').map(i => (i as any).text)
  assert.equal(texts, ['before 0', 'before 1', 'before 2', 'before 3', 'before 4', 'while down', 'after restart'])
  assert.ok(items.some(i => i.type === 'notice' && /unreachable|No such logs session/.test(i.text)), 'the reader was told')
  a.server.stop()
  b.server.stop()
})

function decodeError (data: Uint8Array): { code: string, message: string } {
  try {
    decodeLogsResponse(data)
  } catch (err: any) {
    return { code: err.code, message: err.message }
  }
  throw new Error('expected an error answer')
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** waits for a condition; the limit only says when to give up */
async function until (check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(20)
  }
}

test.run()
