/**
 * The node's HTTP listener for people and Prometheus: `/metrics`, the
 * dashboard (`/`, `/api/snapshot`, `/api/stream`) and `/healthz`. Read
 * only, and on 127.0.0.1:7948 by default: expose it with
 * `minga up --http 0.0.0.0:7948` behind your own access control, or turn
 * it off with `--http off`. On a loopback address it answers only requests
 * whose Host is a loopback name, so a web page cannot read it through DNS
 * rebinding.
 */
import { messageOf } from '@minga/protocol'
import { prefixLogger } from '@libp2p/logger'
import { errorText, type ComponentLogger, type Logger } from '../core/logger.js'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { BadRequestError } from '../errors.js'

export const DEFAULT_HTTP_ADDRESS = '127.0.0.1:7948'
const STREAM_EVERY_MS = 2000
const MAX_STREAMS = 32

export interface HttpAddress { host: string, port: number }

/** `off`, `HOST:PORT`, `[v6]:PORT`, `:PORT` or `PORT` → where to listen, or undefined for off */
export function parseHttpAddress (text: string): HttpAddress | undefined {
  const value = text.trim()
  if (value === 'off' || value === 'none' || value === 'false') return undefined
  const match = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(value) ?? /^([^:[\]]*):(\d{1,5})$/.exec(value) ?? /^()(\d{1,5})$/.exec(value)
  const port = Number(match?.[2])
  if (match === null || !(port >= 0 && port <= 65535)) throw new BadRequestError(`--http takes ADDRESS:PORT (e.g. 127.0.0.1:7948 or 0.0.0.0:7948) or off, not "${text}"`)
  const host = match[1] === '' ? '127.0.0.1' : match[1]
  return { host, port }
}

export interface HttpServerInit {
  address: HttpAddress
  metrics: () => Promise<{ contentType: string, text: string }>
  snapshot: () => Promise<unknown>
  page: () => string
  healthy: () => Promise<{ healthy: boolean, problems: string[] }>
  /** default: `minga:http` */
  logger?: ComponentLogger
}

/**
 * The dashboard and metrics listener: `/` (the page), `/api/snapshot`, `/api/stream` (server-sent events), `/metrics`,
 * `/healthz`; on loopback it answers loopback Host names only. `listen()` returns its URL
 */
export class HttpServer {
  private readonly server: Server
  private readonly streams = new Set<ServerResponse>()
  private timer?: NodeJS.Timeout
  private bound?: AddressInfo

  private readonly log: Logger

  constructor (private readonly init: HttpServerInit) {
    this.log = (init.logger ?? prefixLogger('minga')).forComponent('http')
    this.server = createServer((req, res) => { void this.dispatch(req, res) })
  }

  /** the URL it listens on, once listening */
  get url (): string | undefined {
    if (this.bound === undefined) return undefined
    const host = this.bound.family === 'IPv6' ? `[${this.bound.address}]` : this.bound.address
    return `http://${host}:${this.bound.port}/`
  }

  async listen (): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.init.address.port, this.init.address.host, () => { this.server.off('error', reject); resolve() })
    })
    this.bound = this.server.address() as AddressInfo
    this.timer = setInterval(() => { void this.pushSnapshots() }, STREAM_EVERY_MS)
    this.timer.unref()
    return this.url!
  }

  async close (): Promise<void> {
    clearInterval(this.timer)
    for (const res of this.streams) res.end()
    this.streams.clear()
    if (this.bound === undefined) return
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private async dispatch (req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!this.hostAllowed(req.headers.host)) return send(res, 403, 'text/plain; charset=utf-8', 'This address answers only to localhost; open it as http://127.0.0.1:PORT/\n')
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'Only GET is served here\n')
      const path = new URL(req.url ?? '/', 'http://minga').pathname
      switch (path) {
        case '/':
        case '/dashboard':
          return send(res, 200, 'text/html; charset=utf-8', this.init.page(), { 'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:" })
        case '/metrics': {
          const { contentType, text } = await this.init.metrics()
          return send(res, 200, contentType, text)
        }
        case '/healthz': {
          const health = await this.init.healthy()
          return send(res, 200, 'application/json', JSON.stringify(health))
        }
        case '/api/snapshot':
          return send(res, 200, 'application/json', JSON.stringify(await this.init.snapshot()))
        case '/api/stream':
          return await this.openStream(res)
        default:
          return send(res, 404, 'text/plain; charset=utf-8', `Nothing at ${path}: try / (dashboard) or /metrics\n`)
      }
    } catch (err) {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `${messageOf(err)}\n`)
      else res.end()
    }
  }

  private hostAllowed (host: string | undefined): boolean {
    const address = this.bound?.address ?? ''
    const loopback = address === '127.0.0.1' || address === '::1' || address.startsWith('127.')
    if (!loopback) return true
    const name = (host ?? '').replace(/:\d+$/, '').toLowerCase()
    return name === 'localhost' || name === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(name)
  }

  private async openStream (res: ServerResponse): Promise<void> {
    if (this.streams.size >= MAX_STREAMS) return send(res, 503, 'text/plain; charset=utf-8', 'Too many open dashboards on this node\n')
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' })
    this.streams.add(res)
    res.on('close', () => this.streams.delete(res))
    this.pushSnapshot(res, JSON.stringify(await this.init.snapshot()))
  }

  private async pushSnapshots (): Promise<void> {
    if (this.streams.size === 0) return
    try {
      const data = JSON.stringify(await this.init.snapshot())
      for (const res of this.streams) this.pushSnapshot(res, data)
    } catch (err) {
      // the next tick tries again; the page shows it is not live meanwhile
      this.log.error('a dashboard snapshot failed: %s', errorText(err))
    }
  }

  private pushSnapshot (res: ServerResponse, data: string): void {
    // a browser that does not read is skipped, never buffered for
    if (res.writableNeedDrain) return
    res.write(`event: snapshot\ndata: ${data}\n\n`)
  }
}

function send (res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers })
  res.end(body)
}
