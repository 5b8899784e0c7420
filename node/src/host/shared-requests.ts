/**
 * Requests and answers of one protocol multiplexed over one long-lived
 * stream per peer, instead of a stream per request. A stream of its own
 * costs a request about 700 bytes on the wire beside its payload
 * (multistream-select's protocol name both ways, Yamux's open, window and
 * close frames, each in a Noise frame): SWIM's probes are ~150 bytes, so
 * framing was most of the membership protocol's traffic.
 *
 * The shared stream's protocol id is the request protocol's with
 * `/shared` appended; the asking side opens it (one per peer and protocol,
 * each direction its own), the answering side serves it. Inside
 * length-prefixed frames (lpStream, at most SHARED_FRAME_BYTES):
 *
 *   kind (1 byte: 0 request, 1 answer, 2 failure) | request id (uint32 BE) | body
 *
 * A failure's body is the handler's error message (UTF-8). Answers may come
 * in any order. A request that is not answered before its signal aborts
 * fails as before (for SWIM: a missed ack), and an answer that comes after
 * is dropped. When the stream closes or resets (its connection died: a
 * killed process's socket), every outstanding request fails at once, and
 * each is asked once more on a new stream (the peer may only have closed an
 * idle connection as the request went out: connection-trim.ts; a dead
 * peer refuses the dial), within the same signal. Bounds: at most MAX_OUTSTANDING
 * requests per peer awaiting answers (more are refused at once), at most
 * MAX_SERVING requests of one stream being answered (then it is paused and
 * Yamux stops granting the asker window), requests up to
 * SHARED_REQUEST_BYTES (larger ones take a stream of their own, as do
 * requests whose answer may be large, `RequestOptions.largeAnswer`, and all
 * requests to a peer that does not serve the shared protocol), BUFFER_BYTES
 * buffered each way (past it the stream is aborted). A frame that
 * breaks this format closes the stream with the reason logged; it changes
 * nothing else.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { UnsupportedProtocolError, type Connection, type Libp2p, type Logger, type Stream } from '@libp2p/interface'
import { errorText } from '../core/logger.js'
import { BadFrameError, PeerRequestError, StreamClosedError } from '../errors.js'
import { YAMUX_OPTIONS } from './libp2p-config.js'

/** a shared stream's largest frame: header and body */
export const SHARED_FRAME_BYTES = 4 * 1024 * 1024
/** a request's largest body on a shared stream; a larger one takes a stream of its own (it would hold up the probes behind it) */
export const SHARED_REQUEST_BYTES = 64 * 1024
/** requests to one peer awaiting answers, at most */
export const MAX_OUTSTANDING = 64
/** requests of one shared stream being answered at once, at most */
export const MAX_SERVING = 16
/** ms a handler has to answer before its request's slot is freed with a failure: a stuck handler does not hold a slot for ever */
export const SERVE_TIMEOUT = 30_000
/** ms to open a shared stream (a dial included) */
const OPEN_TIMEOUT = 10_000
const HEADER_BYTES = 5
const REQUEST = 0
const ANSWER = 1
const FAILURE = 2
/** a failure's message, at most (bytes) */
const FAILURE_BYTES = 512
/** what a shared stream buffers each way, at most: a whole frame and the window the sender may still fill */
const BUFFER_BYTES = SHARED_FRAME_BYTES + YAMUX_OPTIONS.streamOptions.maxStreamWindowSize
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** the id of the shared stream that carries `protocol`'s requests */
export function sharedProtocol (protocol: string): string {
  return `${protocol}/shared`
}

interface Frame { kind: number, id: number, body: Uint8Array }

/** a frame's bytes: header, then body */
export function encodeFrame (kind: number, id: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + body.byteLength)
  out[0] = kind
  new DataView(out.buffer).setUint32(1, id)
  out.set(body, HEADER_BYTES)
  return out
}

