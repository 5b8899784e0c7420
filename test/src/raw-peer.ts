/**
 * A bare libp2p peer built from the same libraries as a minga node (TCP,
 * Noise, Yamux, and the private-network protector when given a key), for
 * tests that knock on a node from outside: a stranger without the mesh key,
 * a holder of the key who is not a member, or a member's own identity.
 */
import '@minga/node' // Promise.withResolvers on Node 20, before libp2p loads
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { toError, decodeMessage, encodeMessage, generateIdentity, type Identity, type WireMessage } from '@minga/protocol'

export interface RawPeerOptions {
  /** the mesh's private-network key file; without it the peer speaks plain Noise */
  psk?: Uint8Array
  /** whose key the peer uses (default: a fresh one) */
  identity?: Identity
}

export interface RawPeer {
  readonly libp2p: Libp2p
  readonly peerId: string
  /** open a stream for `protocol` on `addr`; rejects when the connection or the protocol is refused */
  open: (addr: string, protocol: string, timeoutMs?: number) => Promise<void>
  /** one length-prefixed request and its answer over `protocol` */
  request: (addr: string, protocol: string, message: WireMessage, timeoutMs?: number) => Promise<WireMessage>
  stop: () => Promise<void>
}

/** a libp2p host that speaks to the mesh as any peer would, member or not, for tests of what the mesh refuses */
export async function rawPeer (options: RawPeerOptions = {}): Promise<RawPeer> {
  const identity = options.identity ?? await generateIdentity()
  const libp2p = await createLibp2p({
    privateKey: identity.privateKey,
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(options.psk === undefined ? {} : { connectionProtector: preSharedKey({ psk: options.psk }) })
  })
  return {
    libp2p,
    peerId: identity.peerId,
    open: async (addr, protocol, timeoutMs = 10_000) => {
      const stream = await libp2p.dialProtocol(multiaddr(addr), protocol, { signal: AbortSignal.timeout(timeoutMs) })
      stream.abort(new Error('only checking that it opens'))
    },
    request: async (addr, protocol, message, timeoutMs = 10_000) => {
      const signal = AbortSignal.timeout(timeoutMs)
      const stream = await libp2p.dialProtocol(multiaddr(addr), protocol, { signal })
      try {
        const lp = lpStream(stream)
        await lp.write(encodeMessage(message), { signal })
        const answer = decodeMessage((await lp.read({ signal })).subarray())
        await stream.close({ signal }).catch(() => {})
        return answer
      } catch (err) {
        stream.abort(toError(err))
        throw err
      }
    },
    stop: async () => { await libp2p.stop() }
  }
}
