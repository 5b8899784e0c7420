/**
 * Which web app a connection on a shared port asks for, without
 * terminating anything: the first bytes tell TLS (a handshake record,
 * 0x16) from plain HTTP; TLS names its host in the ClientHello's SNI
 * (parsed by read-tls-client-hello), HTTP/1.x in its `Host` header. Every
 * byte read is put back (`unshift`), so the container sees the connection
 * exactly as the client sent it and terminates TLS with its own
 * certificate.
 *
 * Routing is per connection: a client that keeps a connection alive and
 * asks for another host on it stays with the first app (browsers pool
 * connections per origin; HTTP/2 coalescing across names covered by one
 * certificate gets a 421 from a correct backend).
 */
import type { Socket } from 'node:net'
import { getExtensionData, readTlsClientHello } from 'read-tls-client-hello'
import { errorText } from '../core/logger.js'
import { SniffError } from '../errors.js'

export type Sniffed =
  | { kind: 'http', host?: string }
  | { kind: 'tls', host?: string }

export interface SniffOptions {
  /** a client that has not named its host by then is dropped (default 5 s): nothing read yet costs a slot */
  timeoutMs?: number
  /** the longest HTTP request head read before giving up (default 16 KiB) */
  maxHeadBytes?: number
}

const TLS_HANDSHAKE = 0x16
const HOST_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/

/**
 * Reads from a paused socket until it knows the host, then puts the bytes
 * back. Rejects with SniffError: `closed` (the client left), `timeout`,
 * `too-large` (an HTTP head over the limit), `not-tls` (a handshake record
 * that is no ClientHello)
 */
export async function sniffHost (socket: Socket, options: SniffOptions = {}): Promise<Sniffed> {
  const timeoutMs = options.timeoutMs ?? 5000
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new SniffError('timeout', `The client named no host within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([sniff(socket, options.maxHeadBytes ?? 16 * 1024), timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function sniff (socket: Socket, maxHeadBytes: number): Promise<Sniffed> {
  const first = await readSome(socket)
  if (socket.readableEnded) throw new SniffError('closed', 'The client closed the connection before it named a host')
  socket.unshift(first)
  if (first[0] === TLS_HANDSHAKE) {
    let hello: Awaited<ReturnType<typeof readTlsClientHello>>
    try {
      hello = await readTlsClientHello(socket)
    } catch (err) {
      throw new SniffError('not-tls', `The TLS handshake could not be read: ${errorText(err)}`)
    }
    return { kind: 'tls', ...hostField(getExtensionData(hello, 'sni')?.serverName) }
  }
  const chunks: Buffer[] = []
  let length = 0
  try {
    while (true) {
      const chunk = await readSome(socket)
      chunks.push(chunk)
      length += chunk.length
      const head = Buffer.concat(chunks, length)
      const end = head.indexOf('\r\n\r\n')
      if (end !== -1) return { kind: 'http', ...hostField(hostHeader(head.subarray(0, end).toString('latin1'))) }
      if (length > maxHeadBytes) throw new SniffError('too-large', `The request head is over ${maxHeadBytes} bytes`)
    }
  } finally {
    // after the client's FIN nothing can be put back, and nothing will be read anyway
    if (length > 0 && !socket.readableEnded) socket.unshift(Buffer.concat(chunks, length))
  }
}

/** one chunk from a paused socket; rejects with SniffError('closed') at its end */
async function readSome (socket: Socket): Promise<Buffer> {
  return await new Promise<Buffer>((resolve, reject) => {
    const ready = socket.read() as Buffer | null
    if (ready !== null) { resolve(ready); return }
    const done = (): void => { socket.off('readable', onReadable); socket.off('end', onEnd); socket.off('close', onEnd); socket.off('error', onError) }
    const onReadable = (): void => {
      const chunk = socket.read() as Buffer | null
      if (chunk !== null) { done(); resolve(chunk) }
    }
    const onEnd = (): void => { done(); reject(new SniffError('closed', 'The client closed the connection before it named a host')) }
    const onError = (err: Error): void => { done(); reject(err) }
    socket.on('readable', onReadable)
    socket.once('end', onEnd)
    socket.once('close', onEnd)
    socket.once('error', onError)
  })
}

/** the Host header's value in an HTTP/1.x request head */
function hostHeader (head: string): string | undefined {
  return /\r\nhost:[ \t]*([^\r\n]*)/i.exec(head)?.[1]
}

/** a host name, lower case, without port; absent when it is none (an IP literal, garbage) */
function hostField (raw: string | undefined): { host?: string } {
  if (raw === undefined) return {}
  const host = raw.trim().toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '')
  return host.length <= 253 && HOST_PATTERN.test(host) ? { host } : {}
}
