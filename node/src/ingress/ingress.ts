/**
 * The routing mesh on one node: its listeners, its forwarder and its
 * side of the forward protocol, bound to the core through `IngressView`.
 *
 * - Published ports (mode ingress): this node listens on each on its
 *   publish addresses and forwards every connection to a healthy replica.
 * - Shared web ports: connections are routed by Host or SNI (sniff.ts) to
 *   the service that declares that host name, then forwarded alike.
 * - Names (names.ts, when the node has a service network): a container
 *   asks the node's DNS server for `db`; the answer is the service's
 *   address on the bridge, where the node listens on the service's ports
 *   and forwards the connection, checking that the caller may reach it.
 *
 * The route table follows the replicated specs (routes.ts), recomputed
 * whenever the view changes.
 */
import { Socket } from 'node:net'
import type { Libp2p, Stream } from '@libp2p/interface'
import { NoReplicaError } from '../errors.js'
import { errorText, nodeLogger, type ComponentLogger, type Logger } from '../core/logger.js'
import type { Clock } from '../core/clock.js'
import { acceptForward, expectsProxyHeader } from '../core/ingress/authorize.js'
import { Forwarder, type ConnectRequest, type Forwarded, type ForwarderInit } from '../core/ingress/forwarder.js'
import { routeTable, type RouteTable, type WebPorts } from '../core/ingress/routes.js'
import { dialContainer } from './dial.js'
import { ForwardStreams, type AcceptVerdict } from './forward-stream.js'
import { Listeners, socketEnds, type ListenSpec } from './listeners.js'
import { Names, type NamesInit } from './names.js'
import { pipeSocketStream, pipeSockets, type PipeResult } from './pipe.js'
import { proxyHeader } from './proxy-header.js'
import type { IngressView } from '../core/ingress/view.js'
import type { ForwardRequestMessage } from '@minga/protocol'
import { serveWeb } from './web.js'

export type { IngressView } from '../core/ingress/view.js'

export interface IngressComponents {
  libp2p: Libp2p
  /** this node's peer id */
  self: string
  clock: Clock
  view: IngressView
}

export interface IngressInit extends ForwarderInit {
  /** the forward protocol's id (protocols.forward(meshId)) */
  protocol: string
  /** addresses published ports bind (default 0.0.0.0) */
  publishOn?: string[]
  /** the shared web ports; null turns them off */
  webPorts?: WebPorts | null
  /** service names for containers: the node's service network, its DNS; absent: no names */
  names?: Omit<NamesInit, 'connect' | 'view' | 'onProblem'>
  /** where it says what it does and what fails (DEBUG=minga:*) */
  logger?: ComponentLogger
  /** a listener could not bind (with why), or bound after failing (no error); a service that wants what another holds (once while it lasts) */
  onProblem?: (what: string, error?: Error) => void
}

type Channel = Socket | Stream

export interface IngressStats {
  forwarded: number
  local: number
  failed: number
  sent: number
  received: number
}

export class Ingress {
  readonly forwarder: Forwarder<Channel>
  readonly streams: ForwardStreams
  readonly listeners: Listeners
  readonly names?: Names
  readonly stats: IngressStats = { forwarded: 0, local: 0, failed: 0, sent: 0, received: 0 }
  private readonly components: IngressComponents
  private readonly init: IngressInit
  private table: RouteTable = { ports: [], web: new Map(), conflicts: [] }
  /** conflicts already reported, so each is said once while it lasts */
  private conflicts = new Set<string>()
  private readonly stopping = new AbortController()
  private following?: Promise<void>
  private readonly log: Logger

  constructor (components: IngressComponents, init: IngressInit) {
    this.components = components
    this.init = init
    this.log = (init.logger ?? nodeLogger(components.self)).forComponent('ingress')
    const { view } = components
    this.forwarder = new Forwarder<Channel>({
      self: components.self,
      clock: components.clock,
      replicas: { healthy: service => view.healthy(service), changed: async signal => await view.changed(signal) },
      dialer: {
        local: async (target, options) => {
          const address = view.local(target.service).find(r => r.replica === target.replica)?.address
          if (address === undefined) throw new Error(`replica ${target.service}#${target.replica} has no address here`)
          return await dialContainer({ address, port: target.port }, { signal: options.signal, header: target.proxyProtocol ? proxyHeader(target.client, target.local) : undefined })
        },
        remote: async (node, request, options) => await this.streams.open(node, request, options)
      }
    }, init)
    this.streams = new ForwardStreams({
      libp2p: components.libp2p,
      protocol: init.protocol,
      accept: (request, from) => this.accept(request, from),
      onPiped: (_request, result) => this.count(result)
    })
    const onProblem = (what: string, error?: Error): void => {
      if (error !== undefined) this.log.error('%s', error.message)
      init.onProblem?.(what, error)
    }
    this.listeners = new Listeners({ onConnection: (key, socket) => { void this.onConnection(key, socket) }, onChange: onProblem })
    if (init.names !== undefined) {
      this.names = new Names({ ...init.names, view, connect: async (socket, request) => await this.forward(socket, request), onProblem })
    }
  }

  async start (): Promise<void> {
    await this.streams.start()
    await this.names?.start()
    await this.refresh()
    this.following = this.follow()
  }

  async stop (): Promise<void> {
    this.stopping.abort()
    await this.following
    await this.listeners.closeAll()
    await this.names?.stop()
    await this.streams.stop().catch(() => {})
  }

  /** the current route table (for views: who holds which port, conflicts) */
  routes (): RouteTable {
    return this.table
  }

  /** recompute the route table from the view and bring the listeners in line */
  async refresh (): Promise<void> {
    this.table = routeTable(this.components.view.services(), this.init.webPorts === null || this.init.webPorts === undefined ? {} : { webPorts: this.init.webPorts })
    this.reportConflicts()
    await this.listeners.reconcile(this.wantedListeners())
    await this.names?.refresh()
  }

