/**
 * The rules of how a service is reached (docs/INGRESS.md): host names on the
 * shared web ports (`http:`) and the organizations that may reach it by name
 * (`expose:`). Applied to the normalized form by the stored-spec check
 * (spec-check.ts) and by the file parser (spec-parse.ts) alike, so a spec
 * that parses is one every node accepts. A port's `mode` and
 * `proxyProtocol` are checked with the port (spec-rules.ts).
 */
import type { HttpRoute, PortSpec, ServiceSpec } from './spec.js'
import { Problems, RULES, at, checkFields, checkName, describe, isPlainObject, isWhole } from './spec-rules.js'

/** host names a service may declare, organizations it may expose itself to */
export const ROUTE_LIMITS = { maxHttpRoutes: 16, maxExpose: 100 } as const

const HOST_PATTERN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/
const HTTP_FIELDS = new Set(['host', 'port', 'tlsPort', 'proxyProtocol'])

export const ROUTE_RULES = {
  host: 'must be a host name in lower case with at least one dot, like cloud.example.org',
  proxyProtocol: 'must be "v2" (the PROXY protocol version sent first), or left out',
  mode: 'must be "ingress" (every node of the mesh listens and forwards) or "host" (only nodes that run a replica, bound by the container)',
  expose: 'must be a list of organization names, or ["*"] for every organization of the mesh'
} as const

/**
 * How a port is published, when it is: its `mode`, else `ingress` for TCP and
 * `host` for UDP (the routing mesh forwards TCP only, so a UDP port is the
 * container's own, as it always was)
 */
export function portMode (port: Pick<PortSpec, 'mode' | 'protocol'>): 'ingress' | 'host' {
  return port.mode ?? (port.protocol === 'udp' ? 'host' : 'ingress')
}

/** is `port` published through the routing mesh (a host port of mode ingress, the default for TCP)? */
export function isIngressPort (port: PortSpec): port is PortSpec & { host: number } {
  return port.host !== undefined && portMode(port) === 'ingress'
}

/** is `port` published by the container itself on the nodes that run it (mode host)? One replica per node may hold it */
export function isHostModePort (port: PortSpec): port is PortSpec & { host: number } {
  return port.host !== undefined && portMode(port) === 'host'
}

/** a port's routing fields as stored, with the port's other fields already checked */
export function checkPortRouting (value: Record<string, unknown>, path: string, problems: Problems): void {
  if (value.mode !== undefined && value.mode !== 'ingress' && value.mode !== 'host') problems.bad(at(path, 'mode'), ROUTE_RULES.mode, value.mode)
  if (value.proxyProtocol !== undefined && value.proxyProtocol !== 'v2') problems.bad(at(path, 'proxyProtocol'), ROUTE_RULES.proxyProtocol, value.proxyProtocol)
  if (value.protocol === 'udp' && value.mode === 'ingress') problems.add(at(path, 'mode'), 'a UDP port is not forwarded by the routing mesh (yet): leave mode out, or write host')
  if (value.protocol === 'udp' && value.proxyProtocol !== undefined) problems.add(at(path, 'proxyProtocol'), 'is for TCP ports')
}

/** `http:` as stored: a list of routes, each a host name with a plain and/or a TLS container port, host names listed once */
export function checkHttpRoutes (value: unknown, path: string, problems: Problems): void {
  if (!Array.isArray(value) || value.length === 0 || value.length > ROUTE_LIMITS.maxHttpRoutes) {
    problems.bad(path, `must be a list of 1 to ${ROUTE_LIMITS.maxHttpRoutes} routes ({ host, port, tlsPort })`, value)
    return
  }
  const seen = new Set<unknown>()
  value.forEach((route, i) => {
    const where = at(path, i)
    if (!isPlainObject(route)) {
      problems.bad(where, 'must be a mapping with host, and port and/or tlsPort', route)
      return
    }
    checkFields(route, HTTP_FIELDS, where, problems)
    if (typeof route.host !== 'string' || !HOST_PATTERN.test(route.host)) problems.bad(at(where, 'host'), ROUTE_RULES.host, route.host)
    else if (seen.has(route.host)) problems.add(at(where, 'host'), `${describe(route.host)} is listed twice`)
    seen.add(route.host)
    if (route.port === undefined && route.tlsPort === undefined) problems.add(where, 'needs port (the container\'s plain HTTP port, routed by Host on port 80) or tlsPort (its TLS port, routed by SNI on 443), or both')
    for (const field of ['port', 'tlsPort'] as const) {
      if (route[field] !== undefined && !isWhole(route[field], 1, 65535)) problems.bad(at(where, field), RULES.port, route[field])
    }
    if (route.proxyProtocol !== undefined && route.proxyProtocol !== 'v2') problems.bad(at(where, 'proxyProtocol'), ROUTE_RULES.proxyProtocol, route.proxyProtocol)
  })
}

/** `expose:` as stored: organization names, or `*` alone */
export function checkExpose (value: unknown, path: string, problems: Problems): void {
  if (!Array.isArray(value) || value.length === 0 || value.length > ROUTE_LIMITS.maxExpose) {
    problems.bad(path, `${ROUTE_RULES.expose}, at most ${ROUTE_LIMITS.maxExpose} (leave it out to expose to no other organization)`, value)
    return
  }
  if (value.includes('*')) {
    if (value.length > 1) problems.add(path, '"*" already means every organization: list it alone')
    return
  }
  const seen = new Set<unknown>()
  value.forEach((org, i) => {
    checkName(org, at(path, i), problems)
    if (seen.has(org)) problems.add(at(path, i), `${describe(org)} is listed twice`)
    seen.add(org)
  })
}

/** `http:` as written (one route or a list, host names in any case) to its stored form; undefined with problems when bad */
export function normalizeHttp (raw: unknown, path: string, problems: Problems): HttpRoute[] | undefined {
  const list = Array.isArray(raw) ? raw : [raw]
  const routes = list.map(route => isPlainObject(route) && typeof route.host === 'string' ? { ...route, host: route.host.toLowerCase().replace(/\.$/, '') } : route)
  const before = problems.size
  checkHttpRoutes(routes, path, problems)
  if (problems.size > before) return undefined
  return (routes as HttpRoute[]).map(r => ({
    host: r.host,
    ...(r.port === undefined ? {} : { port: r.port }),
    ...(r.tlsPort === undefined ? {} : { tlsPort: r.tlsPort }),
    ...(r.proxyProtocol === undefined ? {} : { proxyProtocol: r.proxyProtocol })
  }))
}

/** `expose:` as written (a list, or one name) to its stored form */
export function normalizeExpose (raw: unknown, path: string, problems: Problems): string[] | undefined {
  const list = Array.isArray(raw) ? raw : [raw]
  const before = problems.size
  checkExpose(list, path, problems)
  return problems.size > before ? undefined : list as string[]
}

/**
 * true when the node that would take over a replica keeps a warm standby
 * of it (a created container): the spec's `standby`, else on for services
 * that are not singletons and have no named volumes nor ports of mode host
 */
export function standbyWanted (spec: Pick<ServiceSpec, 'standby' | 'singleton' | 'volumes' | 'ports'>): boolean {
  if (spec.singleton || spec.volumes.some(v => v.name !== undefined)) return false
  return spec.standby ?? !spec.ports.some(isHostModePort)
}
