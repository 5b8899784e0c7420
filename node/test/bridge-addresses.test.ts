/** A node's announced addresses leave out container bridges' (host/bridge-addresses.ts) */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { multiaddr } from '@multiformats/multiaddr'
import type { NetworkInterfaceInfo } from 'node:os'
import { bridgeIps, withoutBridgeAddresses } from '../src/host/bridge-addresses.js'

const info = (address: string): NetworkInterfaceInfo => ({ address, family: address.includes(':') ? 'IPv6' : 'IPv4', netmask: '', mac: '', internal: false, cidr: null }) as NetworkInterfaceInfo

const INTERFACES = {
  lo: [info('127.0.0.1'), info('::1')],
  eth0: [info('192.168.1.5'), info('fe80::1')],
  docker0: [info('172.17.0.1')],
  'br-3f2a9c1d7e4b': [info('172.18.0.1')],
  'minga-a1b2c3d4': [info('10.213.0.1'), info('fd00:213::1')],
  virbr0: [info('192.168.122.1')],
  // a LAN bridge an operator made (not a container's): its address is the node's own
  br0: [info('192.168.2.7')]
}

test('the addresses of Docker\'s, minga\'s, libvirt\'s bridges are bridges\'; loopback, the LAN and an operator\'s br0 are not', () => {
  assert.equal([...bridgeIps(INTERFACES)].sort(), ['10.213.0.1', '172.17.0.1', '172.18.0.1', '192.168.122.1', 'fd00:213::1'])
})

test('announced addresses: bridges\' left out, the rest (announced names included) kept in order', () => {
  const addrs = ['/ip4/127.0.0.1/tcp/7946', '/ip4/172.17.0.1/tcp/7946', '/ip4/192.168.1.5/tcp/7946', '/ip4/10.213.0.1/tcp/7946', '/ip6/fd00:213::1/tcp/7946', '/ip4/192.168.2.7/tcp/7946', '/dns4/home.example.org/tcp/7946'].map(a => multiaddr(a))
  const kept = withoutBridgeAddresses(addrs, () => bridgeIps(INTERFACES)).map(String)
  assert.equal(kept, ['/ip4/127.0.0.1/tcp/7946', '/ip4/192.168.1.5/tcp/7946', '/ip4/192.168.2.7/tcp/7946', '/dns4/home.example.org/tcp/7946'])
})

test('no bridge on the host: the addresses as they are', () => {
  const addrs = [multiaddr('/ip4/192.168.1.5/tcp/7946')]
  assert.is(withoutBridgeAddresses(addrs, () => new Set()), addrs)
})

test.run()
