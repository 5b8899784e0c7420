/**
 * The routing mesh's pure rules: the order replicas are tried in, who holds
 * a published port or a host name, what a name resolves to for whom, which
 * forwards a replica's node accepts, and service subnets.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { ServiceSpec } from '@minga/protocol'
import { authorizeForward, expectsProxyHeader, type ForwardContext } from '../src/core/ingress/authorize.js'
import { forwardOrder } from '../src/core/ingress/choose.js'
import { mayReach, resolveName } from '../src/core/ingress/names.js'
import { routeConflicts, routeTable, type RoutedService } from '../src/core/ingress/routes.js'
import { chooseSubnet, inContainerRange, serviceAddress, serviceSubnet } from '../src/ingress/subnet.js'
import { serviceNetworkReach } from '../src/ingress/setup.js'
import type { ForwardRequestMessage as ForwardRequest } from '@minga/protocol'
import { spec } from './core-cluster.js'

function routed (s: ServiceSpec, created: string): RoutedService {
  return { id: `${s.org}/${s.name}`, spec: s, created }
}

test('forwardOrder: a local replica first, then the least loaded, rotating among equals; a node that failed recently last', () => {
  const replicas = [{ node: 'a', replica: 0 }, { node: 'b', replica: 1 }, { node: 'c', replica: 2 }, { node: 'self', replica: 3 }]
  assert.equal(forwardOrder(replicas, { self: 'self', turn: 0 }).map(r => r.node), ['self', 'a', 'b', 'c'])
  // without a local one, consecutive turns start at the next replica: short connections spread evenly
  const remote = replicas.slice(0, 3)
  const firsts = [0, 1, 2, 3, 4, 5].map(turn => forwardOrder(remote, { self: 'self', turn })[0].node)
  assert.equal(firsts, ['a', 'b', 'c', 'a', 'b', 'c'])
  // long-lived connections count: the least loaded node comes first, whatever the turn
  assert.equal(forwardOrder(remote, { self: 'self', turn: 0, load: new Map([['a', 5], ['b', 1]]) }).map(r => r.node), ['c', 'b', 'a'])
  // a node that failed goes last, even the local one
  assert.equal(forwardOrder(replicas, { self: 'self', turn: 0, avoid: new Set(['self', 'a']) }).map(r => r.node), ['b', 'c', 'self', 'a'])
  assert.equal(forwardOrder([], { self: 'self', turn: 7 }), [])
  assert.equal(forwardOrder(remote, { self: 'self', turn: -1 })[0].node, 'c', 'a negative turn still rotates')
})

test('routeTable: the oldest service holds a published port or host name; host-mode (UDP by default) and unpublished ports are not the mesh\'s', () => {
  const web = spec('acme', 'web', { ports: [{ container: 80, host: 8080, protocol: 'tcp', proxyProtocol: 'v2' }, { container: 81, host: 8081, protocol: 'tcp', mode: 'host' }, { container: 82, protocol: 'tcp' }] })
  const late = spec('riverside', 'late', { ports: [{ container: 80, host: 8080, protocol: 'tcp' }, { container: 53, host: 8080, protocol: 'udp' }] })
  const local = spec('acme', 'local', { ports: [{ container: 80, host: 9000, hostIp: '127.0.0.1', protocol: 'tcp' }] })
  const other = spec('acme', 'other', { ports: [{ container: 80, host: 9000, hostIp: '127.0.0.2', protocol: 'tcp' }] })
  const table = routeTable([routed(late, '2'), routed(web, '1'), routed(local, '3'), routed(other, '4')])
  assert.equal(table.ports.map(p => `${p.service} ${p.port}/${p.protocol}${p.address === undefined ? '' : ' on ' + p.address} → ${p.containerPort}${p.proxyProtocol ? ' proxy' : ''}`), [
    'acme/web 8080/tcp → 80 proxy',
    'acme/local 9000/tcp on 127.0.0.1 → 80',
    'acme/other 9000/tcp on 127.0.0.2 → 80'
  ])
  assert.equal(table.conflicts, [{ service: 'riverside/late', what: 'port 8080/tcp', holder: 'acme/web' }])
})

test('routeTable: host names on the shared web ports, and a published port that would take one', () => {
  const cloud = spec('acme', 'cloud', { http: [{ host: 'cloud.example.org', port: 8080, tlsPort: 8443 }] })
  const blog = spec('riverside', 'blog', { http: [{ host: 'blog.example.org', port: 80 }, { host: 'cloud.example.org', port: 80 }] })
  const squatter = spec('acme', 'squatter', { ports: [{ container: 80, host: 80, protocol: 'tcp' }] })
  const table = routeTable([routed(cloud, '1'), routed(blog, '2'), routed(squatter, '3')])
  assert.equal([...table.web.keys()], ['cloud.example.org', 'blog.example.org'])
  assert.equal(table.web.get('cloud.example.org'), { host: 'cloud.example.org', service: 'acme/cloud', port: 8080, tlsPort: 8443, proxyProtocol: false })
  assert.equal(table.conflicts, [
    { service: 'riverside/blog', what: 'host cloud.example.org', holder: 'acme/cloud' },
    { service: 'acme/squatter', what: 'port 80/tcp (the shared web port)', holder: 'acme/cloud' }
  ])
  // an older published port keeps it: the younger web route is the one refused; other web ports move it out of the way
  const first = routeTable([routed(squatter, '0'), routed(cloud, '1')])
  assert.equal(first.conflicts, [{ service: 'acme/cloud', what: 'host cloud.example.org on the shared web port 80', holder: 'acme/squatter' }])
  assert.equal(routeTable([routed(squatter, '0'), routed(cloud, '1')], { webPorts: { http: 8000, tls: 8443 } }).conflicts, [])
})

test('routeConflicts: a deploy that would take a port or host name is refused with what to do; a redeploy is not', () => {
  const web = routed(spec('acme', 'web', { ports: [{ container: 80, host: 8080, protocol: 'tcp' }] }), '1')
  const rival = routed(spec('riverside', 'rival', { ports: [{ container: 8000, host: 8080, protocol: 'tcp' }] }), '5')
  assert.equal(routeConflicts([rival], [web]), ['riverside/rival wants port 8080/tcp, which acme/web already has on this mesh; choose another port, or remove acme/web first'])
  assert.equal(routeConflicts([{ ...web, spec: { ...web.spec, replicas: 3 } }], [web, rival]), [])
  assert.equal(routeConflicts([routed(spec('acme', 'api', { ports: [{ container: 80, host: 8081, protocol: 'tcp' }] }), '6')], [web]), [])
})

test('resolveName: own org by short name, a project\'s own first, other orgs only where exposed; the rest goes upstream', () => {
  const services = new Map<string, ServiceSpec>([
    ['acme/db', spec('acme', 'db')],
    ['acme/shop-db', spec('acme', 'shop-db', { project: 'shop' })],
    ['riverside/db', spec('riverside', 'db', { expose: ['acme'] })],
    ['riverside/secret', spec('riverside', 'secret')],
    ['gamma/pub', spec('gamma', 'pub', { expose: ['*'] })]
  ])
  const lookup = (id: string): ServiceSpec | undefined => services.get(id)
  const acme = { org: 'acme' }
  assert.equal(resolveName('db', acme, lookup), { kind: 'service', service: 'acme/db' })
  assert.equal(resolveName('DB.', acme, lookup), { kind: 'service', service: 'acme/db' })
  assert.equal(resolveName('db', { org: 'acme', project: 'shop' }, lookup), { kind: 'service', service: 'acme/shop-db' })
  assert.equal(resolveName('shop-db', acme, lookup), { kind: 'service', service: 'acme/shop-db' })
  assert.equal(resolveName('db.riverside', acme, lookup), { kind: 'service', service: 'riverside/db' })
  assert.equal(resolveName('pub.gamma', acme, lookup), { kind: 'service', service: 'gamma/pub' })
  assert.equal(resolveName('db.acme', acme, lookup), { kind: 'service', service: 'acme/db' })
  // not exposed to acme: exactly like a name that does not exist
  assert.equal(resolveName('secret.riverside', acme, lookup), { kind: 'outside' })
  assert.equal(resolveName('db.riverside', { org: 'gamma' }, lookup), { kind: 'outside' })
  assert.equal(resolveName('nothing', acme, lookup), { kind: 'unknown' })
  assert.equal(resolveName('example.com', acme, lookup), { kind: 'outside' })
  assert.equal(resolveName('www.example.com', acme, lookup), { kind: 'outside' })
  assert.ok(mayReach('riverside', spec('riverside', 'x')))
  assert.not.ok(mayReach('acme', spec('riverside', 'x', { expose: ['gamma'] })))
})

test('authorizeForward: the routes a connection may have come by, and who may speak for a caller', () => {
  const db = spec('riverside', 'db', { ports: [{ container: 5432, protocol: 'tcp' }], expose: ['acme'] })
  const web = spec('acme', 'web', { ports: [{ container: 80, host: 8080, protocol: 'tcp', proxyProtocol: 'v2' }], http: [{ host: 'web.example.org', port: 80 }] })
  const app = spec('acme', 'app')
  const other = spec('gamma', 'other')
  const specs = new Map<string, ServiceSpec>([['riverside/db', db], ['acme/web', web], ['acme/app', app], ['gamma/other', other]])
  const context: ForwardContext = {
    spec: id => specs.get(id),
    runsOn: (service, node) => (service === 'acme/app' && node === 'n-app') || (service === 'gamma/other' && node === 'n-other'),
    localHealthy: service => service === 'acme/web' ? [2, 0] : service === 'riverside/db' ? [1] : []
  }
  const base = { type: 'forward' as const, client: { address: '203.0.113.7', port: 51234 }, local: { address: '10.0.0.1', port: 8080 } }
  const ask = (request: Partial<ForwardRequest>, from = 'n-app'): ReturnType<typeof authorizeForward> => authorizeForward({ ...base, service: 'acme/web', replica: 0, port: 80, via: 'port', ...request } as ForwardRequest, from, context)
  assert.equal(ask({}), { ok: true, replica: 0, proxyProtocol: true })
  assert.equal(ask({ replica: 5 }), { ok: true, replica: 0, proxyProtocol: true }, 'the requested replica is not here: another local one')
  assert.equal(ask({ port: 81 }), { ok: false, code: 'forbidden', message: 'acme/web publishes no port that leads to its port 81' })
  assert.equal(ask({ via: 'web', host: 'web.example.org' }), { ok: true, replica: 0, proxyProtocol: true })
  assert.equal(ask({ via: 'web', host: 'other.example.org' }).ok, false)
  assert.equal(ask({ service: 'riverside/db', port: 5432, via: 'name', caller: 'acme/app' }), { ok: true, replica: 1, proxyProtocol: false })
  const borrowed = ask({ service: 'riverside/db', port: 5432, via: 'name', caller: 'acme/app' }, 'n-other')
  assert.equal(borrowed, { ok: false, code: 'forbidden', message: 'The sending node does not run acme/app' })
  assert.equal(ask({ service: 'riverside/db', port: 5432, via: 'name', caller: 'gamma/other' }, 'n-other'), { ok: false, code: 'forbidden', message: 'riverside/db is not exposed to organization gamma' })
  assert.equal(ask({ service: 'riverside/db', port: 9999, via: 'name', caller: 'acme/app' }).ok, false, 'only the ports the service lists')
  assert.equal(ask({ service: 'acme/app', port: 80 }), { ok: false, code: 'forbidden', message: 'acme/app publishes no port that leads to its port 80' })
  assert.equal(ask({ service: 'acme/nothing' }), { ok: false, code: 'no-replica', message: 'There is no service acme/nothing' })
  assert.ok(expectsProxyHeader(web, 80))
  assert.not.ok(expectsProxyHeader(db, 5432))
})

test('service subnets: a /23 per node, containers below, service addresses above; the choice is stable and skips what the host uses', () => {
  const subnet = serviceSubnet('10.213.14.0/23')
  assert.equal(subnet, { subnet: '10.213.14.0/23', containers: '10.213.14.0/24', gateway: '10.213.14.1', services: '10.213.15.1' })
  assert.is(serviceAddress(subnet, 0), '10.213.15.1')
  assert.is(serviceAddress(subnet, 253), '10.213.15.254')
  assert.throws(() => serviceAddress(subnet, 254), /254 service addresses/)
  assert.ok(inContainerRange(subnet, '10.213.14.7'))
  assert.not.ok(inContainerRange(subnet, '10.213.15.7'), 'a service address is no container')
  assert.not.ok(inContainerRange(subnet, '127.0.0.1'))
  assert.throws(() => serviceSubnet('10.213.15.0/23'), /use 10\.213\.14\.0\/23/)
  assert.throws(() => serviceSubnet('10.213.14.0/24'), /not a \/23/)
  assert.throws(() => serviceSubnet('nonsense'), /not an IPv4 network/)
  const first = chooseSubnet('node-a', [])!
  assert.equal(chooseSubnet('node-a', []), first, 'the same node gets the same subnet')
  const next = chooseSubnet('node-a', ['192.0.2.2/24', first.gateway])!
  assert.is.not(next.subnet, first.subnet, 'a subnet the host already uses is skipped')
  assert.ok(next.subnet.startsWith('10.213.'))
  assert.is(chooseSubnet('x', ['10.0.0.0/8']), undefined, 'every /23 taken: none')
  const seen = new Set(Array.from({ length: 20 }, (_, i) => chooseSubnet(`node-${i}`, [])!.subnet))
  assert.ok(seen.size >= 17, `20 nodes mostly get subnets of their own (${seen.size})`)
})

test('serviceNetworkReach: the network is ours only when its gateway is on its own bridge, not when another network of this host holds the address', () => {
  const spec = { bridge: 'minga-1a2b3c4d', gateway: '10.213.208.1' }
  const lo = { ifname: 'lo', address: '127.0.0.1', prefixlen: 8 }
  assert.equal(serviceNetworkReach(spec, [lo, { ifname: 'minga-1a2b3c4d', address: '10.213.208.1', prefixlen: 23 }]), { reach: 'ours' })
  assert.equal(serviceNetworkReach(spec, [lo]), { reach: 'absent' }, 'the engine in another network namespace')
  // another node's engine in this namespace picked the same /23 (subnets are chosen per host, namespaces do not see each other)
  assert.equal(serviceNetworkReach(spec, [lo, { ifname: 'minga-9f8e7d6c', address: '10.213.208.1', prefixlen: 23 }]), { reach: 'foreign', ifname: 'minga-9f8e7d6c' })
})

test.run()
