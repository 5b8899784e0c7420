/**
 * The core's Mesh bound to libp2p: gossip over gossipsub (signed messages,
 * so `from` is the authenticated publisher), request/response and streamed
 * responses over length-prefixed stream protocols. A streamed response ends
 * with an empty frame. While the reader of a streamed response works on a
 * frame, the stream is paused: Yamux stops granting window, so the sender
 * waits after one window (YAMUX_OPTIONS) instead of filling the reader's
 * buffer until the stream is reset ("Read buffer overflow", which cut image
 * fetches to a few MB/s while chunks were being written to disk). Each
 * resume grants a window again, so a slow reader of a response much longer
 * than STREAM_BUFFER_BYTES can still overflow: chunk responses (at most 16
 * chunks, 8 by default) fit. The protocols named in `shared` (the daemon's:
 * membership) ask and answer over one long-lived stream per peer instead
 * (shared-requests.ts); the rest open a stream per request.
 */
import { toError } from '@minga/protocol'
import { prefixLogger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { UnsupportedProtocolError, type ComponentLogger, type Libp2p, type Stream } from '@libp2p/interface'
import type { GossipSub } from '@libp2p/gossipsub'
import { CONNECTION_LIMITS } from '../core/connection-limits.js'
import type { GossipHandler, Mesh, PeerListener, ProbeResult, RequestHandler, RequestOptions, StreamHandler } from '../core/mesh.js'
import type { AbortOptions } from '../runtime/types.js'
import { probePorts, tcpAddresses } from './port-probe.js'
import { YAMUX_OPTIONS } from './libp2p-config.js'
import { SHARED_REQUEST_BYTES, SharedRequests } from './shared-requests.js'
import { PeerActivity } from './peer-activity.js'

export const MAX_FRAME_BYTES = 8 * 1024 * 1024
const REQUEST_TIMEOUT = 10_000
/** a disconnect this long after ConnectionTrim began closing the peer's last connection is that close's, ms */
const TRIMMED_MS = 2000
const PROBE_TIMEOUT = 1000
const END_OF_STREAM = new Uint8Array(0)
/**
 * bytes a streamed response's reader buffers, at most: one whole frame, what
 * was left over when it paused, and the window the sender may still fill
 */
const STREAM_BUFFER_BYTES = MAX_FRAME_BYTES + 2 * YAMUX_OPTIONS.streamOptions.maxStreamWindowSize

export type MeshLibp2p = Libp2p<{ pubsub: GossipSub }>

export interface Libp2pMeshOptions {
  /**
   * the addresses a peer announces elsewhere (its node record in the state), dialled by `probePort` when
   * the peer store holds no plain TCP address of it (a joiner that dialled us before identify told its listen
   * addresses): without them a probe of a live member answered `unknown` and the member was accused at once, as a vanished host
   */
  addresses?: (peer: string) => readonly Multiaddr[]
  /** request protocols asked and answered over one long-lived stream per peer (shared-requests.ts); both sides must name them */
  shared?: readonly string[]
  /** ms a shared stream's handler has to answer before its slot is freed with a failure (shared-requests.ts' SERVE_TIMEOUT unless given) */
  serveTimeout?: number
  /** the peers the host keeps connections to (its ConnectionTrim's limit), as membership reads it (`Mesh.connectionLimit`); default CONNECTION_LIMITS.maxConnections */
  connectionLimit?: number
  logger?: ComponentLogger
}

/**
 * The core's Mesh on libp2p (see above): requests and streams time out after 10 s unless given a signal; it passes the Mesh suite
 */
export class Libp2pMesh implements Mesh {
  readonly self: string
  private readonly topics = new Map<string, Set<GossipHandler>>()
  private readonly peerListeners = new Set<PeerListener>()
  private readonly shared: SharedRequests
  private readonly sharedProtocols: ReadonlySet<string>
  /** peers that do not serve a shared protocol (an older node), until they disconnect: asked on a stream per request */
  private readonly unshared = new Set<string>()
  /** exchanges with each peer, for ConnectionTrim (it closes no connection in use) */
  readonly activity = new PeerActivity()
  /** peers whose last connection this host is closing itself (ConnectionTrim), and when */
  private readonly trimmed = new Map<string, number>()

  constructor (private readonly libp2p: MeshLibp2p, private readonly options: Libp2pMeshOptions = {}) {
    this.self = libp2p.peerId.toString()
    this.shared = new SharedRequests(libp2p, (options.logger ?? prefixLogger('minga')).forComponent('shared-requests'), options.serveTimeout)
    this.sharedProtocols = new Set(options.shared ?? [])
    libp2p.services.pubsub.addEventListener('message', (event) => {
      const message = event.detail
      if (message.type !== 'signed') return
      const handlers = this.topics.get(message.topic)
      if (handlers === undefined) return
      const from = message.from.toString()
      for (const handler of handlers) handler(message.data, from)
    })
    libp2p.addEventListener('peer:connect', (event) => this.emitPeer('connect', event.detail.toString()))
    libp2p.addEventListener('peer:disconnect', (event) => {
      const peer = event.detail.toString()
      for (const key of this.unshared) if (key.startsWith(`${peer} `)) this.unshared.delete(key)
      this.activity.forget(peer)
      const trimmedAt = this.trimmed.get(peer)
      this.trimmed.delete(peer)
      // a connection this host closed as idle says nothing of the peer's liveness: membership need not check its port
      if (trimmedAt !== undefined && Date.now() - trimmedAt < TRIMMED_MS) return
      this.emitPeer('disconnect', peer)
    })
  }

  publish (topic: string, data: Uint8Array): void {
    this.libp2p.services.pubsub.publish(topic, data).catch(() => {
      // nobody subscribed yet: anti-entropy delivers what gossip could not
    })
  }

  subscribe (topic: string, handler: GossipHandler): () => void {
    let handlers = this.topics.get(topic)
    if (handlers === undefined) {
      handlers = new Set()
      this.topics.set(topic, handlers)
      this.libp2p.services.pubsub.subscribe(topic)
    }
    handlers.add(handler)
    return () => {
      handlers.delete(handler)
      if (handlers.size === 0) {
        this.topics.delete(topic)
        this.libp2p.services.pubsub.unsubscribe(topic)
      }
    }
  }

  async request (peer: string, protocol: string, data: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array> {
    return await this.activity.during(peer, async () => await this.ask(peer, protocol, data, options))
  }

  private async ask (peer: string, protocol: string, data: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
    const signal = options.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT)
    const key = `${peer} ${protocol}`
    // a large request or answer on the shared stream would hold up every small one behind it: it takes a stream of its own
    if (this.sharedProtocols.has(protocol) && data.byteLength <= SHARED_REQUEST_BYTES && options.largeAnswer !== true && !this.unshared.has(key)) {
      try {
        return await this.shared.request(peer, protocol, data, signal)
      } catch (err) {
        if ((err as Error).name !== UnsupportedProtocolError.name) throw err
        this.unshared.add(key)
      }
    }
    // the request goes out with the protocol's name, not one round trip after it (a probe is one round trip, not two)
    const stream = await this.libp2p.dialProtocol(peerIdFromString(peer), protocol, { signal, negotiateFully: false })
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
      await lp.write(data, { signal })
      const response = await lp.read({ signal })
      await stream.close({ signal })
      return response.subarray()
    } catch (err) {
      stream.abort(toError(err))
      throw err
    }
  }

  handle (protocol: string, handler: RequestHandler): void {
    const counted: RequestHandler = async (data, from) => await this.activity.during(from, async () => await handler(data, from))
    if (this.sharedProtocols.has(protocol)) this.shared.serve(protocol, counted)
    void this.libp2p.handle(protocol, async (stream, connection) => {
      await serve(stream, async (lp, signal) => {
        const request = await lp.read({ signal })
        await lp.write(await counted(request.subarray(), connection.remotePeer.toString()), { signal })
      })
    })
  }

  async * stream (peer: string, protocol: string, data: Uint8Array, options: AbortOptions = {}): AsyncIterable<Uint8Array> {
    this.activity.begin(peer)
    try {
      yield * this.fetch(peer, protocol, data, options)
    } finally {
      this.activity.end(peer)
    }
  }

  private async * fetch (peer: string, protocol: string, data: Uint8Array, options: AbortOptions): AsyncIterable<Uint8Array> {
    const stream = await this.libp2p.dialProtocol(peerIdFromString(peer), protocol, { signal: options.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT) })
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES, maxBufferSize: STREAM_BUFFER_BYTES })
      await lp.write(data, { signal: options.signal })
      while (true) {
        const frame = await lp.read({ signal: options.signal })
        if (frame.byteLength === 0) break
        if (stream.readStatus === 'readable') stream.pause()
        yield frame.subarray()
        if (stream.readStatus === 'paused') stream.resume()
      }
      await stream.close()
    } catch (err) {
      stream.abort(toError(err))
      throw err
    } finally {
      if (stream.status === 'open') stream.abort(new Error('Stream abandoned by the reader'))
    }
  }

  handleStream (protocol: string, handler: StreamHandler): void {
    void this.libp2p.handle(protocol, async (stream, connection) => {
      const controller = new AbortController()
      stream.addEventListener('close', () => controller.abort(), { once: true })
      const from = connection.remotePeer.toString()
      await this.activity.during(from, async () => await serve(stream, async (lp) => {
        const request = await lp.read({ signal: AbortSignal.timeout(REQUEST_TIMEOUT) })
        for await (const frame of handler(request.subarray(), from, controller.signal)) {
          if (frame.byteLength === 0) continue
          await lp.write(frame)
        }
        await lp.write(END_OF_STREAM)
      }))
      controller.abort()
    })
  }

  /** this host is closing `peer`'s last connection as idle (ConnectionTrim): its disconnect is not a sign of death */
  closingIdle (peer: string): void {
    this.trimmed.set(peer, Date.now())
  }

  connections (): string[] {
    return [...new Set(this.libp2p.getConnections().map(c => c.remotePeer.toString()))]
  }

  get connectionLimit (): number { return this.options.connectionLimit ?? CONNECTION_LIMITS.maxConnections }

  readonly connectedTo = (peer: string): boolean => {
    try {
      return this.libp2p.getConnections(peerIdFromString(peer)).length > 0
    } catch {
      // not a peer id: nothing is connected to it
      return false
    }
  }

  /** dial it: connected is `up`; every address refusing the TCP connection is `refused`; anything else `unknown` */
  readonly probe = async (peer: string): Promise<ProbeResult> => {
    try {
      await this.libp2p.dial(peerIdFromString(peer), { signal: AbortSignal.timeout(PROBE_TIMEOUT) })
      return 'up'
    } catch (err) {
      return refusedEverywhere(err) ? 'refused' : 'unknown'
    }
  }

  /** a TCP dial of its known plain TCP addresses, not a libp2p dial (port-probe.ts) */
  readonly probePort = async (peer: string): Promise<ProbeResult> => {
    let known: Multiaddr[] = []
    try {
      known = (await this.libp2p.peerStore.get(peerIdFromString(peer))).addresses.map(a => a.multiaddr)
    } catch {}
    let addresses = tcpAddresses(known)
    if (addresses.length === 0) addresses = tcpAddresses(this.options.addresses?.(peer) ?? [])
    return await probePorts(addresses, PROBE_TIMEOUT)
  }

  onPeer (listener: PeerListener): () => void {
    this.peerListeners.add(listener)
    return () => this.peerListeners.delete(listener)
  }

  private emitPeer (type: 'connect' | 'disconnect', peer: string): void {
    for (const listener of this.peerListeners) listener({ type, peer })
  }
}

/** a dial error that is a connection refusal on every address tried */
function refusedEverywhere (err: unknown): boolean {
  const { errors, code, cause } = (err ?? {}) as { errors?: unknown, code?: unknown, cause?: unknown }
  if (Array.isArray(errors) && errors.length > 0) return errors.every(refusedEverywhere)
  return code === 'ECONNREFUSED' || (cause !== undefined && refusedEverywhere(cause))
}

async function serve (stream: Stream, body: (lp: ReturnType<typeof lpStream<Stream>>, signal: AbortSignal) => Promise<void>): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  try {
    await body(lp, AbortSignal.timeout(REQUEST_TIMEOUT))
    await stream.close()
  } catch (err) {
    stream.abort(toError(err))
  }
}
