/**
 * The forward protocol on libp2p: one Yamux stream per forwarded
 * connection, on the one encrypted connection the two member nodes already
 * hold (a new libp2p connection would cost ~17 ms and is rate-limited;
 * opening a stream costs ~0.7 ms). The opener negotiates optimistically
 * (`negotiateFully: false`), so its request frame rides with the protocol
 * proposal and the whole open costs one round trip: the answer.
 *
 * The receiving side reads the request (at most 1 KiB, within 10 s), asks
 * `accept` whether and where to connect, connects to the container, then
 * answers; only after `forward-ok` do the client's bytes flow. Only members
 * reach this protocol at all (the connection gater).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import type { Socket } from 'node:net'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { ForwardProtocolError, MAX_FORWARD_MESSAGE_BYTES, decodeForwardAnswer, decodeForwardRequest, encodeMessage, type Endpoint, type ForwardErrorCode, type ForwardRequestMessage as ForwardRequest } from '@minga/protocol'
import { errorText } from '../core/logger.js'
import { dialContainer } from './dial.js'
import { pipeSocketStream, type PipeResult } from './pipe.js'

/** streams of the forward protocol per connection and direction: one per forwarded connection */
export const MAX_FORWARD_STREAMS = 4096
const REQUEST_TIMEOUT_MS = 10_000
const CONNECT_TIMEOUT_MS = 5_000

export type AcceptVerdict =
  | { ok: true, replica: number, target: Endpoint, header?: Uint8Array }
  | { ok: false, code: ForwardErrorCode, message: string }

export interface ForwardStreamsInit {
  libp2p: Libp2p
  protocol: string
  /** may `from` forward `request` here, and to which container? */
  accept: (request: ForwardRequest, from: string) => AcceptVerdict
  /** a forwarded connection that was accepted here ended */
  onPiped?: (request: ForwardRequest, result: PipeResult) => void
}

export class ForwardStreams {
  private readonly init: ForwardStreamsInit

  constructor (init: ForwardStreamsInit) {
    this.init = init
  }

  async start (): Promise<void> {
    await this.init.libp2p.handle(this.init.protocol, (stream, connection) => { void this.serve(stream, connection) }, {
      maxInboundStreams: MAX_FORWARD_STREAMS,
      maxOutboundStreams: MAX_FORWARD_STREAMS
    })
  }

  async stop (): Promise<void> {
    await this.init.libp2p.unhandle(this.init.protocol)
  }

  /**
   * Open a forward to `node`: resolves with the stream, ready for the
   * client's bytes, once the node is connected to a container; rejects with
   * ForwardProtocolError when it refuses, or with the dial's error
   */
  async open (node: string, request: ForwardRequest, options: { signal: AbortSignal }): Promise<Stream> {
    const connection = await this.connectionTo(node, options.signal)
    const stream = await connection.newStream(this.init.protocol, { negotiateFully: false, maxOutboundStreams: MAX_FORWARD_STREAMS, signal: options.signal })
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_FORWARD_MESSAGE_BYTES })
      await lp.write(encodeMessage(request), { signal: options.signal })
      decodeForwardAnswer((await lp.read({ signal: options.signal })).subarray())
      return lp.unwrap()
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(errorText(err)))
      throw err
    }
  }

  /** the open connection to `node`, or a new one */
  private async connectionTo (node: string, signal: AbortSignal): Promise<Connection> {
    const peer = peerIdFromString(node)
    const open = this.init.libp2p.getConnections(peer).find(c => c.status === 'open')
    return open ?? await this.init.libp2p.dial(peer, { signal })
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_FORWARD_MESSAGE_BYTES })
    let request: ForwardRequest
    try {
      request = decodeForwardRequest((await lp.read({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).subarray())
    } catch (err) {
      await this.refuse(lp, stream, 'bad-request', err instanceof ForwardProtocolError ? err.message : `The forward request did not arrive in time or was not one (${errorText(err)})`)
      return
    }
    const verdict = this.init.accept(request, connection.remotePeer.toString())
    if (!verdict.ok) {
      await this.refuse(lp, stream, verdict.code, verdict.message)
      return
    }
    let socket: Socket
    try {
      socket = await dialContainer(verdict.target, { signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS), header: verdict.header })
    } catch (err) {
      await this.refuse(lp, stream, 'refused', `Replica ${request.service}#${verdict.replica} did not accept on port ${request.port}: ${errorText(err)}`)
      return
    }
    try {
      await lp.write(encodeMessage({ type: 'forward-ok', replica: verdict.replica }), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    } catch (err) {
      socket.destroy()
      stream.abort(toError(err))
      return
    }
    const result = await pipeSocketStream(socket, lp.unwrap())
    this.init.onPiped?.(request, result)
  }

  private async refuse (lp: ReturnType<typeof lpStream<Stream>>, stream: Stream, code: ForwardErrorCode, message: string): Promise<void> {
    try {
      await lp.write(encodeMessage({ type: 'error', code, message: message.slice(0, 400) }), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      await stream.close({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    } catch (err) {
      stream.abort(toError(err))
    }
  }
}

function toError (err: unknown): Error {
  return err instanceof Error ? err : new Error(errorText(err))
}
