/**
 * Mesh-wide events, directly, on virtual time: each node serves its own
 * ring (after a seq in its epoch, else since a time, at most `limit`),
 * holds an empty answer until an event comes or `wait` ends, refuses
 * strangers and bad requests; a gather merges every live node's events by
 * time and counts the observers of one liveness change once; a follower
 * gets new events as they happen.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeMessage, encodeMessage, type EventsBatchMessage } from '@minga/protocol'
import { collapseEchoes, EventLog, MeshEvents, VirtualClock, type EventItem, type MeshEvent } from '../src/core/index.js'
import { LocalNet } from './local-mesh.js'

interface Rig { clock: VirtualClock, logs: EventLog[], nodes: MeshEvents[], settle: <T>(p: Promise<T>) => Promise<T> }

function rig (): Rig {
  const clock = new VirtualClock(Date.now())
  const net = new LocalNet((fn) => { clock.after(1, fn) })
  const ids = ['node-a', 'node-b']
  const logs = ids.map(() => new EventLog())
  const nodes = ids.map((self, i) => new MeshEvents({ self, meshId: 'm', mesh: net.add(self, () => true), clock, events: logs[i], isMember: (peer) => ids.includes(peer), live: () => ids }))
  for (const node of nodes) node.start()
  const settle = async <T>(promise: Promise<T>): Promise<T> => {
    let outcome: { value: T } | { error: unknown } | undefined
    promise.then(value => { outcome = { value } }, (error: unknown) => { outcome = { error } })
    const deadline = clock.now() + 60_000
    while (outcome === undefined && clock.now() < deadline) await clock.run(clock.now() + 10)
    if (outcome === undefined) throw new Error('never settled')
    if ('error' in outcome) throw outcome.error
    return outcome.value
  }
  return { clock, logs, nodes, settle }
}

const event = (r: Rig, node: string, kind: MeshEvent['kind'], subject: string): MeshEvent => ({ time: r.clock.now(), node, kind, subject, reason: 'test' })
const poll = (request: Record<string, unknown>): Uint8Array => encodeMessage({ type: 'events-poll', limit: 200, wait: 0, ...request } as never)

test('a node answers after a seq in its epoch, else since a time; limit and next as the follower needs them', async () => {
  const r = rig()
  const [a] = r.nodes
  for (let i = 0; i < 5; i++) { r.logs[0].emit(event(r, 'node-a', 'deploy', `acme/s${i}`)); await r.clock.run(r.clock.now() + 100) }
  const first = await a.answer(poll({ since: 0, limit: 2 }), 'node-b') as EventsBatchMessage
  assert.equal(first.events.map(e => e.subject), ['acme/s3', 'acme/s4'], 'since: the latest `limit`')
  const after = await a.answer(poll({ epoch: a.epoch, after: 2, limit: 2 }), 'node-b') as EventsBatchMessage
  assert.equal(after.events.map(e => e.seq), [3, 4], 'after a seq: the next ones, oldest first')
  assert.is(after.next, 4)
  const otherEpoch = await a.answer(poll({ epoch: 'a-restarted-node', after: 4, since: r.clock.now() - 250 }), 'node-b') as EventsBatchMessage
  assert.equal(otherEpoch.events.map(e => e.subject), ['acme/s3', 'acme/s4'], 'another epoch: since counts')
})

test('an empty answer is held until an event comes (not the whole wait); strangers and bad requests are refused', async () => {
  const r = rig()
  const [a] = r.nodes
  const asked = r.clock.now()
  r.clock.after(700, () => { r.logs[0].emit(event(r, 'node-a', 'cordon', 'x')) })
  const held = await r.settle(a.answer(poll({ epoch: a.epoch, after: 0, wait: 5000 }), 'node-b')) as EventsBatchMessage
  assert.is(held.events.length, 1)
  assert.ok(r.clock.now() - asked >= 700 && r.clock.now() - asked < 1000, `answered after ${r.clock.now() - asked} ms`)
  const stranger = decodeMessage(encodeMessage(await a.answer(poll({}), 'mallory')))
  assert.is(stranger.type === 'error' && stranger.code, 'not-member')
  const bad = await a.answer(new TextEncoder().encode('{"type":"events-poll","since":-5}'), 'node-b')
  assert.is(bad.type === 'error' && bad.code, 'bad-request')
})

test('a gather merges every node\'s events by time and counts the observers of one liveness change once', async () => {
  const r = rig()
  const [a, b] = r.nodes
  r.logs[0].emit(event(r, 'node-a', 'node-dead', 'peer-x'))
  await r.clock.run(r.clock.now() + 200)
  r.logs[1].emit(event(r, 'node-b', 'node-dead', 'peer-x'))
  r.logs[1].emit(event(r, 'node-b', 'deploy', 'acme/web'))
  const items = await r.settle(b.gather({ since: 0 }))
  const events = items.filter((i): i is Extract<EventItem, { type: 'event' }> => i.type === 'event')
  assert.equal(events.map(e => [e.kind, e.observers]), [['node-dead', 2], ['deploy', undefined]])
  // a follower gets what happens next, once
  const controller = new AbortController()
  const seen: string[] = []
  const following = (async () => { for await (const item of a.follow({ since: r.clock.now(), signal: controller.signal })) if (item.type === 'event') seen.push(item.subject) })()
  await r.clock.run(r.clock.now() + 500)
  r.logs[1].emit(event(r, 'node-b', 'cordon', 'node-b'))
  r.logs[0].emit(event(r, 'node-a', 'uncordon', 'node-a'))
  for (let i = 0; i < 100 && seen.length < 2; i++) await r.clock.run(r.clock.now() + 100)
  assert.equal(seen.sort(), ['node-a', 'node-b'])
  controller.abort()
  await r.settle(following)
})

test('an observer counts once: a node that saw a second change within the echo window makes a new event', () => {
  const at = (time: number, node: string): MeshEvent => ({ time, node, kind: 'node-dead', subject: 'victim', reason: 'test' })
  const items = collapseEchoes([at(0, 'a'), at(10, 'b'), at(4000, 'b'), at(4100, 'a'), at(30_000, 'a')])
  assert.equal(items.map(e => [e.time, e.type === 'event' ? e.observers : undefined]), [[0, 2], [4000, 2], [30_000, 1]])
})

test.run()
