/**
 * Members on real libp2p hosts, as a node's daemon builds them (defaults():
 * TCP on 127.0.0.1, the private network, Noise, yamux, identify,
 * gossipsub; Libp2pMesh with membership's shared request stream;
 * ConnectionTrim), each running the real Membership on the system clock.
 * For the past-the-limit test and the membership-past-limit bench (which
 * splits its hosts over processes: hosts are made, told every member's
 * addresses, then started).
 */
import '../src/polyfill.js'
import { createLibp2p } from 'libp2p'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { generateIdentity, protocols, swarmKeyFile, type Identity, type MemberStatus } from '@minga/protocol'
import { systemClock } from '../src/core/clock.js'
import { Membership } from '../src/core/membership/membership.js'
import { MemberGater } from '../src/host/gater.js'
import { defaults } from '../src/host/libp2p-config.js'
import { ConnectionTrim } from '../src/host/connection-trim.js'
import { Libp2pMesh, type MeshLibp2p } from '../src/host/libp2p-mesh.js'
import type { Mesh } from '../src/core/mesh.js'

export const REAL_MESH_ID = 'real-members'
export const REAL_MEMBERSHIP = protocols.membership(REAL_MESH_ID)
/** one private-network key for every host of every process: from a fixed seed, never sent around */
const PSK = swarmKeyFile(new Uint8Array(32).fill(7))

/** a member's id and the addresses it listens on */
export interface Listing { id: string, addrs: string[] }

export interface RealMember {
  identity: Identity
  libp2p: MeshLibp2p
  mesh: Libp2pMesh
  trim: ConnectionTrim
  /** set by `startMembership`; undefined again once killed */
  membership?: Membership
}

/** `count` hosts listening on 127.0.0.1, each keeping `limit` connections; nothing runs on them yet */
export async function realHosts (count: number, limit: number): Promise<RealMember[]> {
  const identities = await Promise.all(Array.from({ length: count }, async () => await generateIdentity()))
  const out: RealMember[] = []
  for (const identity of identities) {
    const libp2p = await createLibp2p(defaults({ privateKey: identity.privateKey, meshId: REAL_MESH_ID, psk: PSK, listen: ['/ip4/127.0.0.1/tcp/0'], gater: new MemberGater({ isMember: () => true }), maxConnections: limit })) as MeshLibp2p
    const mesh = new Libp2pMesh(libp2p, { shared: [REAL_MEMBERSHIP], connectionLimit: limit })
    const trim = new ConnectionTrim({ libp2p, limit, idleFor: (peer) => mesh.activity.idleFor(peer), closing: (peer) => { mesh.closingIdle(peer) }, log: defaultLogger().forComponent('trim') })
    out.push({ identity, libp2p, mesh, trim })
  }
  return out
}

export function listing (member: RealMember): Listing {
  return { id: member.identity.peerId, addrs: member.libp2p.getMultiaddrs().map(a => a.toString()) }
}

/** every member's addresses in each host's peer store, as membership's records tell a node's (host/connector.ts) */
export async function learnAddresses (members: readonly RealMember[], all: readonly Listing[]): Promise<void> {
  for (const member of members) {
    for (const other of all) {
      if (other.id !== member.identity.peerId) await member.libp2p.peerStore.merge(peerIdFromString(other.id), { multiaddrs: other.addrs.map(a => multiaddr(a)) })
    }
  }
}

export interface MembershipHooks {
  /** the mesh membership speaks through (a counting wrapper of `member.mesh`); default the member's own */
  mesh?: Mesh
  onStatus?: (peer: string, status: MemberStatus) => void
  heard?: (peer: string) => void
}

/** the real Membership on `member`, over the sorted member ids `ids`, started with its trim */
export function startMembership (member: RealMember, ids: readonly string[], hooks: MembershipHooks = {}): Membership {
  member.membership = new Membership({
    identity: member.identity,
    meshId: REAL_MESH_ID,
    mesh: hooks.mesh ?? member.mesh,
    clock: systemClock,
    random: Math.random,
    members: () => ids,
    digest: () => 'd',
    heard: (peer) => { hooks.heard?.(peer) },
    onStatus: (peer, status) => { hooks.onStatus?.(peer, status) }
  })
  member.trim.start()
  member.membership.start()
  return member.membership
}

/** kill: membership and trim stop, the host closes its connections and its port refuses */
export async function stopMember (member: RealMember): Promise<void> {
  member.membership?.stop()
  member.membership = undefined
  member.trim.stop()
  await member.libp2p.stop()
}
