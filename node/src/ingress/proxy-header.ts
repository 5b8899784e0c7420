/**
 * The PROXY protocol v2 header (HAProxy's proxy-protocol.txt §2.2) that
 * tells a container who really connected, sent first on a forwarded
 * connection whose port asks for it (`proxyProtocol: v2`). Built by
 * proxy-protocol-js; this file only turns text addresses into its byte
 * tuples. Both ends of one header are the same family: an IPv4 address
 * next to an IPv6 one is written as IPv4-mapped IPv6 (`::ffff:a.b.c.d`),
 * and a mapped address next to another IPv4 one as plain IPv4.
 */
import { isIPv4, isIPv6 } from 'node:net'
import pp from 'proxy-protocol-js'
import type { Endpoint } from '@minga/protocol'

/** the header for a TCP connection from `client` to `destination` (where the client connected) */
export function proxyHeader (client: Endpoint, destination: Endpoint): Uint8Array {
  const source = unmapped(client.address)
  const target = unmapped(destination.address)
  if (isIPv4(source) && isIPv4(target)) {
    const address = new pp.IPv4ProxyAddress(pp.IPv4Address.createFrom(ipv4Bytes(source)), client.port, pp.IPv4Address.createFrom(ipv4Bytes(target)), destination.port)
    return new pp.V2ProxyProtocol(pp.Command.PROXY, pp.TransportProtocol.STREAM, address).build()
  }
  const address = new pp.IPv6ProxyAddress(pp.IPv6Address.createFrom(ipv6Bytes(source)), client.port, pp.IPv6Address.createFrom(ipv6Bytes(target)), destination.port)
  return new pp.V2ProxyProtocol(pp.Command.PROXY, pp.TransportProtocol.STREAM, address).build()
}

/** `::ffff:a.b.c.d` → `a.b.c.d`; anything else unchanged */
function unmapped (address: string): string {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return match === null ? address : match[1]
}

function ipv4Bytes (address: string): pp.IPv4AddressTuple {
  return address.split('.').map(Number) as pp.IPv4AddressTuple
}

/** 16 bytes of an IPv6 address in any text form (`::`, embedded IPv4); an IPv4 address maps to `::ffff:a.b.c.d` */
export function ipv6Bytes (address: string): pp.IPv6AddressTuple {
  if (isIPv4(address)) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...ipv4Bytes(address)] as pp.IPv6AddressTuple
  if (!isIPv6(address)) throw new TypeError(`${address} is not an IP address`)
  let text = address.replace(/%.*$/, '')
  const embedded = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (embedded !== null) {
    const [a, b, c, d] = embedded.slice(1).map(Number)
    text = text.slice(0, embedded.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::')
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? headGroups : [...headGroups, ...new Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups]
  return groups.flatMap(group => { const n = parseInt(group, 16); return [n >> 8, n & 0xff] }) as pp.IPv6AddressTuple
}
