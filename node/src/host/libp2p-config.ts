/**
 * The libp2p configuration of a minga node, as a plain object that callers
 * can change before `createLibp2p`: TCP, Noise, Yamux, identify and
 * gossipsub with signed messages, all behind the mesh's private-network key
 * and a gater that admits members only. Nothing else is loaded: members
 * dial each other at the addresses their node records give (no DHT), and
 * membership's probes tell whether a peer lives (no ping monitor).
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'
import { CONNECTION_LIMITS } from '../core/connection-limits.js'
import { GOSSIPSUB_TUNING } from '../core/gossip-tuning.js'
import { withoutBridgeAddresses } from './bridge-addresses.js'
import { inboundLimit } from './connection-trim.js'
import { preSharedKey } from './pnet.js'

export interface HostConfigInit {
  privateKey: PrivateKey
  meshId: string
  /** the private-network key file content (`/key/swarm/psk/1.0.0/` …) */
  psk: Uint8Array
  listen: string[]
  /** addresses members dial besides the listen addresses (`minga up --announce`, host/announce.ts) */
  announce?: string[]
  gater: ConnectionGater
  /** peers kept connected (ConnectionTrim trims to it; libp2p refuses inbound connections past `inboundLimit` of it); default CONNECTION_LIMITS.maxConnections */
  maxConnections?: number
}

/**
 * Yamux as every minga host runs it. A stream's receive window may grow to
 * `maxStreamWindowSize`, and a paused stream (a reader whose own output is
 * full) buffers what the window let in: the read buffer must hold a whole
 * window, or the stream is reset with "Read buffer length … exceeded"
 * (Yamux's defaults are a 16 MiB window and a 4 MiB buffer). 4 MiB windows
 * carry ~170 MB/s per stream on loopback; bigger ones measured no faster.
 * One connection per pair of nodes carries every forwarded connection, so
 * it allows many streams.
 */
export const YAMUX_OPTIONS = {
  maxInboundStreams: 4096,
  maxOutboundStreams: 4096,
  streamOptions: {
    maxStreamWindowSize: 4 * 1024 * 1024,
    maxReadBufferLength: 8 * 1024 * 1024
  }
} as const

/** Yamux with YAMUX_OPTIONS, for every libp2p host of a node (main, door, knock) */
export function streamMuxer (): ReturnType<typeof yamux> {
  return yamux(YAMUX_OPTIONS)
}

/** inbound connections a second from one address (libp2p's default 5) */
const INBOUND_PER_HOST_PER_SECOND = 100
/** inbound connections still upgrading at once (libp2p's default 10) */
const MAX_UPGRADING = 64

/**
 * The main host's libp2p configuration as a plain object (TCP, Noise, Yamux, pnet, gater, identify, gossipsub with
 * signed messages); the caller may change it before createLibp2p
 */
export function defaults (init: HostConfigInit): Libp2pOptions<any> {
  return {
    privateKey: init.privateKey,
    // no container bridge's address in what members are told to dial (bridge-addresses.ts)
    addresses: { listen: init.listen, appendAnnounce: init.announce ?? [], announceFilter: (addrs) => withoutBridgeAddresses(addrs) },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [streamMuxer()],
    connectionProtector: preSharedKey({ psk: init.psk }),
    connectionGater: init.gater,
    // libp2p refuses a host's sixth connection in a second (inboundConnectionThreshold 5) and an eleventh still
    // upgrading: members behind one address (a NAT, or a test mesh on 127.0.0.1) that reconnect after a stall, or
    // probe a port, were refused for minutes, their ports open, and declared dead. Strangers cannot pass the
    // private-network key, and the gater admits members only
    connectionManager: { maxConnections: inboundLimit(init.maxConnections ?? CONNECTION_LIMITS.maxConnections), inboundConnectionThreshold: INBOUND_PER_HOST_PER_SECOND, maxIncomingPendingConnections: MAX_UPGRADING },
    // liveness is membership's job (core/membership); libp2p's monitor would ping every connection every
    // 10 s, and it aborted healthy ones when a ping timed out under load (js-libp2p#3464, #3463)
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        globalSignaturePolicy: 'StrictSign',
        // few copies, not the last millisecond: see core/gossip-tuning.ts (the simulator models the same)
        ...GOSSIPSUB_TUNING,
        // without this, gossipsub checks the signature of every copy a peer forwards before it sees that
        // the message is a duplicate: ~D verifications per message, most of an idle node's CPU at 10+
        // nodes. The id is what StrictSign ids are made of (publisher and seqno); only messages whose
        // signature verified enter the cache, so a forgery cannot shadow a genuine message
        fastMsgIdFn: (message) => `${Buffer.from(message.from ?? []).toString('base64')}/${Buffer.from(message.seqno ?? []).toString('base64')}`,
        // every peer is an admitted member; many of them may share an address (an organization behind one
        // NAT, several nodes on one host). Gossipsub's default penalty for more than 10 peers on one IP
        // graylisted them all: a 20-node mesh on one machine went silent and declared everyone dead
        scoreParams: { IPColocationFactorWeight: 0 }
      })
    }
  }
}
