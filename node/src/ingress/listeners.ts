/**
 * TCP listeners kept in line with a wanted set: the routing mesh's
 * published ports on the node's publish addresses, the shared web ports,
 * the service addresses on the bridge. `reconcile` opens what is new and
 * closes what is gone (open connections stay: closing a listener never
 * cuts a client). A listener that cannot bind (the address is in use, not
 * this host's) is retried with a growing back-off, 1 s up to 30 s, and its
 * error is kept for `problems()` until it binds.
 */
import net, { type Server, type Socket } from 'node:net'
import type { Endpoint } from '@minga/protocol'
import { errorText } from '../core/logger.js'

export interface ListenSpec {
  /** identifies the listener and whatever it serves, e.g. `port/tcp/8080@0.0.0.0` */
  key: string
  address: string
  port: number
}

export interface ListenersInit {
  /** a new connection on `key`; the socket is paused until the handler resumes or pipes it */
  onConnection: (key: string, socket: Socket) => void
  /** a listener could not bind, or bound after failing */
  onChange?: (key: string, error?: Error) => void
}

interface Entry {
  spec: ListenSpec
  server?: Server
  error?: Error
  retry?: ReturnType<typeof setTimeout>
  delay: number
  closed: boolean
}

const RETRY_FIRST_MS = 1000
const RETRY_MAX_MS = 30_000

export class Listeners {
  private readonly entries = new Map<string, Entry>()
  private readonly init: ListenersInit

  constructor (init: ListenersInit) {
    this.init = init
  }

  /** open the listeners of `wanted` that are not open, close those not in it; resolves once each new one bound or failed once */
  async reconcile (wanted: readonly ListenSpec[]): Promise<void> {
    const keys = new Set(wanted.map(w => w.key))
    for (const [key, entry] of this.entries) {
      if (!keys.has(key)) this.close(entry)
    }
    const opening: Array<Promise<void>> = []
    for (const spec of wanted) {
      const current = this.entries.get(spec.key)
      if (current !== undefined && current.spec.address === spec.address && current.spec.port === spec.port) continue
      if (current !== undefined) this.close(current)
      const entry: Entry = { spec, delay: RETRY_FIRST_MS, closed: false }
      this.entries.set(spec.key, entry)
      opening.push(this.open(entry))
    }
    await Promise.all(opening)
  }

  /** listeners that could not bind, with why */
  problems (): Map<string, Error> {
    const out = new Map<string, Error>()
    for (const [key, entry] of this.entries) if (entry.error !== undefined) out.set(key, entry.error)
    return out
  }

  /** where `key` listens, once bound */
  address (key: string): { address: string, port: number } | undefined {
    const bound = this.entries.get(key)?.server?.address()
    return bound === null || bound === undefined || typeof bound === 'string' ? undefined : { address: bound.address, port: bound.port }
  }

  keys (): string[] {
    return [...this.entries.keys()]
  }

  async closeAll (): Promise<void> {
    for (const entry of this.entries.values()) this.close(entry)
  }

  private async open (entry: Entry): Promise<void> {
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true, keepAlive: true }, (socket) => {
      socket.on('error', () => {})
      this.init.onConnection(entry.spec.key, socket)
    })
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen({ host: entry.spec.address, port: entry.spec.port, backlog: 1024 }, () => { server.off('error', reject); resolve() })
      })
    } catch (err) {
      server.close()
      if (entry.closed) return
      const code = (err as NodeJS.ErrnoException).code
      entry.error = new Error(`Cannot listen on ${entry.spec.address}:${entry.spec.port}: ${code ?? errorText(err)}${code === 'EADDRINUSE' ? ' (another program holds it)' : code === 'EADDRNOTAVAIL' ? ' (not an address of this host)' : ''}`)
      this.init.onChange?.(entry.spec.key, entry.error)
      entry.retry = setTimeout(() => { void this.open(entry) }, entry.delay)
      entry.retry.unref()
      entry.delay = Math.min(entry.delay * 2, RETRY_MAX_MS)
      return
    }
    if (entry.closed) { server.close(); return }
    server.on('error', () => {})
    entry.server = server
    if (entry.error !== undefined) {
      entry.error = undefined
      this.init.onChange?.(entry.spec.key)
    }
  }

  private close (entry: Entry): void {
    entry.closed = true
    clearTimeout(entry.retry)
    entry.server?.close()
    if (this.entries.get(entry.spec.key) === entry) this.entries.delete(entry.spec.key)
  }
}

/** the client's and the local end of an accepted socket (IPv4-mapped addresses as plain IPv4) */
export function socketEnds (socket: Socket): { client: Endpoint, local: Endpoint } {
  return {
    client: { address: (socket.remoteAddress ?? '0.0.0.0').replace(/^::ffff:/, ''), port: socket.remotePort ?? 0 },
    local: { address: (socket.localAddress ?? '0.0.0.0').replace(/^::ffff:/, ''), port: socket.localPort ?? 0 }
  }
}
