/**
 * SWIM on a virtual clock: probes and acks, kill -9 (a refused dial), a
 * host that vanishes (suspicion, then death), indirect probes around a
 * broken link, leaving, and a partition that heals.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DEFAULT_MEMBERSHIP } from '../src/core/index.js'
import { directTimeout, helperTimeout } from '../src/core/membership/probe-timeouts.js'
import { messageType } from '../src/core/membership/wire-bytes.js'
import { SwimCluster, type Host } from './membership-harness.js'

test('a quiet mesh: every member probes every other, nobody is suspected, everyone is live and confirmed', async () => {
  const mesh = await SwimCluster.start(8)
  await mesh.advance(60_000)
  for (const host of mesh.hosts) {
    assert.equal([...host.m.live()], mesh.ids, 'live: everyone')
    assert.is(host.m.confirmed(), 8)
    // one probe per period, each member once per round of 7
    const periods = 60_000 / host.m.config.probeInterval
    assert.ok(host.m.stats.probes >= periods - 2 && host.m.stats.probes <= periods + 1, `probes: ${host.m.stats.probes}`)
    assert.is(host.m.stats.failed, 0)
  }
  assert.equal(mesh.events.filter(e => e.status !== 'alive'), [], 'no suspicion, no death')
})

test('kill -9: the host refuses connections, and every member declares the node dead within a second', async () => {
  const mesh = await SwimCluster.start(10)
  await mesh.advance(10_000)
  const victim = mesh.hosts[3]
  mesh.kill(victim)
  const took = await mesh.until(() => mesh.agree(victim, 'dead'), 5000, 'everyone declares the killed node dead')
  assert.ok(took < 1000, `took ${took} ms`)
  const reasons = new Set(mesh.eventsAbout(victim, 'dead').map(e => e.reason))
  assert.ok(reasons.has('connection closed and its address refuses connections'), [...reasons].join('; '))
  assert.equal(mesh.eventsAbout(victim, 'suspect'), [], 'no suspicion on the way: the refusal is proof')
})

test('a host that vanishes without a word: suspect first, dead after the suspicion, everywhere, within 6 s at 20 nodes', async () => {
  const mesh = await SwimCluster.start(20, { latency: 20 })
  await mesh.advance(20_000)
  const victim = mesh.hosts[7]
  mesh.vanish(victim)
  const took = await mesh.until(() => mesh.agree(victim, 'dead'), 30_000, 'everyone declares the vanished node dead')
  assert.ok(took < 6000, `took ${took} ms`)
  assert.ok(mesh.eventsAbout(victim, 'suspect').length > 0, 'it was suspect first')
  const first = mesh.eventsAbout(victim, 'dead')[0]
  assert.match(first.reason, /without refuting it|declared dead by/)
})

test('a broken link is probed around: indirect probes answer for the target, and nobody is suspected', async () => {
  const mesh = await SwimCluster.start(6)
  const [a, b] = mesh.hosts
  mesh.cut(a, b)
  await mesh.advance(60_000)
  assert.ok(a.m.stats.indirect > 0, 'a probed b indirectly')
  assert.is(a.m.status(b.id), 'alive')
  assert.is(b.m.status(a.id), 'alive')
  assert.equal(mesh.events.filter(e => e.status !== 'alive'), [])
})

test('a node that leaves is seen to leave at once, not after a timeout', async () => {
  const mesh = await SwimCluster.start(8)
  await mesh.advance(5000)
  const leaver = mesh.hosts[2]
  let left = false
  void leaver.m.leave().then(() => { left = true })
  await mesh.until(() => left, 5000, 'the leaver told a few members')
  leaver.up = false
  leaver.membership = undefined
  // a member that probes it in between finds its address refusing connections: dead, as good as left
  const took = await mesh.until(() => mesh.agree(leaver, ['left', 'dead']), 5000, 'everyone sees it gone')
  assert.ok(took < 1500, `took ${took} ms`)
  assert.equal(mesh.eventsAbout(leaver, 'suspect'), [])
})

test('a partition: the minority counts the majority out fast (singletons), each side declares the other dead, and after the heal everyone is alive again', async () => {
  const mesh = await SwimCluster.start(7)
  await mesh.advance(10_000)
  const minority = mesh.hosts.slice(0, 2)
  const majority = mesh.hosts.slice(2)
  mesh.partition(minority, majority)
  // the minority must give its singletons up well within the singleton fence (15 s after the majority declares it dead)
  const start = mesh.clock.now()
  let lost: number | undefined
  let declared: number | undefined
  await mesh.until(() => {
    if (lost === undefined && minority.every(h => h.m.confirmed() * 2 <= 7)) lost = mesh.clock.now() - start
    if (declared === undefined && majority.every(h => minority.every(x => h.m.status(x.id) === 'dead'))) declared = mesh.clock.now() - start
    return lost !== undefined && declared !== undefined
  }, 60_000, 'the minority loses the majority and the majority declares it dead')
  assert.ok(lost! < 6000, `the minority lost the majority after ${lost} ms`)
  assert.ok(declared! < 8000, `the majority declared the minority dead after ${declared} ms`)
  assert.ok(majority.every(h => h.m.confirmed() * 2 > 7), 'the majority keeps its majority')
  mesh.heal()
  await mesh.until(() => mesh.hosts.every(h => mesh.hosts.every(x => h.m.status(x.id) === 'alive')), 120_000, 'everyone is alive again after the heal')
})

test('missed acks tell listeners (the reconciler) only when the majority changes: a broken link starts no pass, a partition does at once', async () => {
  const mesh = await SwimCluster.start(7)
  await mesh.advance(10_000)
  const [a, b] = mesh.hosts
  const told: string[] = []
  a.m.onChange(() => { told.push(a.m.confirmed() * 2 > 7 ? 'q' : String(a.m.confirmed())) })
  mesh.cut(a, b)
  await mesh.advance(30_000)
  assert.ok(a.m.stats.failed + a.m.stats.indirect > 0, 'a missed acks of b')
  assert.is(a.m.status(b.id), 'alive')
  assert.is(a.m.confirmed(), 6, 'b, cut off from a, does not count towards a\'s majority')
  assert.equal(told, [], 'nothing a listener reads changed')
  mesh.heal()
  await mesh.advance(10_000)
  const minority = mesh.hosts.slice(0, 3)
  mesh.partition(minority, mesh.hosts.slice(3))
  const start = mesh.clock.now()
  await mesh.until(() => a.m.confirmed() * 2 <= 7, 10_000, 'a loses the majority')
  const lost = mesh.clock.now() - start
  assert.ok(told.some(q => q !== 'q'), `listeners were told of the lost majority (told ${JSON.stringify(told)})`)
  assert.ok(lost < 6000, `after ${lost} ms`)
  assert.equal(told.filter(q => q === 'q'), [], 'nothing before it')
})

test('a restarted node comes back with a new incarnation and is alive again everywhere', async () => {
  const mesh = await SwimCluster.start(6)
  await mesh.advance(5000)
  const node = mesh.hosts[4]
  mesh.kill(node)
  await mesh.until(() => mesh.agree(node, 'dead'), 5000, 'dead')
  await mesh.advance(3000)
  const before = mesh.hosts[0].m.table.get(node.id)!.inc
  mesh.boot(node)
  await mesh.until(() => mesh.agree(node, 'alive'), 10_000, 'alive again')
  assert.ok(mesh.hosts[0].m.table.get(node.id)!.inc > before)
})

test('a joiner is not declared dead between its admission and its node\'s start; one that never starts is, after the join grace', async () => {
  const mesh = await SwimCluster.start(4, { later: 2 })
  await mesh.advance(5_000)
  const [, , joiner, never] = mesh.hosts
  // admitted: every member's table has it, assumed alive; its node starts 8 s later (its port refuses meanwhile)
  mesh.admit(joiner)
  mesh.admit(never)
  const admittedAt = mesh.clock.now()
  await mesh.advance(8_000)
  assert.equal(mesh.eventsAbout(joiner), [], 'no suspicion nor death of the joiner before it started')
  mesh.boot(joiner)
  // each member that saw it admitted tells its node coming up, once
  await mesh.until(() => mesh.eventsAbout(joiner, 'alive').length >= 2, 5_000, 'the members hear the joiner\'s node')
  await mesh.advance(2_000)
  assert.equal(mesh.eventsAbout(joiner).filter(e => e.status !== 'alive'), [])
  assert.ok(mesh.running().every(h => h.m.status(joiner.id) === 'alive' && h.m.live().includes(joiner.id)), 'the joiner is alive everywhere')
  const ups = mesh.eventsAbout(joiner, 'alive')
  assert.equal(ups.map(e => e.observer).sort(), mesh.hosts.slice(0, 2).map(h => h.id).sort())
  assert.ok(ups.every(e => e.reason === 'joined: its node is up'), JSON.stringify(ups))
  // the other never starts: dead once the grace is over, not before
  const grace = mesh.hosts[0].m.config.joinGrace
  await mesh.until(() => mesh.running().every(h => h.m.status(never.id) === 'dead'), grace + 10_000, 'the member that never started is declared dead')
  const deadAt = Math.min(...mesh.eventsAbout(never, 'dead').map(e => e.at))
  assert.ok(deadAt - admittedAt >= grace, `declared dead ${deadAt - admittedAt} ms after its admission`)
})

/**
 * the ms each ping of `target` by a helper of an indirect probe was given (from its request to its abort): the target cut
 * off from every other node, so only the timeouts end them. Direct probes are told apart by their longer timeout (three
 * probe timeouts or more, for a dial: Lifeguard's local health only lengthens it)
 */
