/**
 * SWIM's rules, one at a time: incarnations order updates, only a member
 * signs its alive updates, a node refutes what is said against it, a
 * second-hand death is only a suspicion, updates are piggy-backed within
 * their budget and sent a bounded number of times, and push-pull sends the
 * table only when the digests differ.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { signAlive, type MemberUpdate, type PeerIdString } from '@minga/protocol'
import { BroadcastQueue } from '../src/core/membership/broadcasts.js'
import { retransmitLimit, DEFAULT_MEMBERSHIP, pushPullInterval, suspicionTimeout, remainingSuspicion } from '../src/index.js'
import { SwimCluster } from './membership-harness.js'
import { MemberTable, type Member } from '../src/core/membership/table.js'

const id = (s: string): PeerIdString => s as PeerIdString

test('incarnations order what is said about a member: stale news is ignored, newer news wins, alive needs a higher incarnation', async () => {
  const mesh = await SwimCluster.start(4)
  const [a, b, c] = mesh.hosts
  const inc = b.m.own().inc
  a.m.receive([signAlive(b.identity, 'swim-test', inc, b.m.own().boot)])
  assert.is(a.m.status(b.id), 'alive')
  a.m.receive([{ kind: 'suspect', node: id(b.id), inc: inc - 1, from: id(c.id) }])
  assert.is(a.m.status(b.id), 'alive', 'a suspicion of an older incarnation changes nothing')
  a.m.receive([{ kind: 'suspect', node: id(b.id), inc, from: id(c.id) }])
  assert.is(a.m.status(b.id), 'suspect')
  a.m.receive([signAlive(b.identity, 'swim-test', inc, b.m.own().boot)])
  assert.is(a.m.status(b.id), 'suspect', 'an alive of the same incarnation does not refute')
  a.m.receive([{ kind: 'dead', node: id(b.id), inc, from: id(c.id) }])
  assert.is(a.m.status(b.id), 'dead')
  a.m.receive([signAlive(b.identity, 'swim-test', inc + 1, b.m.own().boot)])
  assert.is(a.m.status(b.id), 'alive', 'a higher incarnation revives it')
  assert.is(a.m.table.get(b.id)!.inc, inc + 1)
  mesh.hosts.forEach(h => h.m.stop())
})

test('nobody but the member signs its alive updates: a forged one is refused and counted', async () => {
  const mesh = await SwimCluster.start(3)
  const [a, b, c] = mesh.hosts
  a.m.receive([{ kind: 'dead', node: id(b.id), inc: b.m.own().inc, from: id(c.id) }])
  // c tries to keep b alive with an update it signed itself
  const forged = { ...signAlive(c.identity, 'swim-test', b.m.own().inc + 5, 1), node: id(b.id) }
  a.m.receive([forged])
  assert.is(a.m.status(b.id), 'dead')
  assert.is(a.m.members.forged, 1)
  // signed for another mesh: refused as well
  a.m.receive([signAlive(b.identity, 'other-mesh', b.m.own().inc + 5, b.m.own().boot)])
  assert.is(a.m.status(b.id), 'dead')
  assert.is(a.m.members.forged, 2)
  mesh.hosts.forEach(h => h.m.stop())
})

test('a node that hears itself suspected or declared dead refutes with a higher incarnation, and everyone believes it', async () => {
  const mesh = await SwimCluster.start(6)
  await mesh.advance(3000)
  const [a, b] = mesh.hosts
  const before = b.m.own().inc
  const score = b.m.awareness.score
  // a suspicion starts at a and spreads; b learns it and refutes
  a.m.receive([{ kind: 'suspect', node: id(b.id), inc: before, from: id(mesh.hosts[5].id) }])
  await mesh.until(() => b.m.own().inc > before, 5000, 'b refutes')
  assert.is(b.m.awareness.score, score + 1, 'being accused counts against its own health (Lifeguard)')
  await mesh.until(() => mesh.agree(b, 'alive') && mesh.running().every(h => h === b || h.m.table.get(b.id)!.inc === b.m.own().inc), 5000, 'everyone sees b alive at its new incarnation')
  assert.equal(mesh.eventsAbout(b, 'dead'), [])
  // a death claimed at its current incarnation is refuted as well
  const now = b.m.own().inc
  a.m.receive([{ kind: 'dead', node: id(b.id), inc: now, from: id(a.id) }])
  await mesh.until(() => mesh.agree(b, 'alive') && b.m.own().inc > now, 5000, 'b refutes its death')
})

test('a second-hand death (a peer\'s table) is only a suspicion of a member known alive, but believed of one never heard from', async () => {
  const mesh = await SwimCluster.start(3)
  const [a, b, c] = mesh.hosts
  a.m.receive([b.m.own()])
  a.m.members.merge({ node: id(b.id), status: 'dead', inc: b.m.own().inc })
  assert.is(a.m.status(b.id), 'suspect')
  // c was never heard of by a: assumed alive, so a peer's word is all a has
  a.m.members.merge({ node: id(c.id), status: 'dead', inc: 1 })
  assert.is(a.m.status(c.id), 'dead')
  mesh.hosts.forEach(h => h.m.stop())
})

test('the broadcast queue: within the byte budget, least-sent and newest first, each update sent a bounded number of times, a newer update replacing the older', () => {
  const queue = new BroadcastQueue()
  const update = (n: number, inc = 1): MemberUpdate => ({ kind: 'suspect', node: id(`12D3KooW${String(n).padStart(44, 'x')}`), inc, from: id(`12D3KooW${'f'.repeat(44)}`) })
  for (let n = 0; n < 100; n++) queue.push(update(n))
  const first = queue.take(1000, 3)
  const bytes = first.reduce((sum, u) => sum + JSON.stringify(u).length + 1, 0)
  assert.ok(bytes <= 1000 && first.length >= 5, `${first.length} updates, ${bytes} bytes`)
  assert.is(first[0].node, update(99).node, 'newest first')
  // newer news about node 0 replaces the queued one
  queue.push(update(0, 7))
  assert.is((queue.peek(update(0).node) as any).inc, 7)
  const sent = new Map<string, number>()
  for (let round = 0; round < 200 && queue.size > 0; round++) {
    for (const u of queue.take(1000, 3)) sent.set(`${u.node}/${u.inc}`, (sent.get(`${u.node}/${u.inc}`) ?? 0) + 1)
  }
  assert.is(queue.size, 0, 'everything was sent its share and dropped')
  for (const [key, count] of sent) {
    const expected = first.some(u => `${u.node}/${u.inc}` === key) ? 2 : 3
    assert.ok(count === expected, `${key} sent ${count} times after the first round (expected ${expected})`)
  }
  assert.not.ok(sent.has(`${update(0).node}/1`), 'the replaced update is not sent')
  assert.is(sent.get(`${update(0).node}/7`), 3, 'its replacement is')
})

test('the broadcast queue looks past a bounded number of updates that do not fit: a take costs the same with thousands queued', () => {
  const queue = new BroadcastQueue()
  const from = id(`12D3KooW${'f'.repeat(44)}`)
  // the oldest is small (a suspicion); the 2,000 newer ones are larger (alive updates) and come first
  queue.push({ kind: 'suspect', node: id(`12D3KooW${'s'.repeat(44)}`), inc: 1, from })
  for (let n = 0; n < 2000; n++) queue.push({ kind: 'alive', node: id(`12D3KooW${String(n).padStart(44, 'a')}`), inc: 1, boot: 1, sig: 'A'.repeat(86) + '==' })
  const small = JSON.stringify({ kind: 'suspect', node: `12D3KooW${'s'.repeat(44)}`, inc: 1, from }).length + 1
  assert.equal(queue.take(small, 3), [], 'the small one, behind 2,000 that do not fit, waits for a later message')
  assert.is(queue.size, 2001, 'nothing was dropped')
  assert.is(queue.take(1_000_000, 3).length, 2001, 'a budget they fit takes them all')
})

test('a probe of a suspect carries the suspicion first (Lifeguard\'s buddy system), within the piggy-back budget', async () => {
  const mesh = await SwimCluster.start(5)
  const [a, b, c] = mesh.hosts
  a.m.receive([{ kind: 'suspect', node: id(b.id), inc: b.m.own().inc, from: id(c.id) }])
  for (let n = 0; n < 200; n++) a.m.queue.push({ kind: 'suspect', node: id(`12D3KooW${String(n).padStart(44, 'y')}`), inc: 1, from: id(c.id) })
  const updates = a.m.piggyback(b.id)
  assert.equal(updates[0], { kind: 'suspect', node: b.id, inc: b.m.own().inc, from: a.id })
  const bytes = updates.slice(1).reduce((sum, u) => sum + JSON.stringify(u).length + 1, 0)
  assert.ok(bytes <= a.m.config.piggybackBytes, `${bytes} bytes piggy-backed`)
  mesh.hosts.forEach(h => h.m.stop())
})

test('push-pull: agreeing tables exchange digests only; a table that differs is sent and merged both ways', async () => {
  const mesh = await SwimCluster.start(4)
  await mesh.advance(30_000)
  const [a, b] = mesh.hosts
  assert.is(a.m.table.digest(), b.m.table.digest(), 'the tables agree')
  const bytes = mesh.traffic.bytes
  const messages = mesh.traffic.messages
  let done = false
  void a.m['prober'].pushPull(b.id).then(() => { done = true })
  await mesh.until(() => done, 5000, 'push-pull done')
  assert.is(mesh.traffic.messages - messages, 2, 'one request, one answer')
  assert.ok(mesh.traffic.bytes - bytes < 200, `${mesh.traffic.bytes - bytes} bytes for a push-pull of agreeing tables`)
  // a learns of a death that d does not know (nobody gossips it): a push-pull carries it over, as a suspicion
  const [, , c, d] = mesh.hosts
  a.m.members.declareDead(c.id, 'test')
  a.m.queue.clear()
  done = false
  void a.m['prober'].pushPull(d.id).then(() => { done = true })
  await mesh.until(() => done, 5000, 'push-pull done')
  assert.is(d.m.status(c.id), 'suspect')
})

test('push-pull asks for its answer on a stream of its own (a table holds up the probes behind it on the shared one); probes do not', async () => {
  const mesh = await SwimCluster.start(4)
  await mesh.advance(2_000)
  const [a, b] = mesh.hosts
  const asked: Array<{ type: string, largeAnswer: boolean }> = []
  const request = a.mesh.request.bind(a.mesh)
  a.mesh.request = async (peer, protocol, data, options) => {
    asked.push({ type: a.m.decode(data).type, largeAnswer: options?.largeAnswer === true })
    return await request(peer, protocol, data, options)
  }
  let done = false
  void a.m['prober'].pushPull(b.id).then(() => { done = true })
  await mesh.until(() => done, 5000, 'push-pull done')
  await mesh.advance(5_000)
  assert.equal(asked.filter(r => r.type === 'push-pull')[0], { type: 'push-pull', largeAnswer: true })
  assert.ok(asked.some(r => r.type === 'ping'), 'a probed meanwhile')
  assert.equal(asked.filter(r => r.type !== 'push-pull' && r.largeAnswer), [], 'nothing else asks for a stream of its own')
  mesh.hosts.forEach(h => h.m.stop())
})

test('scaling: suspicion, retransmissions and push-pull grow with the log of the mesh size', () => {
  const config = DEFAULT_MEMBERSHIP
  assert.equal([3, 20, 200, 1000, 10_000].map(n => suspicionTimeout(config, n)), [2000, 2602, 4602, 6000, 8000])
  assert.equal([3, 20, 200, 1000, 10_000].map(n => retransmitLimit(config, n)), [4, 8, 12, 16, 20])
  assert.equal([20, 32, 33, 64, 1000, 10_000].map(n => pushPullInterval(config, n) / 1000), [30, 30, 60, 60, 180, 300])
  // memberlist's figures: no confirmations → max, all wanted → min
  assert.is(remainingSuspicion(0, 2, 0, 2000, 12_000), 12_000)
  assert.is(remainingSuspicion(2, 2, 0, 2000, 12_000), 2000)
  assert.is(remainingSuspicion(1, 2, 1000, 2000, 12_000), Math.floor(12_000 - Math.log(2) / Math.log(3) * 10_000) - 1000)
})

test('bad input: a stranger gets no answer, garbage and oversized messages are refused, and nothing changes', async () => {
  const mesh = await SwimCluster.start(3)
  const [a] = mesh.hosts
  const handler = (a.mesh as any).handlers.get('/minga/swim-test/membership/1.0.0')
  const digest = a.m.table.digest()
  const stranger = '12D3KooWGzxzKZYveHXtpG6SBB4qW8rDVwULuAGiYHnd2CcG6Wqe'
  let refused = 0
  try { await handler(new TextEncoder().encode('{"type":"ping","time":1,"digest":"d","updates":[]}'), stranger) } catch { refused++ }
  assert.is(refused, 1, 'a stranger is refused')
  for (const bytes of ['garbage', '{"type":"ping"}', `{"type":"gossip","updates":${JSON.stringify(Array(65).fill({ kind: 'dead', node: mesh.hosts[1].id, inc: 9e15, from: a.id }))}}`, `{"type":"ping","time":1,"digest":"${'x'.repeat(40_000)}","updates":[]}`]) {
    try { await handler(new TextEncoder().encode(bytes), mesh.hosts[1].id) } catch { refused++ }
  }
  assert.is(refused, 5)
  assert.is(a.m.table.digest(), digest, 'the table did not change')
  assert.ok(a.m.stats.dropped >= 1)
  mesh.hosts.forEach(h => h.m.stop())
})

test('a table given a store that already holds rows digests them: equal to the table that was filled row by row', () => {
  const rows: Member[] = [
    { node: 'peer-a', status: 'alive', inc: 3 },
    { node: 'peer-b', status: 'suspect', inc: 7 },
    { node: 'peer-c', status: 'dead', inc: 1 }
  ]
  const filled = new MemberTable()
  for (const row of rows) filled.set(row)
  const given = new MemberTable(new Map(rows.map(row => [row.node, row])))
  assert.is(given.digest(), filled.digest())
  given.delete('peer-b')
  filled.delete('peer-b')
  assert.is(given.digest(), filled.digest(), 'and a row removed later leaves equal digests')
})

test.run()