/** a frame read from a shared stream; BadFrameError when it is too short or of no known kind */
function decodeFrame (bytes: Uint8Array): Frame {
  if (bytes.byteLength < HEADER_BYTES) throw new BadFrameError(`Frame of ${bytes.byteLength} bytes is shorter than its ${HEADER_BYTES}-byte header`)
  const kind = bytes[0]
  if (kind !== REQUEST && kind !== ANSWER && kind !== FAILURE) throw new BadFrameError(`Frame of unknown kind ${kind}`)
  return { kind, id: new DataView(bytes.buffer, bytes.byteOffset).getUint32(1), body: bytes.subarray(HEADER_BYTES) }
}

type Lp = ReturnType<typeof lpStream<Stream>>

/** the next frame of `stream`; at its end (the peer closed it, or its connection: lpStream's UnexpectedEOFError) StreamClosedError, not a bad frame */
async function readFrame (lp: Lp): Promise<Frame> {
  let bytes: Uint8Array
  try {
    bytes = (await lp.read()).subarray()
  } catch (err) {
    if ((err as Error).name === 'UnexpectedEOFError') throw new StreamClosedError(`The peer closed the stream (${errorText(err)})`)
    throw err
  }
  return decodeFrame(bytes)
}

/** `stream` framed; what it cannot send yet (a peer that stopped reading, or a host that vanished) is bounded too: past BUFFER_BYTES the stream is aborted */
function framed (stream: Stream): Lp {
  stream.maxWriteBufferLength = BUFFER_BYTES
  return lpStream(stream, { maxDataLength: SHARED_FRAME_BYTES, maxBufferSize: BUFFER_BYTES })
}

/** close `stream` for `reason`, logged; a stream already closed by its connection is left as it is */
function closeFor (stream: Stream, remote: string, reason: unknown, log: Logger): void {
  if (stream.status !== 'open') return
  if (reason instanceof BadFrameError) log.error('closing shared stream %s (%s) of %s: %s', stream.protocol, stream.id, remote, reason.message)
  else log('shared stream %s of %s ended: %s', stream.protocol, remote, errorText(reason))
  stream.abort(reason instanceof Error ? reason : new Error(errorText(reason)))
}

interface Waiter { resolve: (body: Uint8Array) => void, reject: (err: Error) => void }

/** one shared stream this node opened to a peer: its outstanding requests by id */
class Channel {
  private readonly lp: Lp
  private readonly pending = new Map<number, Waiter>()
  private nextId = 0

  constructor (readonly stream: Stream, private readonly peer: string, private readonly log: Logger, onEnd: () => void) {
    this.lp = framed(stream)
    stream.addEventListener('close', (event) => {
      this.fail((event as { error?: Error }).error ?? new StreamClosedError(`The request stream to ${peer} closed before it answered`))
      onEnd()
    }, { once: true })
    void this.readAnswers()
  }

  get open (): boolean {
    return this.stream.status === 'open' && this.stream.writeStatus === 'writable'
  }

  async request (data: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    signal.throwIfAborted()
    if (this.pending.size >= MAX_OUTSTANDING) throw new PeerRequestError(`${MAX_OUTSTANDING} requests to ${this.peer} await answers already: it answers slower than it is asked; ask again later`)
    do this.nextId = (this.nextId + 1) >>> 0; while (this.pending.has(this.nextId))
    const id = this.nextId
    let waiter!: Waiter
    const answered = new Promise<Uint8Array>((resolve, reject) => { waiter = { resolve, reject } })
    // rejected by an abort or a closed stream while the write still waits: the caught write reports it
    answered.catch(() => {})
    const abort = (): void => {
      if (this.pending.delete(id)) waiter.reject(signal.reason)
    }
    this.pending.set(id, waiter)
    signal.addEventListener('abort', abort, { once: true })
    try {
      // the frame is queued whole even while the stream waits for window: the signal stops only the wait
      await this.lp.write(encodeFrame(REQUEST, id, data), { signal })
      return await answered
    } catch (err) {
      this.pending.delete(id)
      throw err
    } finally {
      signal.removeEventListener('abort', abort)
    }
  }

