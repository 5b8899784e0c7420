/**
 * A node that restarts after members died hears of their deaths in a peer's
 * table. Each is only a suspicion here (a live member a stale row holds dead
 * must be able to refute), but one the node confirms quickly: the mesh has
 * already moved the dead members' replicas to it, and while it holds them
 * live it places replicas on them. Virtual clock, modelled network.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { suspicionTimeout } from '../src/core/index.js'
import { SwimCluster, type Host } from './membership-harness.js'

const N = 30

/** virtual ms after `since` at which `observer` first held `subject` dead */
function deadAfter (mesh: SwimCluster, observer: Host, subject: Host, since: number): number | undefined {
  return mesh.events.find(e => e.observer === observer.id && e.subject === subject.id && e.status === 'dead' && e.at >= since)?.at
}

test('a node restarted after members died holds them live far shorter than the longest suspicion', async () => {
  const mesh = await SwimCluster.start(N)
  await mesh.advance(10_000)
  const [restarted, ...others] = mesh.hosts
  const killed = others.slice(0, 3)
  const vanished = others.slice(3, 5)
  mesh.kill(restarted)
  for (const host of killed) mesh.kill(host)
  for (const host of vanished) mesh.vanish(host)
  const gone = [...killed, ...vanished]
  await mesh.until(() => gone.every(h => mesh.agree(h, 'dead')), 120_000, 'the mesh declares them dead')
  await mesh.advance(2_000)
  const bootAt = mesh.clock.now()
  const m = mesh.boot(restarted)
  const shortest = suspicionTimeout(m.config, N)
  const longest = m.config.suspicionMaxMult * shortest
  await mesh.until(() => gone.every(h => !m.live().includes(h.id)), longest + 5_000, 'the restarted node holds them dead')
  const took = gone.map(h => (deadAfter(mesh, restarted, h, bootAt) ?? Infinity) - bootAt)
  // a killed process's host refuses the probe's dial: dead within a round trip of the push-pull that told of it
  for (const ms of took.slice(0, killed.length)) assert.ok(ms < 1_000, `a killed member held live ${ms} ms (took: ${took.join(', ')})`)
  // a vanished host: the peer's verdict and this node's own failed probe are two confirmations: the shortest suspicion
  for (const ms of took.slice(killed.length)) assert.ok(ms < shortest + 2_000, `a vanished member held live ${ms} ms; shortest ${shortest}, longest ${longest} (took: ${took.join(', ')})`)
})

test('a live member a stale row holds dead refutes, unreachable directly and with 10 % loss, and nobody declares it dead', async () => {
  for (const seed of [1, 2, 3]) {
    const mesh = await SwimCluster.start(N, { loss: 0.1, seed })
    await mesh.advance(10_000)
    const [restarted, stale, member] = mesh.hosts
    mesh.kill(restarted)
    await mesh.until(() => mesh.agree(restarted, 'dead'), 60_000, 'the restarted node dead first')
    // `stale` holds `member` dead at the incarnation everyone knows (a row from before a refutation it missed), and tells nobody
    const row = stale.m.table.get(member.id)!
    stale.m.table.set({ ...row, status: 'dead' })
    const since = mesh.clock.now()
    const m = mesh.boot(restarted)
    mesh.cut(restarted, member)
    let pulled = false
    void m['prober'].pushPull(stale.id).then(() => { pulled = true })
    await mesh.until(() => pulled, 10_000, 'a push-pull with the stale node')
    assert.ok(mesh.events.some(e => e.observer === restarted.id && e.subject === member.id && e.status === 'suspect'), `seed ${seed}: the stale row made it a suspect`)
    await mesh.until(() => m.status(member.id) === 'alive', suspicionTimeout(m.config, N), `seed ${seed}: it refuted`)
    assert.ok(m.table.get(member.id)!.inc > row.inc, 'at a new incarnation')
    await mesh.advance(60_000)
    assert.equal(mesh.events.filter(e => e.subject === member.id && e.status === 'dead' && e.at >= since), [], `seed ${seed}: nobody declared it dead`)
    assert.is(m.status(member.id), 'alive')
  }
})

