/**
 * Service names for the containers of this node: the DNS server on the
 * service network's gateway (dns-server.ts) answers a name with the
 * service's address on the bridge (service-addresses.ts), and the node
 * listens there on every TCP port the service lists, forwarding each
 * connection over the mesh like a published one (`via: name`, with the
 * calling service, so the replica's node checks it too).
 *
 * Both doors check the caller: it must be a container of this node on this
 * node's service network (with `--iptables=false` nothing else isolates
 * bridges, and any host address answers from any interface), and its
 * organization must be allowed to reach the service (names.ts of the core).
 */
import type { Socket } from 'node:net'
import type { ConnectRequest } from '../core/ingress/forwarder.js'
import { mayReach, resolveName } from '../core/ingress/names.js'
import { expectsProxyHeader } from '../core/ingress/authorize.js'
import type { IngressView } from '../core/ingress/view.js'
import { NameServer, type DnsAnswer } from './dns-server.js'
import { Listeners, socketEnds, type ListenSpec } from './listeners.js'
import type { PipeResult } from './pipe.js'
import { ServiceAddresses } from './service-addresses.js'
import { inContainerRange, type ServiceSubnet } from './subnet.js'

export interface NamesInit {
  subnet: ServiceSubnet
  /** the bridge interface of the service network */
  bridge: string
  /** where service addresses are kept across restarts */
  addressFile?: string
  /** replaces `ip addr add` (tests) */
  addAddress?: (address: string, bridge: string) => Promise<void>
  /** resolvers for names outside the mesh (`IP` or `IP:port`); empty: NXDOMAIN */
  upstream: string[]
  /** the DNS port on the gateway (default 53) */
  dnsPort?: number
  view: IngressView
  /** forward a caller's connection */
  connect: (socket: Socket, request: ConnectRequest) => Promise<PipeResult>
  /** a service address could not be listened on (with why), or could after failing */
  onProblem?: (what: string, error?: Error) => void
  /**
   * the service of this node's container at `address`, asked of the
   * container engine: a container asks for names as soon as it starts, before
   * the node's view of its containers has it
   */
  lookupCaller?: (address: string) => Promise<string | undefined>
}

export class Names {
  readonly dns: NameServer
  readonly addresses: ServiceAddresses
  readonly listeners: Listeners
  /** connections refused because the caller is not a container of this node or may not reach the service */
  refused = 0
  private readonly init: NamesInit

  constructor (init: NamesInit) {
    this.init = init
    this.addresses = new ServiceAddresses({ subnet: init.subnet, bridge: init.bridge, file: init.addressFile, addAddress: init.addAddress })
    this.dns = new NameServer({ address: init.subnet.gateway, port: init.dnsPort ?? 53, upstream: init.upstream, answer: async (name, from) => await this.answer(name, from) })
    this.listeners = new Listeners({ onConnection: (key, socket) => { void this.onConnection(key, socket) }, onChange: init.onProblem })
  }

  async start (): Promise<void> {
    await this.addresses.load()
    await this.dns.start()
  }

  async stop (): Promise<void> {
    await this.listeners.closeAll()
    await this.dns.stop()
    await this.addresses.flushed()
  }

  /** listen on the ports of every service that has an address; forget services that are gone */
  async refresh (): Promise<void> {
    const { view } = this.init
    this.addresses.retain(service => view.spec(service) !== undefined)
    const wanted: ListenSpec[] = []
    for (const service of this.addresses.services()) {
      const address = this.addresses.addressOf(service)
      const spec = view.spec(service)
      if (address === undefined || spec === undefined) continue
      for (const port of new Set(spec.ports.filter(p => p.protocol === 'tcp').map(p => p.container))) {
        wanted.push({ key: `name/${service}/${port}`, address, port })
      }
    }
    await this.listeners.reconcile(wanted)
  }

  /** the calling container's service and organization, if `address` is one of this node's containers */
  private async caller (address: string | undefined): Promise<{ service: string, org: string, project?: string } | undefined> {
    const from = (address ?? '').replace(/^::ffff:/, '')
    if (!inContainerRange(this.init.subnet, from)) return undefined
    const service = this.init.view.containerAt(from) ?? await this.init.lookupCaller?.(from)
    const spec = service === undefined ? undefined : this.init.view.spec(service)
    if (service === undefined || spec === undefined) return undefined
    return { service, org: spec.org, ...(spec.project === undefined ? {} : { project: spec.project }) }
  }

  private async answer (name: string, from: string): Promise<DnsAnswer> {
    const caller = await this.caller(from)
    if (caller === undefined) return { kind: 'refused' }
    const resolved = resolveName(name, caller, service => this.init.view.spec(service))
    if (resolved.kind === 'unknown') return { kind: 'nxdomain' }
    if (resolved.kind === 'outside') return { kind: 'upstream' }
    const address = await this.addresses.allocate(resolved.service)
    if (address === undefined) return { kind: 'nxdomain' }
    await this.refresh()
    return { kind: 'address', address }
  }

  private async onConnection (key: string, socket: Socket): Promise<void> {
    const [, org, name, portText] = key.split('/')
    const service = `${org}/${name}`
    const port = Number(portText)
    const caller = await this.caller(socket.remoteAddress)
    const target = this.init.view.spec(service)
    if (caller === undefined || target === undefined || !mayReach(caller.org, target)) {
      this.refused++
      socket.destroy()
      return
    }
    await this.init.connect(socket, {
      service,
      port,
      via: 'name',
      caller: caller.service,
      proxyProtocol: expectsProxyHeader(target, port),
      ...socketEnds(socket)
    }).catch(() => {})
  }
}
