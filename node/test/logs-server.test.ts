/**
 * The logs server, directly, on virtual time: a batch never holds more
 * lines than the reader's credit nor more bytes than the batch limit; the
 * reading of history waits (nothing lost) while the session's buffer is
 * full, and goes on as the reader takes lines; sessions are limited per
 * node and per peer, and one nobody polls expires. (test/test/ops-logs.test.ts
 * runs the reader's side against it.)
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { containerHash, decodeLogsResponse, encodeLogs, parseServiceSpec, type LogsBatchMessage, type LogsResponse } from '@minga/protocol'
import { LogsServer, MemoryEngine, MemoryRuntime, nodeLogger, VirtualClock, type LogsLimits, type RuntimeContainer } from '../src/core/index.js'
import { LocalNet } from './local-mesh.js'

const MESH = 'logs-test'
const SPEC = parseServiceSpec('name: talk\nimage: minga/busybox:1\n', { org: 'acme' })[0]

interface Rig { clock: VirtualClock, server: LogsServer, engine: MemoryEngine, container: RuntimeContainer, ask: (request: Parameters<typeof encodeLogs>[0], from?: string) => Promise<LogsResponse> }

async function rig (limits: Partial<LogsLimits> = {}, lines = 0): Promise<Rig> {
  const clock = new VirtualClock(Date.now())
  const identity = { peerId: 'node-a' }
  const reader = { peerId: 'node-b' }
  // who may read: members (a and b), none removed
  const state = { meshId: MESH, memberOrg: (peer: string) => peer === 'node-a' || peer === 'node-b' ? 'acme' : undefined, revoked: () => undefined }
  const engine = new MemoryEngine({ now: () => clock.now(), delay: async (ms, signal) => { await clock.sleep(ms, signal) }, maxLogLines: 100_000 })
  const runtime = new MemoryRuntime({ meshId: MESH, nodeId: identity.peerId, engine })
  const net = new LocalNet((fn) => { clock.after(1, fn) })
  const server = new LogsServer({ identity, state, mesh: net.add(identity.peerId, () => true), clock, runtime, containers: () => [], limits, logger: nodeLogger(identity.peerId) })
  server.start()
  const container = await runtime.start({ service: 'acme/talk', replica: 0, hash: containerHash(SPEC), spec: SPEC })
  const running = engine.all().find(c => c.id === container.id)!
  for (let i = 0; i < lines; i++) engine.log(running, `line ${String(i).padStart(5, '0')} ${'x'.repeat(100)}`)
  const ask = async (request: Parameters<typeof encodeLogs>[0], from = reader.peerId): Promise<LogsResponse> => {
    let answer: LogsResponse | Error | undefined
    server.answer(encodeLogs(request), from).then(data => { try { answer = decodeLogsResponse(data) } catch (err) { answer = err as Error } }, (err: Error) => { answer = err })
    while (answer === undefined) await clock.run(clock.now() + 10)
    if (answer instanceof Error) throw answer
    return answer
  }
  return { clock, server, engine, container, ask }
}

async function open (r: Rig): Promise<string> {
  const opened = await r.ask({ type: 'logs-open', service: 'acme/talk', follow: false })
  assert.is(opened.type, 'logs-opened')
  return opened.type === 'logs-opened' ? opened.session : ''
}

const linesOf = (batch: LogsResponse): number => batch.type === 'logs-batch' ? batch.containers.reduce((n, c) => n + c.lines.length, 0) : 0

test('a batch holds at most the credit in lines and about the batch limit in bytes; history comes whole, in order', async () => {
  const r = await rig({ batchBytes: 8 * 1024, bufferLines: 200 }, 3000)
  const session = await open(r)
  const small = await r.ask({ type: 'logs-poll', session, credit: 7, wait: 0 })
  assert.is(linesOf(small), 7, 'the credit')
  const big = await r.ask({ type: 'logs-poll', session, credit: 5000, wait: 0 })
  assert.ok(linesOf(big) <= Math.ceil(8 * 1024 / 132) + 1, `${linesOf(big)} lines is more than 8 KiB`)
  const texts: string[] = []
  for (const batch of [small, big]) if (batch.type === 'logs-batch') for (const c of batch.containers) for (const line of c.lines) texts.push(String(line[2]))
  let done = false
  while (!done) {
    const batch = await r.ask({ type: 'logs-poll', session, credit: 500, wait: 1000 }) as LogsBatchMessage
    for (const c of batch.containers) for (const line of c.lines) texts.push(String(line[2]))
    done = batch.done
  }
  assert.is(texts.length, 3000, 'nothing lost while the buffer was full')
  assert.ok(texts.every((t, i) => t.startsWith(`line ${String(i).padStart(5, '0')}`)), 'in order')
})

test('while the reader takes nothing, the node reads no further than its buffer (backpressure)', async () => {
  const r = await rig({ bufferLines: 100 }, 5000)
  const session = await open(r)
  await r.clock.run(r.clock.now() + 10_000)
  const held = (r.server as unknown as { sessions: Map<string, { buffered: number }> }).sessions.get(session)!.buffered
  assert.ok(held <= 100, `holds ${held} lines with a buffer of 100`)
  assert.is(linesOf(await r.ask({ type: 'logs-poll', session, credit: 50, wait: 0 })), 50)
})

test('sessions are limited per node and per peer; one that nobody polls expires', async () => {
  const r = await rig({ sessions: 3, sessionsPerPeer: 2, idleMs: 6000 })
  await open(r)
  await open(r)
  const busy = await r.ask({ type: 'logs-open', service: 'acme/talk', follow: false }).then(() => undefined, (err: Error & { code?: string }) => err)
  assert.is(busy?.code, 'busy', 'a third from one peer')
  assert.is(r.server.openSessions, 2)
  await r.clock.run(r.clock.now() + 10_000)
  assert.is(r.server.openSessions, 0, 'idle sessions expired')
})

test.run()
