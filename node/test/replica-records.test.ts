/**
 * Replica records go straight to the nodes concerned with a service: on a
 * change, to a newcomer of the audience, again after a failed send, never
 * when nothing changed; a newly concerned node asks and waits (pending); a
 * restarted node's old records are void; a record that came before its
 * receiver was concerned is asked for once it is.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeMessage, encodeMessage, type ReplicasMessage } from '@minga/protocol'
import { ReplicaRecords } from '../src/core/membership/replica-records.js'
import { VirtualClock } from '../src/core/index.js'
import { advance, until } from './virtual-clock.js'

const S = 'acme/web'
const T = 'acme/db'

class Net {
  readonly clock = new VirtualClock(1_800_000_000_000)
  readonly nodes = new Map<string, ReplicaRecords>()
  readonly audience = new Map<string, Map<string, string[]>>()
  /** dead: out of every audience, and unreachable */
  readonly down = new Set<string>()
  /** alive, but messages to it are lost */
  readonly unreachable = new Set<string>()
  messages = 0

  add (id: string, boot = this.clock.now()): ReplicaRecords {
    this.nodes.get(id)?.stop()
    const records = new ReplicaRecords({
      self: id,
      meshId: 'm',
      clock: this.clock,
      boot,
      audience: (service) => (this.audience.get(id)?.get(service) ?? []).filter(p => !this.down.has(p)),
      mesh: {
        request: async (peer: string, _protocol: string, data: Uint8Array) => {
          this.messages++
          await this.clock.sleep(10)
          if (this.down.has(peer) || this.down.has(id) || this.unreachable.has(peer)) { await this.clock.sleep(1000); throw new Error('timeout') }
          const answer = this.nodes.get(peer)!.answer(decodeMessage(data) as ReplicasMessage, id)
          await this.clock.sleep(10)
          return encodeMessage(answer)
        }
      }
    })
    this.nodes.set(id, records)
    return records
  }

  /** `id` sends its records of `service` to `peers` */
  hear (id: string, service: string, peers: string[]): void {
    let byService = this.audience.get(id)
    if (byService === undefined) this.audience.set(id, byService = new Map())
    byService.set(service, peers)
  }
}

const copy = (service: string, replica: number, healthy = true, hash = 'aaaa1111'): { service: string, replica: number, hash: string, healthy: boolean } => ({ service, replica, hash, healthy })

test('a change goes to the audience at once; a stop says "none"; nothing changed, nothing sent', async () => {
  const net = new Net()
  const a = net.add('a')
  const b = net.add('b')
  net.hear('a', S, ['b'])
  net.hear('b', S, ['a'])
  b.refresh(new Set([S]))
  a.update([copy(S, 0, false)])
  await until(net.clock, () => b.reportsFor(S).get('a')?.[0]?.healthy === false, 1000, 'b hears a starting')
  a.update([copy(S, 0, true)])
  await until(net.clock, () => b.reportsFor(S).get('a')?.[0]?.healthy === true, 1000, 'b hears a healthy')
  const sent = net.messages
  for (let i = 0; i < 10; i++) a.update([copy(S, 0, true)])
  await advance(net.clock, 60_000)
  assert.is(net.messages, sent, 'no change, no message')
  a.update([])
  await until(net.clock, () => !b.reportsFor(S).has('a'), 1000, 'b hears a stopped')
})

test('a node newly concerned with a service asks its audience, and is pending until they answered (a dead one leaves the audience)', async () => {
  const net = new Net()
  const a = net.add('a')
  const b = net.add('b')
  const c = net.add('c')
  a.update([copy(S, 0)])
  net.hear('c', S, ['a', 'b'])
  c.refresh(new Set([S]))
  assert.ok(c.pending(S), 'pending until a and b answered')
  await until(net.clock, () => !c.pending(S), 1000, 'answered')
  assert.equal([...c.reportsFor(S).keys()], ['a'], 'a runs a copy, b none')
  // d is asked but dies before answering: once it leaves the audience, nothing is pending any more
  const d = net.add('d')
  d.update([copy(T, 0)])
  net.hear('c', T, ['d'])
  net.down.add('d')
  net.hear('c', T, ['d'])
  c.refresh(new Set([S, T]))
  assert.not.ok(c.pending(T), 'a dead member is not in the audience: nothing to wait for')
  void b
})

