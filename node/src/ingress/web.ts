/**
 * A connection on a shared web port: find the host it asks for (sniff.ts),
 * the service that answers that host, and forward the untouched connection
 * there. What a plain HTTP client is told when that fails: 400 without a
 * Host, 421 for a host no service answers, 431 for a head too large, 503
 * when no replica took it. A TLS client cannot be told anything without a
 * certificate: its connection is closed.
 */
import type { Socket } from 'node:net'
import { SniffError } from '../errors.js'
import type { WebRoute } from '../core/ingress/routes.js'
import { sniffHost } from './sniff.js'

export interface WebHandlers {
  route: (host: string) => WebRoute | undefined
  /**
   * forward the connection to `containerPort` of the route's service; when no
   * replica took it, `unavailable` gets the (still untouched) socket
   */
  forward: (route: WebRoute, containerPort: number, host: string, unavailable: (socket: Socket) => void) => Promise<unknown>
}

export async function serveWeb (socket: Socket, kind: 'http' | 'tls', handlers: WebHandlers): Promise<void> {
  let sniffed: Awaited<ReturnType<typeof sniffHost>>
  try {
    sniffed = await sniffHost(socket)
  } catch (err) {
    if (err instanceof SniffError && err.code === 'too-large' && kind === 'http') answer(socket, 431, 'Request Header Fields Too Large')
    else socket.destroy()
    return
  }
  const route = sniffed.host === undefined ? undefined : handlers.route(sniffed.host)
  const port = route === undefined ? undefined : sniffed.kind === 'tls' ? route.tlsPort : route.port
  if (route === undefined || port === undefined || sniffed.host === undefined) {
    if (sniffed.kind === 'http') answer(socket, sniffed.host === undefined ? 400 : 421, sniffed.host === undefined ? 'Bad Request' : 'Misdirected Request')
    else socket.destroy()
    return
  }
  const unavailable = sniffed.kind === 'http' ? (s: Socket) => answer(s, 503, 'Service Unavailable') : (s: Socket) => s.destroy()
  await handlers.forward(route, port, sniffed.host, unavailable).catch(() => {})
}

function answer (socket: Socket, status: number, reason: string): void {
  const body = `${status} ${reason}\n`
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`)
  socket.resume()
}
