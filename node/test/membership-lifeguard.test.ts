/**
 * Lifeguard (arXiv 1707.00788) on a virtual clock: the local health
 * multiplier stretches the timeouts of a node that misses acks (fewer
 * false accusations from a slow or stalled node), suspicions shorten as
 * independent members confirm them (dogpile), and loss as TCP sees it
 * (retransmissions) declares nobody dead.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Suspicion } from '../src/core/membership/suspicion.js'
import { SwimCluster, prng, type Host } from './membership-harness.js'
import { VirtualClock, suspicionTimeout } from '../src/core/index.js'
import { advance } from './virtual-clock.js'

/** suspicions a node raised itself, of members that were alive all along */
function falseAccusations (mesh: SwimCluster, by: Host): number {
  return mesh.events.filter(e => e.observer === by.id && e.status === 'suspect' && /no ack to a probe/.test(e.reason)).length
}

test('a suspicion runs from max to min as independent confirmations arrive; the accuser and repeats do not count', async () => {
  const clock = new VirtualClock(1_800_000_000_000)
  const fired: Array<{ at: number, confirmations: number }> = []
  const start = clock.now()
  void new Suspicion(clock, 'accuser', 2, 2000, 12_000, (n) => fired.push({ at: clock.now() - start, confirmations: n }))
  await advance(clock, 20_000)
  assert.equal(fired, [{ at: 12_000, confirmations: 0 }], 'unconfirmed: the longest timeout')
  fired.length = 0
  const t0 = clock.now()
  const confirmed = new Suspicion(clock, 'accuser', 2, 2000, 12_000, (n) => fired.push({ at: clock.now() - t0, confirmations: n }))
  assert.not.ok(confirmed.confirm('accuser'), 'the accuser does not confirm its own suspicion')
  assert.ok(confirmed.confirm('b'))
  assert.not.ok(confirmed.confirm('b'), 'once per member')
  await advance(clock, 500)
  assert.ok(confirmed.confirm('c'))
  assert.not.ok(confirmed.confirm('d'), 'enough confirmations: no more wanted')
  await advance(clock, 20_000)
  assert.equal(fired, [{ at: 2000, confirmations: 2 }], 'confirmed twice: the shortest timeout')
  fired.length = 0
  const t1 = clock.now()
  const late = new Suspicion(clock, 'accuser', 2, 2000, 12_000, (n) => fired.push({ at: clock.now() - t1, confirmations: n }))
  await advance(clock, 5000)
  late.confirm('b')
  late.confirm('c')
  await advance(clock, 1)
  assert.equal(fired, [{ at: 5000, confirmations: 2 }], 'confirmed after the shortest timeout passed: at once')
})

test('local health: a node cut off from everyone raises its score and slows down; healthy nodes stay at 0; helpers that nack keep it at 0', async () => {
  const mesh = await SwimCluster.start(8)
  await mesh.advance(5000)
  const [lonely, ...others] = mesh.hosts
  mesh.partition([lonely], others)
  const probes = lonely.m.stats.probes
  await mesh.advance(30_000)
  assert.ok(lonely.m.awareness.score >= 4, `score ${lonely.m.awareness.score}`)
  assert.ok(lonely.m.stats.probes - probes < 30, `${lonely.m.stats.probes - probes} probes in 30 s: slowed down from 60`)
  for (const h of others) assert.is(h.m.awareness.score, 0, 'the others missed nothing but acks of a partitioned node, and their helpers nacked')
})

test('a 3-node mesh: a node cut off for 4 s declares nobody dead (its suspicions wait for a confirmation the third node cannot give), and all are alive after the heal', async () => {
  const mesh = await SwimCluster.start(3, { seed: 7 })
  await mesh.advance(5000)
  const [lonely, ...others] = mesh.hosts
  const from = mesh.events.length
  mesh.partition([lonely], others)
  await mesh.advance(4000)
  mesh.heal()
  await mesh.advance(20_000)
  const after = mesh.events.slice(from)
  assert.ok(after.some(e => e.observer === lonely.id && e.status === 'suspect'), 'it did suspect the others')
  assert.equal(after.filter(e => e.observer === lonely.id && e.status === 'dead').map(e => e.reason), [], 'but declared none dead')
  for (const h of mesh.hosts) assert.ok(mesh.agree(h, 'alive'), 'everyone alive everywhere after the heal')
})

