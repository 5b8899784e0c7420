/**
 * restic's REST backend protocol, version 2 (restic/restic doc/REST_backend.rst),
 * served on 127.0.0.1 to the restic processes this node runs. Each restic run
 * gets a session: a random user and password in its repository URL, good for
 * one repository only, so a process that reaches the port (a container on
 * the host's network, say) can do nothing without them.
 *
 * Every request body is spooled to a file while it is hashed; a file whose
 * bytes do not hash to its name (all of restic's files but `config` are
 * named by their sha256) is refused before the repository sees it. The
 * repository behind a session is anything that implements `ResticFiles`:
 * a folder (tests, benchmarks) or the mesh (mesh-repository.ts).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Transform } from 'node:stream'
import { MAX_BLOB_BYTES } from '@minga/protocol'

export const RESTIC_FILE_TYPES = ['data', 'keys', 'locks', 'snapshots', 'index', 'config'] as const
export type ResticFileType = typeof RESTIC_FILE_TYPES[number]

export interface ResticFileInfo { name: string, size: number }

/** a restic repository's files, by type and name */
export interface ResticFiles {
  /** POST ?create=true: make the repository exist (it may already) */
  create: () => Promise<void>
  list: (type: Exclude<ResticFileType, 'config'>) => Promise<ResticFileInfo[]>
  /** the file's size, or undefined when it does not exist */
  stat: (type: ResticFileType, name: string) => Promise<number | undefined>
  /** the bytes from `start` to `end` inclusive (default: all), or undefined when it does not exist */
  read: (type: ResticFileType, name: string, range?: { start: number, end?: number }) => Promise<{ size: number, body: AsyncIterable<Uint8Array> } | undefined>
  /** takes a file spooled at `path` (checked against its name, `size` bytes); resolves once it is stored durably */
  write: (type: ResticFileType, name: string, path: string, size: number) => Promise<void>
  remove: (type: ResticFileType, name: string) => Promise<void>
}

export interface RestSession {
  /** `rest:http://user:password@127.0.0.1:port/org/service/`, for `restic -r` */
  url: string
  close: () => void
}

const V2 = 'application/vnd.x.restic.rest.v2'
const NAME = /^[0-9a-f]{64}$/

export class RestServer {
  private server?: Server
  private readonly sessions = new Map<string, { password: Buffer, path: string, files: ResticFiles }>()
  private spoolCount = 0
  readonly stats = { requests: 0, bytesIn: 0, bytesOut: 0, refused: 0 }

  /** `spoolDir`: where request bodies wait while they are checked */
  constructor (private readonly spoolDir: string) {}