async function helperWaits (mesh: SwimCluster, target: Host): Promise<number[]> {
  const waits: number[] = []
  for (const host of mesh.running()) {
    if (host === target) continue
    mesh.cut(host, target)
    const request = host.mesh.request.bind(host.mesh)
    host.mesh.request = async (peer, protocol, data, options = {}) => {
      const sentAt = mesh.clock.now()
      if (peer === target.id && messageType(data) === 'ping') options.signal?.addEventListener('abort', () => waits.push(mesh.clock.now() - sentAt), { once: true })
      return await request(peer, protocol, data, options)
    }
  }
  await mesh.until(() => mesh.eventsAbout(target, 'suspect').length > 0, 20_000, 'the cut-off target is suspected')
  await mesh.advance(3_000)
  const direct = directTimeout(mesh.hosts[0].m.config, false)
  return waits.filter(ms => ms < direct)
}

test('past the connection limit helpers give their ping of a target time to dial it; dead members do not count towards the limit', async () => {
  const limit = 4
  const { probeTimeout } = DEFAULT_MEMBERSHIP
  // 9 live members, each keeping 4 connections: a helper may have to dial the target
  const crowded = await SwimCluster.start(9, { connectionLimit: limit })
  await crowded.advance(5_000)
  const past = await helperWaits(crowded, crowded.hosts[8])
  assert.ok(past.length > 0, 'helpers pinged the target')
  assert.ok(past.every(ms => ms === helperTimeout({ probeTimeout }, false)), `helpers waited ${past.join(', ')} ms`)
  // the same 9 members, 4 of them dead: 5 live ones fit within 4 connections each, every member holds one to every other
  const thinned = await SwimCluster.start(9, { connectionLimit: limit })
  await thinned.advance(5_000)
  const dead = thinned.hosts.slice(4, 8)
  for (const host of dead) thinned.kill(host)
  await thinned.until(() => dead.every(d => thinned.agree(d, 'dead')), 30_000, 'the killed members are dead everywhere')
  const below = await helperWaits(thinned, thinned.hosts[8])
  assert.ok(below.length > 0, 'helpers pinged the target')
  assert.ok(below.every(ms => ms === helperTimeout({ probeTimeout }, true)), `helpers waited ${below.join(', ')} ms`)
})

