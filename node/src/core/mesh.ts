/**
 * The network, as the node core sees it: authenticated gossip topics,
 * request/response and streamed responses between peers, and peer
 * connection events. Production binds it to libp2p (gossipsub with signed
 * messages, stream protocols over Noise); the simulator to a modelled
 * network. `from` is always the authenticated sender, never a claim inside
 * the payload.
 */

import type { AbortOptions } from '../runtime/types.js'

export type GossipHandler = (data: Uint8Array, from: string) => void
export type RequestHandler = (data: Uint8Array, from: string) => Promise<Uint8Array>
export type StreamHandler = (data: Uint8Array, from: string, signal: AbortSignal) => AsyncIterable<Uint8Array>
/**
 * `largeAnswer`: the answer may be large (a member table: tens of KB at a
 * few hundred members), so it takes a stream of its own where small
 * requests share one (host/shared-requests.ts), and holds up no probe
 * queued behind it
 */
export interface RequestOptions extends AbortOptions { largeAnswer?: boolean }
export type PeerListener = (event: { type: 'connect' | 'disconnect', peer: string }) => void
/**
 * `refused`: its host answered that nothing listens there (TCP RST): the process is gone. `silent`: a dial went out
 * and its host answered nothing in time (lost power or network, or a cut). `unknown`: anything else (no address to
 * dial, an error): it says nothing
 */
export type ProbeResult = 'up' | 'refused' | 'silent' | 'unknown'

export interface Mesh {
  /** this node's peer id */
  readonly self: string
  publish (topic: string, data: Uint8Array): void
  subscribe (topic: string, handler: GossipHandler): () => void
  /** one request, one response; rejects on timeout, refusal or a closed connection */
  request (peer: string, protocol: string, data: Uint8Array, options?: RequestOptions): Promise<Uint8Array>
  handle (protocol: string, handler: RequestHandler): void
  /** one request, a stream of response frames until the peer ends it or the signal aborts */
  stream (peer: string, protocol: string, data: Uint8Array, options?: AbortOptions): AsyncIterable<Uint8Array>
  handleStream (protocol: string, handler: StreamHandler): void
  /** peers with an open connection */
  connections (): string[]
  /** whether a connection to `peer` is open (optional: `connections()` tells it too, with an array of every peer) */
  connectedTo?: (peer: string) => boolean
  /** connections this node keeps open at most (libp2p's connection manager); a mesh of more members is not fully connected. Absent: no limit */
  readonly connectionLimit?: number
  onPeer (listener: PeerListener): () => void
  /**
   * Try to reach a peer that just disconnected, for at most about a second.
   * Optional: without it, a disconnect is confirmed by the missing heartbeats
   */
  probe?: (peer: string) => Promise<ProbeResult>
  /**
   * Open a TCP connection to the peer's listening address and close it, the
   * protocol aside, for at most about a second: `up` when its host's kernel
   * accepts it (the process still holds its port, even while its event loop
   * stalls), `refused` when its host resets it, `silent` when nothing
   * answers (a host that lost power or network), `unknown` when it has no
   * address to dial. Optional: without it a stalled member cannot be told
   * from a vanished one
   */
  probePort?: (peer: string) => Promise<ProbeResult>
}