test('a slow node (every message to or from it 450 ms late) accuses healthy members far less with the local health multiplier, and nobody healthy dies', async () => {
  const run = async (awarenessMax: number): Promise<{ accusations: number, deaths: number }> => {
    const mesh = await SwimCluster.start(10, { config: { awarenessMax }, seed: 3, portProbes: false })
    await mesh.advance(5000)
    const slow = mesh.hosts[0]
    slow.slowness = 450
    await mesh.advance(120_000)
    const deaths = mesh.events.filter(e => e.status === 'dead' && e.subject !== slow.id).length
    return { accusations: falseAccusations(mesh, slow), deaths }
  }
  const without = await run(1)
  const withLhm = await run(8)
  assert.ok(without.accusations >= 10, `without LHM: ${without.accusations} false accusations`)
  assert.ok(withLhm.accusations * 3 <= without.accusations, `with LHM ${withLhm.accusations}, without ${without.accusations}`)
  assert.is(withLhm.deaths, 0, 'no healthy member declared dead')
})

test('a node whose CPU stalls for 5 s: on resuming, its late timers fire before the acks it missed; with Lifeguard it accuses fewer healthy members, and none dies', async () => {
  const run = async (awarenessMax: number): Promise<{ accusations: number, deaths: number }> => {
    const mesh = await SwimCluster.start(20, { config: { awarenessMax }, latency: 20, seed: 5, portProbes: false })
    await mesh.advance(10_000)
    const stalled = mesh.hosts[4]
    let accusations = 0
    let deaths = 0
    for (let i = 0; i < 5; i++) {
      const from = mesh.events.length
      stalled.clock.stall(5000)
      await mesh.advance(30_000)
      const after = mesh.events.slice(from)
      accusations += after.filter(e => e.observer === stalled.id && e.status === 'suspect' && /no ack to a probe/.test(e.reason)).length
      deaths += after.filter(e => e.status === 'dead' && e.subject !== stalled.id).length
    }
    return { accusations, deaths }
  }
  const without = await run(1)
  const withLhm = await run(8)
  assert.is(withLhm.deaths, 0, 'no healthy member declared dead')
  assert.ok(withLhm.accusations <= without.accusations, `with LHM ${withLhm.accusations}, without ${without.accusations}`)
})

test('a node stalled for 3 s is not declared dead by a member with nobody to confirm it: its refutation reaches the accuser even though it rode on acks the accuser had given up on', async () => {
  // no port probes: the accuser must not hold back, so the refutation path is what keeps the node alive
  const mesh = await SwimCluster.start(2, { latency: 20, seed: 13, portProbes: false })
  await mesh.advance(10_000)
  const stalled = mesh.hosts[1]
  for (let i = 0; i < 5; i++) {
    stalled.clock.stall(3000)
    await mesh.advance(30_000)
  }
  assert.ok(mesh.events.some(e => e.subject === stalled.id && e.status === 'suspect'), 'it was suspected')
  assert.equal(mesh.events.filter(e => e.status === 'dead').map(e => `${e.subject.slice(-4)} by ${e.observer.slice(-4)}: ${e.reason}`), [])
  for (const h of mesh.hosts) assert.ok(mesh.agree(h, 'alive'), 'everyone alive everywhere')
})

test('a 3-node mesh on a loaded machine: a node that stalls for 4.5 s, with every message up to 300 ms late, is not declared dead by the two that miss its acks (its port still accepts connections)', async () => {
  for (const seed of [1, 2, 3, 4]) {
    const mesh = await SwimCluster.start(3, { latency: 20, jitter: 300, seed })
    await mesh.advance(10_000)
    const stalled = mesh.hosts[seed % 3]
    for (let i = 0; i < 4; i++) {
      stalled.clock.stall(4500)
      await mesh.advance(20_000)
    }
    const others = mesh.hosts.filter(h => h !== stalled)
    assert.ok(others.every(h => h.m.stats.stalled > 0), 'both missed its acks and held back')
    assert.equal(mesh.events.filter(e => e.status === 'dead').map(e => `seed ${seed}: ${e.subject.slice(-4)} by ${e.observer.slice(-4)}: ${e.reason}`), [])
    for (const h of mesh.hosts) assert.ok(mesh.agree(h, 'alive'), 'everyone alive everywhere')
  }
})

test('a hung process (its port accepts connections, it answers nothing) is declared dead after the stall allowance; a vanished host at once', async () => {
  const mesh = await SwimCluster.start(3, { latency: 20, jitter: 300, seed: 5 })
  await mesh.advance(10_000)
  const [hung] = mesh.hosts
  const allowance = hung.m.config.stallAllowance
  hung.clock.stall(600_000)
  const tookHung = await mesh.until(() => mesh.hosts[1].m.status(hung.id) === 'dead' && mesh.hosts[2].m.status(hung.id) === 'dead', 60_000, 'the hung node is declared dead')
  assert.ok(tookHung > allowance && tookHung < allowance + 8000, `hung: declared dead after ${tookHung} ms`)
  assert.match(mesh.eventsAbout(hung, 'suspect')[0].reason, /its port accepts connections/)
  const mesh2 = await SwimCluster.start(3, { latency: 20, jitter: 300, seed: 5 })
  await mesh2.advance(10_000)
  mesh2.vanish(mesh2.hosts[2])
  const tookGone = await mesh2.until(() => mesh2.agree(mesh2.hosts[2], 'dead'), 60_000, 'the vanished node is declared dead')
  assert.ok(tookGone < allowance, `vanished: declared dead after ${tookGone} ms, no stall allowance`)
})

