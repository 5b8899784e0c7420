/**
 * The connection gater of the main host: only member nodes of the mesh get
 * a connection (a joiner talks to the door host instead, see door.ts). A
 * removed node is refused from the moment its revocation merges. In test
 * mode a set of blocked peers cuts the mesh apart to exercise partitions.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'

export interface MemberGaterInit {
  /** true for admitted, unrevoked members */
  isMember: (peer: string) => boolean
}

/**
 * libp2p's connection gater for the main host: only members (not removed) connect, and in test mode `blocked` peers do not
 */
export class MemberGater implements ConnectionGater {
  /** peers cut off on purpose (partition tests, removed nodes pending hang-up) */
  readonly blocked = new Set<string>()
  private readonly isMember: (peer: string) => boolean

  constructor (init: MemberGaterInit) {
    this.isMember = init.isMember
  }

  admits (peer: string): boolean {
    return this.isMember(peer) && !this.blocked.has(peer)
  }

  denyDialPeer (peerId: PeerId): boolean {
    return !this.admits(peerId.toString())
  }

  denyInboundEncryptedConnection (peerId: PeerId): boolean {
    return !this.admits(peerId.toString())
  }

  denyOutboundEncryptedConnection (peerId: PeerId): boolean {
    return !this.admits(peerId.toString())
  }
}
