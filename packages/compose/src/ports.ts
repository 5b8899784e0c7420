/**
 * Compose `ports:` → minga ports. Short syntax
 * `[[IP:]HOST:]CONTAINER[/PROTOCOL]` (IPv6 in brackets) and the long one
 * (`target`, `published`, `host_ip`, `protocol`, `mode`). A host address
 * binds the port to that address only. Ranges of equal length
 * (`8000-8002:8000-8002`) become one port each; a host range for one
 * container port (Docker picks a free one) is refused, as is a port Docker
 * would publish on a random host port (minga publishes fixed ports only: it
 * is kept unpublished, with a warning: other services still reach it by
 * name). A published port goes through the routing mesh (every node
 * listens) unless the long syntax says `mode: host`. `expose:` lists ports
 * reached by name only.
 */
import type { Translation } from './context.js'

export interface MingaPort { container: number, host?: number, hostIp?: string, protocol: string, mode?: 'host' }

const SHORT = /^(?:(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d*(?:-\d+)?):)?(\d+(?:-\d+)?)(?:\/([a-z]+))?$/
const LONG_FIELDS = new Set(['target', 'published', 'host_ip', 'protocol', 'mode', 'name', 'app_protocol'])
const MAX_RANGE = 64

/** a service's `ports:` (short or long syntax, ranges up to 64 ports) as minga ports */
export function translatePorts (raw: unknown, path: string, t: Translation): MingaPort[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) {
    t.problem(path, 'must be a list of ports, like ["8080:80"]')
    return []
  }
  const out: MingaPort[] = []
  raw.forEach((item, i) => {
    const where = `${path}[${i}]`
    const ports = typeof item === 'string' ? short(item, where, t) : isMapping(item) ? long(item, where, t) : (t.problem(where, `must be a port like "8080:80" or a mapping with target and published (got ${JSON.stringify(item)})`), [])
    for (const port of ports) {
      t.map(`ports[${out.length}]`, where)
      out.push(port)
    }
  })
  return out
}

function short (text: string, where: string, t: Translation): MingaPort[] {
  const match = SHORT.exec(text.trim())
  if (match === null) {
    t.problem(where, `${JSON.stringify(text)} is not a port; write CONTAINER, HOST:CONTAINER or IP:HOST:CONTAINER, with /tcp or /udp if needed`)
    return []
  }
  const [, ip, host, container, protocol] = match
  return expand({ ip: ip?.replace(/^\[|\]$/g, ''), host: host === '' ? undefined : host, container, protocol: protocol ?? 'tcp' }, where, JSON.stringify(text), t)
}

function long (port: Record<string, unknown>, where: string, t: Translation): MingaPort[] {
  for (const key of Object.keys(port)) if (!LONG_FIELDS.has(key)) t.problem(`${where}.${key}`, 'not a field of a port (target, published, host_ip, protocol, mode)')
  if (port.target === undefined || port.target === null) {
    t.problem(`${where}.target`, 'missing: the port inside the container')
    return []
  }
  const published = port.published === undefined || port.published === null || port.published === '' ? undefined : String(port.published)
  const ip = port.host_ip === undefined || port.host_ip === null ? undefined : String(port.host_ip)
  if (port.mode !== undefined && port.mode !== null && port.mode !== 'ingress' && port.mode !== 'host') {
    t.problem(`${where}.mode`, `${JSON.stringify(port.mode)} is not a mode: write ingress (every node of the mesh listens and forwards, the default) or host (only the nodes that run a replica)`)
    return []
  }
  const ports = expand({ ip, host: published, container: String(port.target), protocol: port.protocol === undefined || port.protocol === null ? 'tcp' : String(port.protocol) }, where, JSON.stringify(port), t)
  return port.mode === 'host' ? ports.map(p => p.host === undefined ? p : { ...p, mode: 'host' as const }) : ports
}

/**
 * A service's `expose:` (container ports, ranges, `/udp`): ports other
 * services reach by name, published nowhere; those `ports:` already lists
 * are left out
 */
export function translateExpose (raw: unknown, ports: MingaPort[], t: Translation): MingaPort[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) {
    t.problem('expose', 'must be a list of container ports, like [5432]')
    return []
  }
  const out: MingaPort[] = []
  const listed = new Set(ports.map(p => `${p.container}/${p.protocol}`))
  raw.forEach((item, i) => {
    const where = `expose[${i}]`
    const match = /^(\d+(?:-\d+)?)(?:\/([a-z]+))?$/.exec(String(item).trim())
    if ((typeof item !== 'string' && typeof item !== 'number') || match === null) {
      t.problem(where, `${JSON.stringify(item)} is not a container port; write a port like 5432, a range like 8000-8010, with /udp if needed`)
      return
    }
    for (const port of expand({ container: match[1], protocol: match[2] ?? 'tcp', exposeOnly: true }, where, JSON.stringify(item), t)) {
      if (listed.has(`${port.container}/${port.protocol}`)) continue
      listed.add(`${port.container}/${port.protocol}`)
      t.map(`ports[${ports.length + out.length}]`, where)
      out.push(port)
    }
  })
  return out
}

interface Written { ip?: string, host?: string, container: string, protocol: string, exposeOnly?: boolean }

function expand (port: Written, where: string, shown: string, t: Translation): MingaPort[] {
  if (port.protocol !== 'tcp' && port.protocol !== 'udp') {
    t.problem(where, `protocol ${JSON.stringify(port.protocol)} is not supported; minga publishes tcp and udp`)
    return []
  }
  const containers = range(port.container)
  const hosts = port.host === undefined ? undefined : range(port.host)
  if (containers === undefined || (port.host !== undefined && hosts === undefined)) {
    t.problem(where, `${shown}: ports are whole numbers from 1 to 65535, or ranges like 8000-8010 of at most ${MAX_RANGE} ports`)
    return []
  }
  if (hosts !== undefined && hosts.length !== containers.length) {
    t.problem(where, `${shown}: ranges are not supported where Docker would pick a free host port from a range; minga publishes fixed ports, so give as many host ports as container ports (8000-8002:8000-8002) or one host port for one container port`)
    return []
  }
  if (hosts === undefined && port.exposeOnly !== true) {
    t.warn(where, `${shown}: Docker would publish this on a random host port; minga publishes only fixed host ports, so it is not published (write HOST:CONTAINER to publish it); other services reach it by name`)
  }
  return containers.map((container, i) => ({
    container,
    ...(hosts === undefined ? {} : { host: hosts[i] }),
    ...(port.ip === undefined || hosts === undefined ? {} : { hostIp: port.ip }),
    protocol: port.protocol
  }))
}

/** `80` or `8000-8010` → the port numbers; undefined when not ports */
function range (text: string): number[] | undefined {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim())
  if (match === null) return undefined
  const first = Number(match[1])
  const last = match[2] === undefined ? first : Number(match[2])
  if (first < 1 || last > 65535 || last < first || last - first >= MAX_RANGE) return undefined
  return Array.from({ length: last - first + 1 }, (_, i) => first + i)
}

function isMapping (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
