/**
 * One forwarded connection's bytes, both ways: a TCP socket and a libp2p
 * stream (or two sockets), with backpressure and half-close.
 *
 * Backpressure: when the stream's send buffer is full (`send()` false) the
 * socket pauses until `drain`; when the socket's is full (`write()` false)
 * the stream pauses — Yamux then withholds window updates, so the sender
 * stops within one window (host/libp2p-config.ts sizes the read buffer for
 * it). Half-close: a side that ends its writing (FIN) ends the other
 * side's writing and keeps reading; a client that sends a request and
 * shuts its write side still gets the whole answer (sockets need
 * `allowHalfOpen`). An error or reset on either side destroys both.
 *
 * No idle timeout anywhere: a connection lives as long as both ends keep
 * it. TCP keep-alive probes find a client that vanished; Yamux pings keep
 * the mesh connection itself alive.
 */
import type { Socket } from 'node:net'
import type { Stream } from '@libp2p/interface'

/** TCP keep-alive on the client's socket: the first probe after this much silence */
export const KEEPALIVE_MS = 60_000

export interface PipeResult {
  /** bytes from the socket to the other side */
  sent: number
  /** bytes from the other side to the socket */
  received: number
  /** why it ended, when it did not end cleanly */
  error?: Error
}

/** pipe `socket` and `stream` until both directions end; never rejects */
export async function pipeSocketStream (socket: Socket, stream: Stream): Promise<PipeResult> {
  return await new Promise<PipeResult>((resolve) => {
    const result: PipeResult = { sent: 0, received: 0 }
    let settled = false
    const finish = (error?: Error): void => {
      if (settled) return
      settled = true
      if (error !== undefined) result.error = error
      resolve(result)
    }
    socket.setNoDelay(true)
    socket.setKeepAlive(true, KEEPALIVE_MS)
    stream.inactivityTimeout = 0

    socket.on('data', (chunk: Buffer) => {
      if (stream.writeStatus !== 'writable') return
      result.sent += chunk.byteLength
      if (!stream.send(chunk)) {
        socket.pause()
        stream.onDrain().then(() => socket.resume(), () => {})
      }
    })
    let socketEnded = false
    socket.on('end', () => {
      socketEnded = true
      // close() sends what is still queued, then the FIN
      stream.close().catch(() => {})
    })
    socket.on('error', (err) => { stream.abort(err); finish(err) })
    socket.on('close', () => {
      // a socket that closed without its FIN (a reset, destroyed) takes the stream with it
      if (!socketEnded && stream.status === 'open') stream.abort(new Error('The forwarded connection\'s socket closed'))
      finish()
    })

    stream.addEventListener('message', (event) => {
      const data = event.data
      result.received += data.byteLength
      let ok = true
      if (data instanceof Uint8Array) {
        ok = socket.write(data)
      } else {
        // each part as it is: no copy into one buffer
        for (const part of data) ok = socket.write(part)
      }
      if (!ok) {
        stream.pause()
        socket.once('drain', () => { if (stream.status === 'open') stream.resume() })
      }
    })
    const onEnd = (): void => { socket.end() }
    stream.addEventListener('end', onEnd)
    // the remote may have closed its side before this listener existed
    if (stream.readableEnded) queueMicrotask(onEnd)
    stream.addEventListener('close', (event) => {
      if (event.error != null) {
        socket.destroy()
        finish(event.error)
      } else {
        socket.end()
      }
    })
    socket.resume()
  })
}

/** pipe two sockets (a local replica: no mesh hop) until both directions end; never rejects */
export async function pipeSockets (client: Socket, upstream: Socket): Promise<PipeResult> {
  return await new Promise<PipeResult>((resolve) => {
    const result: PipeResult = { sent: 0, received: 0 }
    let open = 2
    const closed = (err?: Error): void => {
      if (err !== undefined && result.error === undefined) result.error = err
      if (--open === 0) resolve(result)
    }
    client.setNoDelay(true)
    client.setKeepAlive(true, KEEPALIVE_MS)
    upstream.setNoDelay(true)
    client.on('data', (chunk: Buffer) => { result.sent += chunk.byteLength })
    upstream.on('data', (chunk: Buffer) => { result.received += chunk.byteLength })
    // pipe() ends the destination when the source ends, and handles backpressure; errors are ours
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('error', (err) => { upstream.destroy(); result.error ??= err })
    upstream.on('error', (err) => { client.destroy(); result.error ??= err })
    client.on('close', () => { upstream.destroy(); closed() })
    upstream.on('close', () => { client.destroy(); closed() })
  })
}