  async start (): Promise<number> {
    await rm(this.spoolDir, { recursive: true, force: true })
    await mkdir(this.spoolDir, { recursive: true })
    this.server = createServer((req, res) => { void this.serve(req, res) })
    // restic keeps connections open between requests; a restore of many packs reuses them
    this.server.keepAliveTimeout = 30_000
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject)
      this.server!.listen(0, '127.0.0.1', resolve)
    })
    return this.port()
  }

  port (): number {
    return (this.server?.address() as AddressInfo).port
  }

  /** a session for one restic run on one repository, at `/<path>/` */
  open (path: string, files: ResticFiles): RestSession {
    const user = randomBytes(9).toString('hex')
    const password = randomBytes(24).toString('hex')
    const clean = path.replace(/^\/+|\/+$/g, '')
    this.sessions.set(user, { password: Buffer.from(password), path: clean, files })
    return { url: `rest:http://${user}:${password}@127.0.0.1:${this.port()}/${clean}/`, close: () => this.sessions.delete(user) }
  }

  async close (): Promise<void> {
    this.sessions.clear()
    const server = this.server
    this.server = undefined
    if (server !== undefined) {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
    await rm(this.spoolDir, { recursive: true, force: true })
  }

  private async serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++
    try {
      const session = this.authenticate(req)
      if (session === undefined) {
        this.stats.refused++
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="minga"' }).end('Unauthorized: use the URL minga gave this restic run\n')
        return
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      const prefix = `/${session.path}/`
      const pathname = url.pathname === `/${session.path}` ? prefix : url.pathname
      if (!pathname.startsWith(prefix)) return this.fail(res, 403, `This session serves /${session.path}/ only`)
      const rest = pathname.slice(prefix.length).split('/')
      await this.route(req, res, session.files, rest, url.searchParams)
    } catch (err: any) {
      if (!res.headersSent) this.fail(res, 500, String(err?.message ?? err))
      else res.destroy()
    }
  }

  private async route (req: IncomingMessage, res: ServerResponse, files: ResticFiles, rest: string[], query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET'
    const [type, name, extra] = rest
    if (type === '' && rest.length === 1) {
      if (method === 'POST' && query.get('create') === 'true') {
        await files.create()
        res.writeHead(200).end()
        return
      }
      if (method === 'DELETE') return this.fail(res, 501, 'minga deletes repositories with "minga rm SERVICE --volumes", not through restic')
      return this.fail(res, 405, `${method} on the repository is not served`)
    }
    if (type === 'config' && rest.length === 1) return await this.file(req, res, files, 'config', 'config')
    if (!isFileType(type) || type === 'config' || extra !== undefined) return this.fail(res, 404, `No such path: ${rest.join('/').slice(0, 100)}`)
    if (name === '' || name === undefined) {
      if (method !== 'GET') return this.fail(res, 405, `${method} on a listing is not served`)
      const list = await files.list(type)
      const v2 = (req.headers.accept ?? '').includes(V2)
      const body = JSON.stringify(v2 ? list : list.map(f => f.name))
      res.writeHead(200, { 'Content-Type': v2 ? V2 : 'application/vnd.x.restic.rest.v1', 'Content-Length': Buffer.byteLength(body) }).end(body)
      return
    }
    if (!NAME.test(name)) return this.fail(res, 400, `${name.slice(0, 80)} is not a sha256 name`)
    await this.file(req, res, files, type, name)
  }

  private async file (req: IncomingMessage, res: ServerResponse, files: ResticFiles, type: ResticFileType, name: string): Promise<void> {
    switch (req.method) {
      case 'HEAD': {
        const size = await files.stat(type, name)
        if (size === undefined) {
          res.writeHead(404).end()
          return
        }
        res.writeHead(200, { 'Content-Length': size }).end()
        return
      }
      case 'GET': {
        const range = parseRange(req.headers.range)
        if (range === null) return this.fail(res, 416, `Range ${String(req.headers.range).slice(0, 60)} is not one this server reads (bytes=start-end)`)
        const found = await files.read(type, name, range)
        if (found === undefined) return this.fail(res, 404, `${type}/${name} not found`)
        const start = range?.start ?? 0
        const end = Math.min(range?.end ?? found.size - 1, found.size - 1)
        if (range !== undefined && start >= found.size && found.size > 0) return this.fail(res, 416, `Range starts at ${start}, past the ${found.size} bytes of ${type}/${name}`)
        const length = Math.max(0, end - start + 1)
        res.writeHead(range === undefined ? 200 : 206, {
          'Content-Type': 'application/octet-stream',
          'Content-Length': length,
          ...(range === undefined ? {} : { 'Content-Range': `bytes ${start}-${end}/${found.size}` })
        })
        for await (const chunk of found.body) {
          this.stats.bytesOut += chunk.length
          if (!res.write(chunk)) await new Promise(resolve => res.once('drain', resolve))
        }
        res.end()
        return
      }
      case 'POST': {
        const spooled = await this.spool(req, type, name)
        if (typeof spooled === 'string') return this.fail(res, 400, spooled)
        try {
          await files.write(type, name, spooled.path, spooled.size)
        } finally {
          await rm(spooled.path, { force: true })
        }
        res.writeHead(200).end()
        return
      }
      case 'DELETE':
        await files.remove(type, name)
        res.writeHead(200).end()
        return
      default:
        return this.fail(res, 405, `${String(req.method)} is not served`)
    }
  }

  /** the body in a spool file, hashed; a problem (too large, wrong hash) as a message */
  private async spool (req: IncomingMessage, type: ResticFileType, name: string): Promise<{ path: string, size: number } | string> {
    const path = join(this.spoolDir, `${this.spoolCount++}`)
    const digest = createHash('sha256')
    let size = 0
    try {
      await pipeline(req, new Transform({
        transform: (chunk: Buffer, _encoding, done) => {
          size += chunk.length
          if (size > MAX_BLOB_BYTES) return done(new Error(`A file is at most ${MAX_BLOB_BYTES} bytes; restic's pack size must stay below that`))
          digest.update(chunk)
          done(null, chunk)
        }
      }), createWriteStream(path))
    } catch (err: any) {
      await rm(path, { force: true })
      return String(err?.message ?? err)
    }
    this.stats.bytesIn += size
    const hash = digest.digest('hex')
    if (type !== 'config' && hash !== name) {
      await rm(path, { force: true })
      return `The body hashes to ${hash.slice(0, 12)}, not to its name ${name.slice(0, 12)}`
    }
    return { path, size }
  }

  private authenticate (req: IncomingMessage): { path: string, files: ResticFiles } | undefined {
    const header = req.headers.authorization
    if (header === undefined || !header.startsWith('Basic ')) return undefined
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return undefined
    const session = this.sessions.get(decoded.slice(0, colon))
    const given = Buffer.from(decoded.slice(colon + 1))
    if (session === undefined || given.length !== session.password.length || !timingSafeEqual(given, session.password)) return undefined
    return session
  }

  private fail (res: ServerResponse, status: number, message: string): void {
    if (status >= 400 && status !== 404) this.stats.refused++
    res.writeHead(status, { 'Content-Type': 'text/plain' }).end(`${message}\n`)
  }
}

function isFileType (value: string | undefined): value is ResticFileType {
  return (RESTIC_FILE_TYPES as readonly string[]).includes(value ?? '')
}

/** `bytes=a-b` or `bytes=a-` (what restic sends); undefined without a Range header, null for anything else */
export function parseRange (header: string | undefined): { start: number, end?: number } | undefined | null {
  if (header === undefined) return undefined
  const match = /^bytes=(\d{1,15})-(\d{0,15})$/.exec(header.trim())
  if (match === null) return null
  const start = Number(match[1])
  const end = match[2] === '' ? undefined : Number(match[2])
  return end !== undefined && end < start ? null : { start, end }
}