test('a newcomer to the audience gets the current record; one that left and came back gets it again; a failed send is retried', async () => {
  const net = new Net()
  const a = net.add('a')
  const b = net.add('b')
  const c = net.add('c')
  for (const r of [b, c]) r.refresh(new Set([S]))
  net.hear('a', S, ['b'])
  a.update([copy(S, 0)])
  await until(net.clock, () => b.reportsFor(S).has('a'), 1000, 'b has it')
  net.hear('a', S, ['b', 'c'])
  a.refresh(new Set([S]))
  await until(net.clock, () => c.reportsFor(S).has('a'), 1000, 'the newcomer c has it')
  // b leaves the audience (and drops the service), then comes back
  net.hear('a', S, ['c'])
  a.refresh(new Set([S]))
  b.refresh(new Set())
  assert.is(b.reportsFor(S).size, 0, 'records of services not concerned are dropped')
  b.refresh(new Set([S]))
  net.hear('b', S, [])
  net.hear('a', S, ['b', 'c'])
  a.refresh(new Set([S]))
  await until(net.clock, () => b.reportsFor(S).has('a'), 1000, 'b has it again')
  // c cannot be reached for a while: the change reaches it once it can
  net.unreachable.add('c')
  a.update([copy(S, 0, false)])
  await advance(net.clock, 3000)
  assert.ok(a.stats.failed > 0)
  net.unreachable.delete('c')
  await until(net.clock, () => c.reportsFor(S).get('a')?.[0]?.healthy === false, 10_000, 'c gets the change after the retries')
})

test('a record that came before its receiver was concerned is asked for again once it is, also after a spell of not being concerned', async () => {
  const net = new Net()
  const a = net.add('a')
  const b = net.add('b')
  // a runs a copy it is not assigned (its side of a healed partition); b is the owner, but does not know it yet
  net.hear('a', S, ['b'])
  a.update([copy(S, 0)])
  await until(net.clock, () => net.messages > 0, 1000, 'a sends its record to b')
  await advance(net.clock, 1000)
  assert.not.ok(b.reportsFor(S).has('a'), 'b, not concerned, keeps no record')
  // b's audience (the assigned nodes) does not name a: only the early record tells b of a's copy
  b.refresh(new Set([S]))
  assert.ok(b.pending(S), 'b waits on a')
  await until(net.clock, () => b.reportsFor(S).get('a')?.[0]?.healthy === true && !b.pending(S), 1000, 'b asks a and hears its copy')
  // the assignment flips away from b and back: b asks a again
  b.refresh(new Set())
  assert.not.ok(b.reportsFor(S).has('a'))
  b.refresh(new Set([S]))
  await until(net.clock, () => b.reportsFor(S).get('a')?.[0]?.healthy === true, 1000, 'b asks a again')
})

test('a restarted node\'s records of its old process are void', async () => {
  const net = new Net()
  const a = net.add('a')
  const b = net.add('b')
  b.refresh(new Set([S, T]))
  net.hear('a', S, ['b'])
  net.hear('a', T, ['b'])
  a.update([copy(S, 0), copy(T, 1)])
  await until(net.clock, () => b.reportsFor(S).has('a') && b.reportsFor(T).has('a'), 1000, 'b has both')
  await advance(net.clock, 1000)
  // a restarts with nothing running: b learns its new boot (from membership) and drops the old records
  net.add('a', net.clock.now())
  b.peerBoot('a', net.clock.now())
  assert.not.ok(b.reportsFor(S).has('a'))
  assert.not.ok(b.reportsFor(T).has('a'))
})

test('members removed from the mesh leave nothing behind: what a node keeps per peer stays bounded however many come and go', async () => {
  const net = new Net()
  const a = net.add('a')
  a.refresh(new Set([S]))
  a.update([copy(S, 0)])
  for (let i = 0; i < 50; i++) {
    const id = `p${i}`
    const p = net.add(id)
    // p runs a copy of S and tells a; a's record goes to p (a ack and a boot of p kept)
    net.hear(id, S, ['a'])
    net.hear('a', S, [id])
    p.refresh(new Set([S]))
    p.update([copy(S, 1)])
    a.update([copy(S, 0, i % 2 === 0)])
    await until(net.clock, () => a.reportsFor(S).has(id), 5000, `a hears ${id}`)
    // p is removed from the mesh: out of every audience, and out of the member list
    p.stop()
    net.down.add(id)
    net.hear('a', S, [])
    a.retain(new Set(['a']))
    assert.not.ok(a.reportsFor(S).has(id), `nothing held of removed ${id}`)
    assert.ok(a.trackedPeers <= 1, `peers tracked after ${i + 1} removals: ${a.trackedPeers}`)
  }
})

test.run()
