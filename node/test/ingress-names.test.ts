/**
 * Service names between real libp2p hosts, in one process. Node A's
 * "service network" is 127.0.8.0/23 (containers in 127.0.8.x, service
 * addresses in 127.0.9.x: all loopback, so no bridge is needed); its DNS
 * server listens on the gateway. A container of A finds `db` on node B by
 * name and keeps finding it, at the same address, after `db` moves; another
 * organization's service is found only where it is exposed, and reached
 * only by those it is exposed to; a caller that is no container of the node
 * is refused at the DNS server and at the service address.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Resolver } from 'node:dns/promises'
import { mkdtempSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serviceSubnet } from '../src/ingress/subnet.js'
import { ServiceAddresses } from '../src/ingress/service-addresses.js'
import { World, container, deploy, exchange, freePort, spec, startMesh, stopMesh, type TestNode } from './ingress-fixtures.js'

const subnet = serviceSubnet('127.0.8.0/23')
const APP = '127.0.8.10'
const OTHER_ORG_APP = '127.0.8.11'
const world = new World()
const addressFile = join(mkdtempSync(join(tmpdir(), 'minga-names-')), 'service-addresses.json')
let nodes: TestNode[] = []
let dnsPort = 0
let dbPort = 0
let sharedPort = 0
let secretPort = 0

test.before(async () => {
  dnsPort = await freePort(subnet.gateway)
  nodes = await startMesh(world, 3, i => i === 0
    ? { names: { subnet, bridge: 'lo', addressFile, upstream: [], dnsPort, addAddress: async () => {} } }
    : {})
  dbPort = await freePort('127.0.10.50')
  sharedPort = await freePort('127.0.10.52')
  secretPort = await freePort('127.0.10.51')
  await container('127.0.10.50', dbPort, 'db on b\n')
  await container('127.0.10.52', sharedPort, 'shared on b\n')
  await container('127.0.10.51', secretPort, 'secret on b\n')
  deploy(world, nodes, spec('app', {}), [{ node: 0, replica: 0, address: APP }])
  deploy(world, nodes, spec('app', { org: 'gamma' }), [{ node: 0, replica: 0, address: OTHER_ORG_APP }])
  deploy(world, nodes, spec('db', { ports: [{ container: dbPort, protocol: 'tcp' }] }), [{ node: 1, replica: 0, address: '127.0.10.50' }])
  deploy(world, nodes, spec('shared', { org: 'riverside', expose: ['acme'], ports: [{ container: sharedPort, protocol: 'tcp' }] }), [{ node: 1, replica: 0, address: '127.0.10.52' }])
  deploy(world, nodes, spec('secret', { org: 'riverside', ports: [{ container: secretPort, protocol: 'tcp' }] }), [{ node: 1, replica: 0, address: '127.0.10.51' }])
})

test.after(async () => {
  await stopMesh(nodes)
})

function resolver (from: string): Resolver {
  const r = new Resolver({ timeout: 3000, tries: 2 })
  r.setServers([`${subnet.gateway}:${dnsPort}`])
  r.setLocalAddress(from)
  return r
}

async function lookup (name: string, from: string): Promise<string> {
  return await resolver(from).resolve4(name).then(a => a[0], (err: any) => err.code)
}

test('a container of node A reaches db on node B by name, and at the same address after db moves', async () => {
  const address = await lookup('db', APP)
  assert.match(address, /^127\.0\.9\./, 'a service address of A\'s network')
  assert.match(await exchange(dbPort, 'hi', address, APP), /^db on b\nhi/)
  // db moves to node C: same name, same address, new place
  await container('127.0.10.60', dbPort, 'db on c\n')
  deploy(world, nodes, spec('db', { ports: [{ container: dbPort, protocol: 'tcp' }] }), [{ node: 2, replica: 0, address: '127.0.10.60' }])
  assert.is(await lookup('db.acme', APP), address)
  assert.match(await exchange(dbPort, 'again', address, APP), /^db on c\nagain/)
  // the address is kept across restarts of the node (a fresh allocator reading the same file)
  await nodes[0].ingress.names!.addresses.flushed()
  const reloaded = new ServiceAddresses({ subnet, bridge: 'lo', file: addressFile, addAddress: async () => {} })
  await reloaded.load()
  assert.is(reloaded.addressOf('acme/db'), address)
})

test('another organization\'s service: found and reached only where it is exposed', async () => {
  const shared = await lookup('shared.riverside', APP)
  assert.match(shared, /^127\.0\.9\./)
  assert.match(await exchange(sharedPort, 'x', shared, APP), /^shared on b\n/)
  assert.is(await lookup('secret.riverside', APP), 'ENOTFOUND', 'not exposed to acme: no such name')
  assert.is(await lookup('shared.riverside', OTHER_ORG_APP), 'ENOTFOUND', 'exposed to acme, not to gamma')
  // gamma's container that learned the address some other way is refused at the service address
  const refusedBefore = nodes[0].ingress.names!.refused
  assert.is(await exchange(sharedPort, 'x', shared, OTHER_ORG_APP), '')
  assert.is(nodes[0].ingress.names!.refused, refusedBefore + 1)
})

test('a caller that is no container of this node is refused by the DNS server and at service addresses', async () => {
  assert.is(await lookup('db', '127.0.0.1'), 'EREFUSED')
  assert.is(await lookup('db', '127.0.8.99'), 'EREFUSED', 'an address of the network that no container of this node has')
  const address = await lookup('db', APP)
  assert.is(await exchange(dbPort, 'x', address, '127.0.0.1'), '')
  const socket = net.connect({ host: address, port: dbPort, localAddress: '127.0.8.99' })
  const closed = await new Promise<boolean>((resolve) => { socket.on('close', () => resolve(true)); socket.on('data', () => resolve(false)); socket.on('error', () => {}) })
  assert.ok(closed)
})

test.run()
