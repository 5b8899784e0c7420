/**
 * What every node listens on for the routing mesh, computed from the
 * replicated service specs alone, so all nodes agree without talking about
 * it: the published ports of mode `ingress`, the host names of the shared
 * web ports, and who may reach a service by name. Pure.
 *
 * A published port (protocol, number, address) and a web host name belong
 * to one service of the mesh: the oldest that asks for it (by first deploy,
 * then id). A deploy that would take one from another service is refused
 * (`routeConflicts`); if two nodes accept such deploys at the same moment,
 * the younger service is listed in `conflicts` and gets no listener.
 */
import { isIngressPort, type HttpRoute, type ServiceSpec } from '@minga/protocol'

export interface RoutedService {
  /** `org/name` */
  id: string
  spec: ServiceSpec
  /** HLC of the first deploy: older services keep what they hold */
  created: string
}

export interface PublishedPort {
  protocol: 'tcp' | 'udp'
  /** the port every node listens on */
  port: number
  /** the only address it binds, when the spec names one (`127.0.0.1:8080:80`) */
  address?: string
  service: string
  containerPort: number
  proxyProtocol: boolean
}

export interface WebRoute {
  host: string
  service: string
  /** container port for plain HTTP */
  port?: number
  /** container port for TLS */
  tlsPort?: number
  proxyProtocol: boolean
}

export interface RouteConflict {
  service: string
  /** what it cannot have, e.g. `port 8080/tcp` or `host cloud.example.org` */
  what: string
  /** the service that holds it */
  holder: string
}

export interface RouteTable {
  ports: PublishedPort[]
  /** by host name */
  web: Map<string, WebRoute>
  conflicts: RouteConflict[]
}

export interface WebPorts {
  /** where plain HTTP is routed by Host (default 80) */
  http: number
  /** where TLS is routed by SNI (default 443) */
  tls: number
}

export interface RouteTableOptions {
  /** the shared web ports: while a service routes a host name there, no service may publish them */
  webPorts?: WebPorts
}

export const DEFAULT_WEB_PORTS: WebPorts = { http: 80, tls: 443 }

export function routeTable (services: readonly RoutedService[], options: RouteTableOptions = {}): RouteTable {
  const ordered = [...services].sort((a, b) => a.created < b.created ? -1 : a.created > b.created ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  const webPorts = options.webPorts ?? DEFAULT_WEB_PORTS
  const ports: PublishedPort[] = []
  const web = new Map<string, WebRoute>()
  const conflicts: RouteConflict[] = []
  /** the first service that routes a host name on each shared web port */
  const webHolder = new Map<number, string>()
  const portHolder = (protocol: string, port: number, address?: string): PublishedPort | undefined =>
    ports.find(p => p.protocol === protocol && p.port === port && overlaps(p.address, address))
  for (const service of ordered) {
    for (const port of service.spec.ports) {
      if (!isIngressPort(port)) continue
      const what = `port ${port.host}/${port.protocol}`
      const holder = portHolder(port.protocol, port.host, port.hostIp)
      const web = port.protocol === 'tcp' ? webHolder.get(port.host) : undefined
      if (holder !== undefined || web !== undefined) {
        const by = holder?.service ?? web as string
        if (by !== service.id) conflicts.push({ service: service.id, what: holder === undefined ? `${what} (the shared web port)` : what, holder: by })
        continue
      }
      ports.push({ protocol: port.protocol, port: port.host, ...(port.hostIp === undefined ? {} : { address: port.hostIp }), service: service.id, containerPort: port.container, proxyProtocol: port.proxyProtocol === 'v2' })
    }
    for (const route of service.spec.http ?? []) {
      const shared = [...(route.port === undefined ? [] : [webPorts.http]), ...(route.tlsPort === undefined ? [] : [webPorts.tls])]
      const published = shared.map(p => portHolder('tcp', p)).find(p => p !== undefined)
      if (published !== undefined) {
        conflicts.push({ service: service.id, what: `host ${route.host} on the shared web port ${published.port}`, holder: published.service })
        continue
      }
      const holder = web.get(route.host)
      if (holder !== undefined) {
        if (holder.service !== service.id) conflicts.push({ service: service.id, what: `host ${route.host}`, holder: holder.service })
        continue
      }
      for (const p of shared) if (!webHolder.has(p)) webHolder.set(p, service.id)
      web.set(route.host, webRoute(service.id, route))
    }
  }
  return { ports, web, conflicts }
}

/**
 * What deploying `candidates` would take from other services, in words
 * that say what to do. Empty when the deploy may go ahead. A candidate
 * replaces the service of its id (give it that service's `created`; a new
 * one's is the deploy's stamp, younger than every other), so a redeploy
 * never conflicts with itself
 */
export function routeConflicts (candidates: readonly RoutedService[], existing: readonly RoutedService[], options: RouteTableOptions = {}): string[] {
  const ids = new Set(candidates.map(c => c.id))
  const others = existing.filter(s => !ids.has(s.id))
  const table = routeTable([...others, ...candidates], options)
  return table.conflicts
    .filter(c => ids.has(c.service))
    .map(c => `${c.service} wants ${c.what}, which ${c.holder} already has on this mesh; choose another ${c.what.startsWith('host') ? 'host name' : 'port'}, or remove ${c.holder} first`)
}

function overlaps (a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b
}

function webRoute (service: string, route: HttpRoute): WebRoute {
  return {
    host: route.host,
    service,
    ...(route.port === undefined ? {} : { port: route.port }),
    ...(route.tlsPort === undefined ? {} : { tlsPort: route.tlsPort }),
    proxyProtocol: route.proxyProtocol === 'v2'
  }
}