  private fail (err: Error): void {
    const waiters = [...this.pending.values()]
    this.pending.clear()
    for (const waiter of waiters) waiter.reject(err)
  }

  private async readAnswers (): Promise<void> {
    try {
      while (true) {
        const frame = await readFrame(this.lp)
        if (frame.kind === REQUEST) throw new BadFrameError(`Request ${frame.id} on the stream this node asks on`)
        const waiter = this.pending.get(frame.id)
        // undefined: asked, then given up on (its timeout); the answer came late and is dropped
        if (waiter === undefined) continue
        this.pending.delete(frame.id)
        if (frame.kind === ANSWER) waiter.resolve(frame.body)
        else waiter.reject(new PeerRequestError(`${this.peer} failed to answer: ${decoder.decode(frame.body)}`))
      }
    } catch (err) {
      closeFor(this.stream, this.peer, err, this.log)
    }
  }
}

/**
 * Shared request streams of a libp2p host (see above). `request` rejects
 * with UnsupportedProtocolError when the peer does not serve the shared
 * protocol: the caller asks on a stream of its own instead
 */
export class SharedRequests {
  /** open or opening channels, by peer and protocol */
  private readonly channels = new Map<string, Promise<Channel>>()

  /** `serveTimeout`: SERVE_TIMEOUT unless given */
  constructor (private readonly libp2p: Libp2p, private readonly log: Logger, private readonly serveTimeout = SERVE_TIMEOUT) {}

  async request (peer: string, protocol: string, data: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    try {
      return await this.ask(peer, protocol, data, signal)
    } catch (err) {
      // the peer closed the stream or its connection (it trims idle ones: connection-trim.ts) as this request went out,
      // or libp2p handed us a connection already closing: once more, on a new stream. Not after the signal, nor after
      // an answer (a failure, too many outstanding, a bad frame, no shared protocol). Membership's requests may run twice
      if (signal.aborted || !closedUnder(err)) throw err
      // a connection the peer is closing stays "open" with its muxer closed until the close completes, and libp2p hands it
      // out again: after a clean close, drop the peer's connections so the next ask dials (not after a reset: a stream
      // aborted for its buffer leaves the connection and its other streams, an image fetch maybe, as they are)
      if (err instanceof StreamClosedError || (err as Error).name === 'ConnectionClosedError') {
        for (const connection of this.libp2p.getConnections(peerIdFromString(peer))) connection.abort(new StreamClosedError('The peer closed this connection'))
      }
      return await this.ask(peer, protocol, data, signal)
    }
  }

  private async ask (peer: string, protocol: string, data: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    const key = `${peer} ${protocol}`
    const opening = this.channels.get(key) ?? this.open(peer, protocol, key)
    let channel = await raceSignal(opening, signal)
    // closing, its close event not yet dispatched: a new stream
    if (!channel.open) {
      this.forget(key, opening)
      channel = await raceSignal(this.open(peer, protocol, key), signal)
    }
    return await channel.request(data, signal)
  }

  /** serve `protocol`'s shared stream with `handler`, each request as a one-shot request would be */
  serve (protocol: string, handler: (data: Uint8Array, from: string) => Promise<Uint8Array>): void {
    void this.libp2p.handle(sharedProtocol(protocol), async (stream, connection) => {
      await serveStream(stream, connection, handler, this.log, this.serveTimeout)
    }, { maxInboundStreams: 4 })
  }