test('past the connection limit gossip goes to connected members only: to any other it would be a new connection (a handshake) each', async () => {
  const n = 12
  // 12 live members keeping 4 connections each: each holds its ring's four nearest, and gossip must pick among those
  const mesh = await SwimCluster.start(n, { connectionLimit: 4 })
  await mesh.advance(5_000)
  let near = 0
  const far: string[] = []
  for (const [i, host] of mesh.hosts.entries()) {
    const held = new Set([1, 2, n - 2, n - 1].map(d => mesh.hosts[(i + d) % n].id))
    host.mesh.connections = () => [...held].filter(id => mesh.host(id).up)
    const request = host.mesh.request.bind(host.mesh)
    host.mesh.request = async (peer, protocol, data, options = {}) => {
      if (messageType(data) === 'gossip') {
        if (host.mesh.connections().includes(peer)) near++
        else far.push(`${i} → ${mesh.hosts.findIndex(h => h.id === peer)}`)
      }
      return await request(peer, protocol, data, options)
    }
  }
  // a host that vanishes and comes back: its suspicion, death and return wait in every queue, and gossip spreads them
  const victim = mesh.hosts[0]
  mesh.vanish(victim)
  await mesh.until(() => mesh.agree(victim, 'dead'), 60_000, 'the vanished member is dead everywhere')
  mesh.boot(victim)
  await mesh.until(() => mesh.agree(victim, 'alive'), 60_000, 'the member is back everywhere')
  await mesh.advance(5_000)
  assert.ok(near > 0, 'members gossiped to connected members')
  assert.equal(far, [], `${far.length} gossip requests went to members not connected`)
})

test.run()
