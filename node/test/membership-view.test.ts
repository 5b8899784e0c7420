/**
 * What one member's status change costs a node: its live set, alive count,
 * live key and "a member still unheard" follow the change in a step, not in
 * a pass over every member (every node of a simulated mesh hears every
 * change: at 10,000 nodes a pass each was 10⁸ row reads per change). They
 * still say what a pass over the table says.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { identityFromName, type AliveUpdate, type Identity, type PeerIdString } from '@minga/protocol'
import { Membership, VirtualClock, type MembershipMesh } from '../src/core/index.js'
import type { Member } from '../src/core/membership/table.js'

const MESH = 'view-test'
const N = 400

/** a row store that counts its reads */
class CountingRows extends Map<string, Member> {
  reads = 0
  override get (key: string): Member | undefined {
    this.reads++
    return super.get(key)
  }

  /** a read that is not counted (the test's own reference pass) */
  peek (key: string): Member | undefined {
    return super.get(key)
  }
}

const alive = (node: string, inc: number): AliveUpdate => ({ kind: 'alive', node: node as PeerIdString, inc, boot: 1, sig: `${node}@${inc}` })

function membership (identity: Identity, members: () => readonly string[], store: CountingRows): Membership {
  return new Membership({
    identity,
    meshId: MESH,
    mesh: {} as unknown as MembershipMesh,
    clock: new VirtualClock(1_000_000),
    random: () => 0.5,
    members,
    digest: () => 'd',
    verifyAlive: () => true,
    store
  })
}

/** a node whose table already holds every member's alive proof (a mesh that has run a while) */
async function warm (): Promise<{ m: Membership, rows: CountingRows, ids: string[], identity: Identity }> {
  const identity = await identityFromName('view-self')
  const ids = [identity.peerId, ...Array.from({ length: N - 1 }, (_, i) => `peer-${String(i).padStart(4, '0')}`)].sort()
  const rows = new CountingRows()
  for (const node of ids) rows.set(node, { node, status: 'alive', inc: 1, alive: alive(node, 1) })
  const m = membership(identity, () => ids, rows)
  return { m, rows, ids, identity }
}

/** what the reconciler reads of membership on each pass */
function read (m: Membership): string {
  return `${m.live().length} ${m.liveKey()} ${m.confirmed()} ${String(m.booting())}`
}

test('a member turning suspect, dead and alive again costs the live set a step, and it says what a pass over the table says', async () => {
  const { m, rows, ids, identity } = await warm()
  read(m)
  rows.reads = 0
  const changes = ids.filter(id => id !== identity.peerId).slice(0, 30)
  const from = ids.find(id => id !== identity.peerId && !changes.includes(id))! as PeerIdString
  let steps = 0
  for (const [i, node] of changes.entries()) {
    m.receive([{ kind: 'suspect', node: node as PeerIdString, inc: 1, from }])
    read(m)
    m.receive([{ kind: 'dead', node: node as PeerIdString, inc: 1, from }])
    read(m)
    steps += 2
    if (i % 3 === 0) {
      m.receive([alive(node, 2)])
      read(m)
      steps++
    }
  }
  // before: every change was a pass over every member for the live set, and another for "a member unheard" (≥ 2 × 400 reads)
  assert.ok(rows.reads < steps * 20, `${rows.reads} row reads for ${steps} status changes of ${N} members`)
  assert.is(m.livePasses, 1, 'the live set was derived once, at the first read')

  // a pass over the same rows (another node with this table) derives the same live set, key and counts
  const copy = new CountingRows()
  for (const node of ids) copy.set(node, rows.peek(node)!)
  const fresh = membership(identity, () => ids, copy)
  assert.is(read(m), read(fresh))
  assert.equal(m.live(), ids.filter(id => ['alive', 'suspect'].includes(rows.peek(id)!.status)))
  assert.is(m.live(), fresh.live(), 'the same interned list')
  // two nodes that hear the same change hold one list: the second finds the first's
  const [gone, back] = [changes[1], changes[3]]
  for (const node of [m, fresh]) node.receive([{ kind: 'dead', node: ids.find(id => !changes.includes(id) && id !== from && id !== identity.peerId)! as PeerIdString, inc: 1, from }, alive(gone, 5), { kind: 'suspect', node: back as PeerIdString, inc: 2, from }])
  assert.is(m.live(), fresh.live(), 'one list after the same changes')
  assert.is(read(m), read(fresh))
  assert.equal(m.live(), ids.filter(id => ['alive', 'suspect'].includes(rows.peek(id)!.status)))
})

test('a joiner costs the table a step, and a member still unheard is counted as rows change: booting ends with its first alive update, without a pass', async () => {
  const { m, rows, ids, identity } = await warm()
  assert.is(m.booting(), false, 'every member has been heard of')
  const joiner = 'peer-9999'
  let members: readonly string[] = ids
  const copy = new CountingRows()
  for (const node of ids) copy.set(node, rows.peek(node)!)
  const joined = membership(identity, () => members, copy)
  read(joined)
  copy.reads = 0
  members = [...ids, joiner].sort()
  joined.followMembers()
  // before: a lookup per member, and a set of them, for each new member list (the live set is derived again from it: one pass per list)
  assert.ok(copy.reads < 10, `${copy.reads} row reads to follow a member list that gained one member`)
  assert.is(joined.booting(), true, 'a member only assumed alive')
  assert.equal(joined.live(), members)
  copy.reads = 0
  joined.receive([alive(joiner, 1)])
  assert.is(joined.booting(), false, 'heard of: nothing is unheard')
  read(joined)
  assert.ok(copy.reads < 20, `${copy.reads} row reads for one alive update`)
  joined.receive([{ kind: 'dead', node: joiner as PeerIdString, inc: 1, from: ids[0] as PeerIdString }])
  assert.is(joined.live().includes(joiner), false)
  assert.is(joined.live().length, N)
})

test.run()