test('a member restarted at a new address, heard of second-hand: a refused dial of its old address is no proof of death', async () => {
  for (const seed of [1, 2, 3]) {
    const mesh = await SwimCluster.start(3, { seed })
    await mesh.advance(10_000)
    const [restarted, , stale] = mesh.hosts
    mesh.kill(restarted)
    await mesh.until(() => mesh.agree(restarted, 'dead'), 60_000, 'dead first')
    // the new process listens elsewhere: `stale` still dials the old address, and the new one never dials it
    // (a firewall, say); `stale` hears of the restart from the third node only
    const since = mesh.clock.now()
    mesh.boot(restarted, {}, [stale])
    mesh.cuts.add(`${restarted.index}/${stale.index}`)
    await mesh.until(() => stale.m.status(restarted.id) === 'alive', 30_000, 'the stale node hears of the restart')
    await mesh.advance(20_000)
    const deaths = mesh.events.filter(e => e.at > since && e.subject === restarted.id && e.status === 'dead')
    assert.equal(deaths, [], `seed ${seed}: the restarted member declared dead on a refused dial of its old address`)
    assert.is(stale.m.status(restarted.id), 'alive', `seed ${seed}`)
  }
  // the doubt is for the restart only: a member dead again is declared dead (its suspicion runs out, no proof needed)
  const mesh = await SwimCluster.start(3)
  await mesh.advance(10_000)
  const [restarted, , stale] = mesh.hosts
  mesh.kill(restarted)
  await mesh.until(() => mesh.agree(restarted, 'dead'), 60_000, 'dead first')
  mesh.boot(restarted, {}, [stale])
  await mesh.until(() => stale.m.status(restarted.id) === 'alive', 30_000, 'the stale node hears of the restart')
  const again = mesh.clock.now()
  mesh.kill(restarted)
  await mesh.until(() => mesh.agree(restarted, 'dead'), 60_000, 'dead again')
  assert.ok(mesh.clock.now() - again < 30_000, `declared dead again after ${mesh.clock.now() - again} ms`)
})

test('a member held dead at an older incarnation stays dead when a peer\'s table holds it dead at a newer one: no node-up, no second death', async () => {
  for (const seed of [1, 2, 3]) {
    const mesh = await SwimCluster.start(3, { seed })
    await mesh.advance(10_000)
    const [victim, peer, behind] = mesh.hosts
    const older = behind.m.table.get(victim.id)!
    // the victim refutes an accusation (a loaded machine): everyone hears its new incarnation, then it dies
    peer.m.members.accuse(victim.id, 'test')
    await mesh.until(() => mesh.hosts.every(h => h === victim || h.m.table.get(victim.id)!.inc > older.inc), 30_000, 'the refutation spreads')
    mesh.kill(victim)
    await mesh.until(() => mesh.agree(victim, 'dead'), 60_000, 'dead')
    await mesh.advance(2_000)
    // `behind` missed the refutation: it declared the victim dead at the older incarnation
    behind.m.table.set({ ...older, status: 'dead' })
    const since = mesh.clock.now()
    let pulled = false
    void behind.m['prober'].pushPull(peer.id).then(() => { pulled = true })
    await mesh.until(() => pulled, 10_000, 'a push-pull with the peer')
    await mesh.advance(10_000)
    const changes = mesh.events.filter(e => e.at >= since && e.observer === behind.id && e.subject === victim.id)
    assert.equal(changes.map(e => `${e.status}: ${e.reason}`), [], `seed ${seed}: the dead member came back alive from the row's alive proof and died again`)
    assert.is(behind.m.status(victim.id), 'dead')
  }
})

test.run()