test('10% loss, as TCP sees it (retransmissions): 50 members for 10 virtual minutes, nobody declared dead', async () => {
  const mesh = await SwimCluster.start(50, { loss: 0.1, latency: 40, seed: 11 })
  await mesh.advance(600_000)
  const deaths = mesh.events.filter(e => e.status === 'dead')
  assert.equal(deaths.map(e => `${e.subject.slice(-4)} by ${e.observer.slice(-4)}: ${e.reason}`), [])
  const suspicions = mesh.events.filter(e => e.status === 'suspect').length
  assert.ok(mesh.running().every(h => h.m.live().length === 50))
  console.log(`  10% loss, 50 members, 10 min: ${suspicions} suspicion events, all refuted`)
})

test('a starved machine (every node runs in slices between stalls of 50-800 ms) with ports that cannot be probed: a node that saw its own timers fire late accuses nobody, and nobody dies', async () => {
  for (const seed of [1, 2]) {
    // no port probes (members behind relays, or whose addresses are not known): only the probes themselves tell
    const mesh = await SwimCluster.start(20, { latency: 2, jitter: 50, seed, portProbes: false })
    await mesh.advance(10_000)
    const random = prng(seed * 31)
    const from = mesh.events.length
    const end = mesh.clock.now() + 60_000
    for (const host of mesh.hosts) {
      const slice = (): void => {
        if (mesh.clock.now() > end) return
        const stall = 50 + random() * 750
        host.clock.stall(stall)
        mesh.clock.after(stall + 20 + random() * 180, slice)
      }
      mesh.clock.after(random() * 500, slice)
    }
    await mesh.advance(70_000)
    const after = mesh.events.slice(from)
    const raised = after.filter(e => e.status === 'suspect' && /no ack to a probe/.test(e.reason)).length
    // before: about 40 a minute, each a suspicion and a refutation gossiped to all 20
    assert.ok(raised <= 8, `seed ${seed}: ${raised} live members accused in a minute`)
    assert.equal(after.filter(e => e.status === 'dead').map(e => e.reason), [])
    assert.ok(mesh.hosts.some(h => h.m.stats.lagged > 0), 'nodes held back for their own lag')
  }
})

test('a lagging node still accuses at once a member whose host answers no TCP dial (a vanished host), and holds back for one whose port accepts', async () => {
  for (const hung of [false, true]) {
    const mesh = await SwimCluster.start(2, { latency: 5, seed: 19 })
    await mesh.advance(5000)
    const [observer, other] = mesh.hosts
    // the observer runs in slices: 150 ms stalls every 300 ms
    const slices = mesh.clock.every(300, () => observer.clock.stall(150))
    const at = mesh.clock.now()
    if (hung) other.clock.stall(600_000)
    else mesh.vanish(other)
    const took = await mesh.until(() => observer.m.status(other.id) !== 'alive', 60_000, 'suspected')
    slices.cancel()
    if (hung) assert.ok(took >= other.m.config.stallAllowance, `hung: accused after ${took} ms, not before the stall allowance`)
    else assert.ok(took < 3000, `vanished: accused after ${took} ms (${mesh.clock.now() - at}), not held back for the observer's own lag`)
  }
})

test('local health does not stretch a suspicion: a node whose every probe fails (score at its top, as on the minority side of a partition) still declares an unconfirmed suspect dead within the longest suspicion', async () => {
  const mesh = await SwimCluster.start(2, { latency: 5, seed: 17 })
  await mesh.advance(5000)
  const [observer, gone] = mesh.hosts
  observer.m.awareness.apply(100)
  mesh.vanish(gone)
  await mesh.until(() => observer.m.status(gone.id) === 'suspect', 600_000, 'suspected')
  // the harness's until gives the virtual ms it waited: from the suspicion to the death
  const suspicion = await mesh.until(() => observer.m.status(gone.id) === 'dead', 600_000, 'declared dead')
  const longest = observer.m.config.suspicionMaxMult * suspicionTimeout(observer.m.config, 2)
  // a suspicion timer may wait once more when it fires late (at most the shortest suspicion)
  assert.ok(suspicion <= longest + suspicionTimeout(observer.m.config, 2), `dead ${suspicion} ms after the suspicion; the longest is ${longest} ms`)
})

test.run()
