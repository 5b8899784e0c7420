/**
 * A mesh that has run a while (`mesh.warm` in a scenario): every node
 * starts with a member table that already holds every member's current
 * alive update, signed by that member, as the join's push-pulls and the
 * gossip after it would have left it. Without it, every node of a mesh
 * that boots at once learns every other's first alive update and passes
 * each on `retransmitLimit` times: n² updates, each sent about 16 times at
 * 1,000 nodes (the first ~25 virtual s of such a run, most of its CPU) and
 * 2·10⁹ sends at 10,000. A real mesh grows by joins, each told to all,
 * and is never built at once; the warm start models the mesh the
 * scenario is about, not its construction.
 *
 * The rows are what the nodes would hold: each alive update is the one the
 * node signs itself when its process starts at that instant (Ed25519
 * signatures are deterministic), so its own gossip of it finds every table
 * agreeing. The tables share one store's chunks until they differ.
 */
import { MemberTable, type Member } from '@minga/node/core'
import { signAlive, type Identity } from '@minga/protocol'
import type { SharedStore, SharedStoreFactory } from '../engine/shared-store.js'

/** the member table every node of a warm mesh starts with, each process started at `boot` (ms) */
export function warmMembers (stores: SharedStoreFactory, meshId: string, identities: readonly Identity[], boot: number): SharedStore<Member> {
  const table = stores<Member>('members') as SharedStore<Member>
  for (const identity of identities) {
    table.set(identity.peerId, Object.freeze({ node: identity.peerId, status: 'alive', inc: boot, alive: signAlive(identity, meshId, boot, boot) }))
  }
  table.seal()
  // every node's table is a fork of this one: its digest is derived here once, not once per node (forks carry it)
  table.summary = new MemberTable(table).summary()
  return table
}