  /** a new shared stream to `peer`, kept under `key` until it ends */
  private open (peer: string, protocol: string, key: string): Promise<Channel> {
    const id = peerIdFromString(peer)
    const dial = async (): Promise<Stream> => await this.libp2p.dialProtocol(id, sharedProtocol(protocol), { signal: AbortSignal.timeout(OPEN_TIMEOUT) })
    const opening: Promise<Channel> = dial()
      .catch(async (err: Error) => {
        // libp2p handed out a connection the peer is closing (still "open", its muxer closed: a trim that closed it as
        // this node's request went out): it is no use, so it goes, and a new one is dialled
        if (err.name !== 'ConnectionClosedError') throw err
        for (const connection of this.libp2p.getConnections(id)) connection.abort(new StreamClosedError('The peer closed this connection'))
        return await dial()
      })
      .then((stream) => new Channel(stream, peer, this.log, () => { this.forget(key, opening) }))
    this.channels.set(key, opening)
    opening.catch(() => { this.forget(key, opening) })
    return opening
  }

  private forget (key: string, opening: Promise<Channel>): void {
    if (this.channels.get(key) === opening) this.channels.delete(key)
  }
}

/** the request failed because its stream or connection went away, not by an answer of the peer's */
function closedUnder (err: unknown): boolean {
  if (err instanceof StreamClosedError) return true
  if (err instanceof PeerRequestError || err instanceof BadFrameError) return false
  return (err as Error | undefined)?.name !== UnsupportedProtocolError.name
}

async function raceSignal<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted()
  let abort!: () => void
  const aborted = new Promise<never>((resolve, reject) => { abort = () => reject(signal.reason) })
  signal.addEventListener('abort', abort, { once: true })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', abort)
  }
}

/** answer the requests of one shared stream until it closes or breaks the format */
async function serveStream (stream: Stream, connection: Connection, handler: (data: Uint8Array, from: string) => Promise<Uint8Array>, log: Logger, serveTimeout: number): Promise<void> {
  const lp = framed(stream)
  const from = connection.remotePeer.toString()
  const serving = new Set<number>()
  let freed: (() => void) | undefined
  const answer = async (id: number, body: Uint8Array): Promise<void> => {
    let kind = ANSWER
    let reply: Uint8Array
    try {
      reply = await withTimeout(handler(body, from), serveTimeout)
      if (HEADER_BYTES + reply.byteLength > SHARED_FRAME_BYTES) throw new PeerRequestError(`Its answer of ${reply.byteLength} bytes exceeds a shared stream's ${SHARED_FRAME_BYTES}-byte frame`)
    } catch (err) {
      kind = FAILURE
      reply = encoder.encode(errorText(err)).subarray(0, FAILURE_BYTES)
    }
    try {
      await lp.write(encodeFrame(kind, id, reply))
    } catch {
      // the stream closed meanwhile: nobody waits for this answer
    } finally {
      serving.delete(id)
      freed?.()
    }
  }
  try {
    while (true) {
      if (serving.size >= MAX_SERVING) {
        // the asker waits for window instead of this node buffering its requests
        if (stream.readStatus === 'readable') stream.pause()
        while (serving.size >= MAX_SERVING) {
          await new Promise<void>((resolve) => { freed = resolve })
        }
        if (stream.readStatus === 'paused') stream.resume()
      }
      const frame = await readFrame(lp)
      if (frame.kind !== REQUEST) throw new BadFrameError(`${frame.kind === ANSWER ? 'Answer' : 'Failure'} ${frame.id} on the stream this node answers on`)
      if (serving.has(frame.id)) throw new BadFrameError(`Request id ${frame.id} reused while its request is being answered`)
      if (frame.body.byteLength > SHARED_REQUEST_BYTES) throw new BadFrameError(`Request of ${frame.body.byteLength} bytes exceeds a shared request's ${SHARED_REQUEST_BYTES} bytes`)
      serving.add(frame.id)
      void answer(frame.id, frame.body)
    }
  } catch (err) {
    closeFor(stream, from, err, log)
  }
}

async function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((resolve, reject) => { timer = setTimeout(() => reject(new PeerRequestError(`No answer within ${ms} ms`)), ms) })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}
