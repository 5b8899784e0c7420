/**
 * A node knows how far its clock is from the mesh's, from the times its
 * peers' acks to its probes carry: it warns beyond a few seconds, and a node so
 * far ahead that every other node refuses its entries refuses the write
 * itself and says to fix the clock, instead of acknowledging a change the
 * mesh will drop.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseServiceSpec } from '@minga/protocol'
import { ClockOffsets, clockVerdict } from '../src/index.js'
import { TestCluster, played, waitFor } from './core-cluster.js'

test('the estimate: per peer the sample of the shortest round trip, the median over this node and its peers', () => {
  const offsets = new ClockOffsets()
  // peer a's clock is 1000 ms behind ours; an ack takes 5 to 400 ms to come back, and the slow ones are asymmetric
  for (const [out, back] of [[380, 20], [2, 3], [100, 20]]) offsets.sample('a', 10_000 + out - 1000, 10_000, 10_000 + out + back)
  offsets.sample('b', 20_000 - 1000, 20_000, 20_000)
  offsets.sample('d', 25_000 - 1000, 25_000, 25_000)
  offsets.sample('c', 30_000 + 300_000, 30_000, 30_000)
  const estimate = offsets.estimate(['a', 'b', 'c', 'd'], 60_000)!
  assert.equal(estimate, { aheadMs: 1000, peers: 4, refusedBy: [], refusing: [{ node: 'c', aheadMs: -300_000 }] }, 'the peer with a wild clock does not move the median')
  assert.is(clockVerdict(estimate, 60_000).level, 'warn')
  assert.match(clockVerdict(estimate, 60_000).text, /^Clocks disagree; 1 node\(s\) \(c\) run over 60 s ahead of this node, which refuses their changes; fix the clock with NTP .* on whichever server is wrong$/)
  // two nodes: each clock is its own first guess; the one that is ahead is refused by the other
  assert.equal(offsets.estimate(['c'], 60_000), { aheadMs: 0, peers: 1, refusedBy: [], refusing: [{ node: 'c', aheadMs: -300_000 }] })
  const ahead = new ClockOffsets()
  ahead.sample('x', 1_000_000 - 300_000, 1_000_000, 1_000_000)
  const verdict = clockVerdict(ahead.estimate(['x'], 60_000), 60_000)
  assert.is(verdict.level, 'refused')
  assert.match(verdict.text, /^This node's clock is 5 min ahead of the other nodes' \(all 1 it probed\): they refuse its changes \(stamped over 60 s ahead of their clocks\), so it refuses writes; fix the clock with NTP/)
  assert.is(offsets.estimate(['nobody'], 60_000), undefined)
  // every sampled peer that `include` keeps, in the order they were sampled: the same as naming them
  assert.equal(offsets.estimate(undefined, 60_000, (peer) => peer !== 'b'), offsets.estimate(['a', 'd', 'c'], 60_000))
  assert.is(offsets.estimate(undefined, 60_000, () => false), undefined)
  assert.is(clockVerdict({ aheadMs: 2000, peers: 3, refusedBy: [], refusing: [] }, 60_000).level, 'ok')
  assert.match(clockVerdict({ aheadMs: -20_000, peers: 3, refusedBy: [], refusing: [] }, 60_000).text, /^This node's clock is 20 s behind the mesh \(from probes of 3 nodes\): which change wins/)
})

test('the shortest round trip of the last 20 samples counts: when it leaves the window, the next shortest of those kept', () => {
  const offsets = new ClockOffsets()
  const at = (i: number, offset: number, rtt: number): void => { offsets.sample('a', i * 1000 + offset + rtt / 2, i * 1000, i * 1000 + rtt) }
  at(0, 500, 2)
  at(1, 300, 10)
  for (let i = 2; i < 20; i++) at(i, 100, 50)
  assert.is(offsets.estimate(['a'], 60_000)!.aheadMs, 0, 'two values: the one nearer this clock, 0')
  assert.is(offsets.estimate(['a', 'a'], 60_000)!.aheadMs, -500, 'the 2 ms sample counts')
  at(20, 100, 50)
  assert.is(offsets.estimate(['a', 'a'], 60_000)!.aheadMs, -300, 'it left the window: the 10 ms one')
  at(21, 100, 50)
  assert.is(offsets.estimate(['a', 'a'], 60_000)!.aheadMs, -100, 'then the first of the 50 ms ones')
  at(22, 700, 1)
  assert.is(offsets.estimate(['a', 'a'], 60_000)!.aheadMs, -700, 'a shorter one counts at once')
})

test('a node whose clock runs 5 minutes ahead says so in status and events, and refuses writes the mesh would refuse', async () => {
  const mesh = await TestCluster.start([{ org: 'acme' }, { org: 'acme' }, { org: 'acme', clockOffsetMs: 5 * 60_000 }])
  try {
    const [good, , skewed] = mesh.nodes
    await waitFor(() => skewed.core.clockOffset()?.peers === 2, 'the skewed node hears both others')
    const offset = skewed.core.clockOffset()!
    assert.ok(Math.abs(offset.aheadMs - 300_000) < 2000, `estimated ${offset.aheadMs} ms ahead`)
    const status = await played(skewed.core.operations.status())
    assert.is(status.healthy, false)
    assert.match(status.problems.join('\n'), /This node's clock is 5 min ahead of the other nodes' \(all 2 it probed\): they refuse its changes .*fix the clock with NTP/)
    await waitFor(() => skewed.core.events.recent().some(e => e.kind === 'clock' && /5 min ahead of the other nodes'/.test(e.reason)), 'a clock event')
    // the write the others would refuse is refused here, and nothing is written
    const digest = skewed.state.digest()
    assert.throws(() => skewed.core.operations.checkClockForWrite(), (err: Error) => err.name === 'ClockSkewError' && /so it refuses writes; fix the clock with NTP .* on this server/.test(err.message))
    assert.is(skewed.state.digest(), digest)
    // the others agree with each other: their own writes go through, and their status names the node they refuse
    await waitFor(() => good.core.clockOffset()?.peers === 2, 'a good node hears both others')
    assert.ok(Math.abs(good.core.clockOffset()!.aheadMs) < 1000, `a good node's estimate: ${good.core.clockOffset()!.aheadMs}`)
    good.core.operations.checkClockForWrite()
    assert.match((await played(good.core.operations.status())).problems.join('\n'), new RegExp(`1 node\\(s\\) \\(${skewed.identity.peerId.slice(-8)}\\) run over 60 s ahead of this node, which refuses their changes`))
    // had the skewed node written anyway, the mesh would have refused it (what the check protects from)
    await skewed.core.operations.deploy(parseServiceSpec('name: lost\nimage: minga/busybox:1\n', { org: 'acme' }))
    await waitFor(() => good.state.stats().rejected['clock-ahead'] !== undefined, 'the good node refuses the entry as clock-ahead')
    assert.is(good.state.value('service/acme/lost'), undefined)
  } finally {
    await mesh.stop()
  }
})

test.run()
