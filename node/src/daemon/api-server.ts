/**
 * The control API: HTTP with JSON on a unix socket in the data dir. Local
 * only; the socket's file permissions (0600, the data dir's owner) are the
 * access control. The CLI and the tests are its clients. Every request body
 * is bounded, every error is JSON `{ error, code }` with a status that
 * says whose fault it was.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { chmod, rm } from 'node:fs/promises'
import { parseServiceSpec } from '@minga/protocol'
import type { Daemon } from './daemon.js'
import { BadRequestError } from '../errors.js'
import { parseDurationMs } from './duration.js'

export interface ApiServerInit {
  daemon: Daemon
  socketPath: string
  testMode: boolean
}

const MAX_BODY_BYTES = 1024 * 1024
const STATUS_BY_ERROR: Record<string, number> = {
  BadRequestError: 400, InvalidSpecError: 400, InvalidInviteError: 400, SyntaxError: 400,
  ForbiddenError: 403, UnauthorizedWriteError: 403,
  NotFoundError: 404,
  StorageError: 507
}

type Handler = (ctx: { body: any, params: string[], query: URLSearchParams, res: ServerResponse }) => Promise<unknown>

export class ApiServer {
  private readonly server: Server
  private readonly routes: Array<{ method: string, pattern: RegExp, handler: Handler }> = []

  constructor (private readonly init: ApiServerInit) {
    this.server = createServer((req, res) => { void this.dispatch(req, res) })
    this.server.requestTimeout = 0
    this.defineRoutes()
  }

  async listen (): Promise<void> {
    await rm(this.init.socketPath, { force: true })
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.init.socketPath, () => { this.server.off('error', reject); resolve() })
    })
    await chmod(this.init.socketPath, 0o600)
  }

  async close (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
    await rm(this.init.socketPath, { force: true })
  }

  private route (method: string, path: string, handler: Handler): void {
    const pattern = new RegExp('^' + path.replace(/:[a-z]+/g, '([^/]+)') + '$')
    this.routes.push({ method, pattern, handler })
  }

  private defineRoutes (): void {
    const d = this.init.daemon
    const ops = () => d.operations
    this.route('GET', '/v1/status', async () => ops().status())
    this.route('GET', '/v1/nodes', async () => ops().nodes())
    this.route('GET', '/v1/services', async () => ops().services())
    this.route('GET', '/v1/services/:org/:name', async ({ params }) => ({ ...ops().serviceRecord(`${params[0]}/${params[1]}`), replicas: ops().ps(`${params[0]}/${params[1]}`) }))
    this.route('GET', '/v1/ps', async ({ query }) => ops().ps(query.get('service') ?? undefined))
    this.route('GET', '/v1/events', async ({ query }) => d.core.events.recent({ since: Number(query.get('since') ?? 0), limit: 1000 }))
    this.route('POST', '/v1/deploy', async ({ body }) => {
      if (typeof body?.text !== 'string') throw new BadRequestError('Send the spec file as {"text": "..."}')
      const specs = parseServiceSpec(body.text, { source: typeof body.source === 'string' ? body.source : undefined, org: ops().org })
      return await ops().deploy(specs)
    })
    this.route('DELETE', '/v1/services/:org/:name', async ({ params }) => {
      await ops().remove(`${params[0]}/${params[1]}`)
      return { removed: `${params[0]}/${params[1]}` }
    })
    this.route('POST', '/v1/scale', async ({ body }) => {
      await ops().scale(String(body?.service ?? ''), Number(body?.replicas))
      return { service: body.service, replicas: Number(body.replicas) }
    })
    this.route('POST', '/v1/invite', async ({ body }) => {
      const ttlMs = parseDurationMs(body?.ttl ?? '24h')
      return await ops().invite({ org: body?.org, newOrg: body?.newOrg === true, ttlMs, uses: Number(body?.uses ?? 1), bootstrap: d.bootstrapAddrs(), psk: await d.psk() })
    })
    this.route('POST', '/v1/cordon', async ({ body }) => ({ node: await ops().cordon(String(body?.node ?? ''), String(body?.reason ?? 'cordoned by an operator')) }))
    this.route('POST', '/v1/uncordon', async ({ body }) => ({ node: await ops().uncordon(String(body?.node ?? '')) }))
    if (this.init.testMode) {
      this.route('POST', '/v1/test/partition', async ({ body }) => {
        if (!Array.isArray(body?.blocked)) throw new BadRequestError('Send {"blocked": [peer ids]}')
        await d.partition(body.blocked.map(String))
        return { blocked: body.blocked }
      })
    }
  }

  private async dispatch (req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://minga')
      const match = this.routes.map(r => ({ r, m: req.method === r.method ? r.pattern.exec(url.pathname) : null })).find(x => x.m !== null)
      if (match === undefined) {
        const known = this.routes.some(r => r.pattern.test(url.pathname))
        reply(res, known ? 405 : 404, { error: known ? `${req.method} is not allowed on ${url.pathname}` : `No such API route: ${url.pathname}`, code: 'NotFound' })
        return
      }
      const body = req.method === 'GET' || req.method === 'DELETE' ? undefined : await readJson(req)
      const result = await match.r.handler({ body, params: match.m!.slice(1).map(decodeURIComponent), query: url.searchParams, res })
      if (!res.headersSent) reply(res, 200, result ?? {})
    } catch (err: any) {
      const status = STATUS_BY_ERROR[err?.name] ?? 500
      if (!res.headersSent) reply(res, status, { error: err?.message ?? String(err), code: err?.name ?? 'Error', problems: err?.problems })
      else res.end()
    }
  }
}

function reply (res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

async function readJson (req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new BadRequestError(`Request body is larger than ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return {}
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new BadRequestError('Request body is not valid JSON')
  }
}