  /**
   * Two deploys accepted at the same moment on different nodes may want one
   * port or host name: the older service keeps it (every node agrees), the
   * younger gets no listener, and the operator hears it here
   */
  private reportConflicts (): void {
    const now = new Map(this.table.conflicts.map(c => [`${c.service} wants ${c.what}, which ${c.holder} already has: it gets no listener on this mesh; redeploy ${c.service} with another ${c.what.startsWith('host') ? 'host name' : 'port'}, or remove ${c.holder}`, c.service]))
    for (const [text, service] of now) {
      if (this.conflicts.has(text)) continue
      this.log.error('%s', text)
      this.init.onProblem?.(service, new Error(text))
    }
    this.conflicts = new Set(now.keys())
  }

  private wantedListeners (): ListenSpec[] {
    const publishOn = this.init.publishOn ?? ['0.0.0.0']
    const wanted: ListenSpec[] = []
    for (const port of this.table.ports) {
      if (port.protocol !== 'tcp') continue
      for (const address of bindAddresses(port.address, publishOn)) wanted.push({ key: `port/${port.port}@${address}`, address, port: port.port })
    }
    const web = this.init.webPorts
    if (web !== null && web !== undefined && this.table.web.size > 0) {
      const routes = [...this.table.web.values()]
      for (const [kind, port] of [['http', web.http], ['tls', web.tls]] as const) {
        if (!routes.some(r => (kind === 'http' ? r.port : r.tlsPort) !== undefined)) continue
        for (const address of publishOn) wanted.push({ key: `web/${port}@${address}`, address, port })
      }
    }
    return wanted
  }

  private async follow (): Promise<void> {
    const signal = this.stopping.signal
    while (!signal.aborted) {
      try {
        await this.components.view.changed(signal)
        await this.refresh()
      } catch (err) {
        if (signal.aborted) return
        this.log.error('the routes could not be brought in line: %s', errorText(err))
        await this.components.clock.sleep(1000, signal).catch(() => {})
      }
    }
  }

  private async onConnection (key: string, socket: Socket): Promise<void> {
    const [kind, rest] = key.split('/')
    const port = Number(rest.split('@')[0])
    if (kind === 'web') {
      await serveWeb(socket, port === this.init.webPorts?.tls ? 'tls' : 'http', {
        route: host => this.table.web.get(host),
        forward: async (route, containerPort, host, unavailable) => await this.forward(socket, {
          service: route.service, port: containerPort, via: 'web', host, proxyProtocol: expectsProxyHeader(this.components.view.spec(route.service) ?? { ports: [] }, containerPort), ...socketEnds(socket)
        }, { unavailable })
      })
      return
    }
    const published = this.table.ports.find(p => p.protocol === 'tcp' && p.port === port)
    if (published === undefined) { socket.destroy(); return }
    await this.forward(socket, { service: published.service, port: published.containerPort, via: 'port', proxyProtocol: expectsProxyHeader(this.components.view.spec(published.service) ?? { ports: [] }, published.containerPort), ...socketEnds(socket) })
      .catch((err: unknown) => { this.log('a connection to port %d was not forwarded: %s', port, errorText(err)) })
  }

  /**
   * Forward `socket` (paused, nothing read from it yet, or what was read put
   * back) to a replica and pipe it; rejects with NoReplicaError when none
   * took it, after handing the socket to `unavailable` (default: closed)
   */
  async forward (socket: Socket, request: ConnectRequest, options: { unavailable?: (socket: Socket) => void } = {}): Promise<PipeResult> {
    const gone = new AbortController()
    const onClose = (): void => gone.abort(new Error('The client closed the connection before a replica took it'))
    socket.once('close', onClose)
    let forwarded: Forwarded<Channel>
    try {
      forwarded = await this.forwarder.connect(request, { signal: gone.signal })
    } catch (err) {
      this.stats.failed++
      if (socket.destroyed) throw err
      ;(options.unavailable ?? ((s: Socket) => s.destroy()))(socket)
      throw err instanceof Error ? err : new NoReplicaError(String(err))
    } finally {
      socket.off('close', onClose)
    }
    const { channel } = forwarded
    if (forwarded.node === this.components.self) this.stats.local++
    else this.stats.forwarded++
    try {
      const result = channel instanceof Socket ? await pipeSockets(socket, channel) : await pipeSocketStream(socket, channel)
      this.count(result)
      return result
    } finally {
      forwarded.release()
    }
  }

  private accept (request: ForwardRequestMessage, from: string): AcceptVerdict {
    const verdict = acceptForward(this.components.view, request, from)
    if (!verdict.ok) return verdict
    return { ok: true, replica: verdict.replica, target: { address: verdict.address, port: request.port }, ...(verdict.proxyProtocol ? { header: proxyHeader(request.client, request.local) } : {}) }
  }

  private count (result: PipeResult): void {
    this.stats.sent += result.sent
    this.stats.received += result.received
  }
}

/**
 * Where a published port binds on this node: the node's publish addresses;
 * a port that names an address (`127.0.0.1:8080:80`) binds only that one,
 * when this node publishes on it (or on every address) — a loopback address
 * stands for the node's own loopback publish address, if it has one
 */
export function bindAddresses (portAddress: string | undefined, publishOn: readonly string[]): string[] {
  if (portAddress === undefined) return [...publishOn]
  if (publishOn.includes(portAddress) || publishOn.some(a => a === '0.0.0.0' || a === '::')) return [portAddress]
  if (portAddress.startsWith('127.') || portAddress === '::1') return publishOn.filter(a => a.startsWith('127.') || a === '::1').slice(0, 1)
  return []
}
