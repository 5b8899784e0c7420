/**
 * The control API: HTTP with JSON on a unix socket in the data dir. Local
 * only; the socket's file permissions (0600, the data dir's owner) are the
 * access control. The CLI and the tests are its clients. Every request body
 * is bounded, every error is JSON `{ error, code }` with a status that
 * says whose fault it was.
 */
import { nameOf, InvalidSpecError, messageOf } from '@minga/protocol'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { logger } from '@libp2p/logger'
import { chmod, rm } from 'node:fs/promises'
import { BadRequestError } from '../errors.js'
import type { ApiContext, ApiRoutes, Handler } from './api-types.js'
import { imageRoutes } from './routes-images.js'
import { buildRoutes } from './routes-builds.js'
import { meshRoutes } from './routes-mesh.js'
import { opsRoutes } from './routes-ops.js'
import { serviceRoutes } from './routes-services.js'
import { gitopsRoutes } from './routes-gitops.js'
import { volumeRoutes } from './routes-volumes.js'
import { trustRoutes } from './routes-trust.js'

export type { ApiContext, ApiRoutes, Handler, NodeControl } from './api-types.js'

export interface ApiServerInit {
  context: ApiContext
  socketPath: string
  testMode: boolean
}

const log = logger('minga:api')
const MAX_BODY_BYTES = 1024 * 1024
const STATUS_BY_ERROR: Record<string, number> = {
  BadRequestError: 400,
  InvalidSpecError: 400,
  InvalidInviteError: 400,
  SyntaxError: 400,
  ForbiddenError: 403,
  UnauthorizedWriteError: 403,
  NotFoundError: 404,
  ImageUnavailableError: 404,
  ImageGateError: 409,
  BuildError: 400,
  ClockSkewError: 409,
  ConflictError: 409,
  UnavailableError: 503,
  StorageError: 507
}

/** the control API's HTTP server on a unix socket: `listen()`, `close()`; errors map to statuses by their name */
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
    const routes: ApiRoutes = { add: (method, path, handler) => this.route(method, path, handler) }
    const { context, testMode } = this.init
    serviceRoutes(routes, context)
    gitopsRoutes(routes, context)
    meshRoutes(routes, context, testMode)
    opsRoutes(routes, context)
    trustRoutes(routes, context)
    imageRoutes(routes, context)
    buildRoutes(routes, context)
    volumeRoutes(routes, context)
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
      // a write the mesh will refuse is refused here, with what to do, rather than acknowledged
      if (req.method !== 'GET' && !url.pathname.startsWith('/v1/test/')) this.init.context.operations.checkClockForWrite()
      const body = req.method === 'GET' || req.method === 'DELETE' ? undefined : await readJson(req)
      const result = await match.r.handler({ body, params: match.m!.slice(1).map(decodeURIComponent), query: url.searchParams, req, res })
      if (!res.headersSent) reply(res, 200, result ?? {})
    } catch (err) {
      const name = nameOf(err) ?? 'Error'
      const status = STATUS_BY_ERROR[name] ?? 500
      if (status === 500) log.error('%s %s failed: %s', req.method, req.url, messageOf(err))
      const problems = err instanceof InvalidSpecError ? err.problems : undefined
      if (!res.headersSent) reply(res, status, { error: messageOf(err), code: name, problems })
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
