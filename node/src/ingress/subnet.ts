/**
 * The node's service network: one /23 per node, its lower /24 for
 * containers (Docker assigns them from it; the gateway, .1, is the node's
 * address on it) and its upper /24 for service addresses (one per service a
 * container of this node has looked up by name, where the node's forwarder
 * listens). Both halves are on the bridge, so containers reach them without
 * a route, and they are unique on the host: two nodes on one machine each
 * have their own, or their listeners would collide.
 *
 * By default a /23 of 10.213.0.0/16, picked by the node's id (stable across
 * restarts, rarely the same for two nodes) and skipping any that overlaps a
 * network the host already has. Pure: the caller lists what is taken.
 */
import { createHash } from 'node:crypto'
import { isIPv4 } from 'node:net'

export interface ServiceSubnet {
  /** the whole /23, e.g. 10.213.14.0/23 */
  subnet: string
  /** where Docker assigns containers: the lower /24 */
  containers: string
  /** the node's own address on the network */
  gateway: string
  /** the first service address; service n is `serviceAddress(subnet, n)` */
  services: string
}

export const DEFAULT_POOL = '10.213.0.0/16'
/** service addresses per node: the upper /24 without its network and broadcast addresses */
export const MAX_SERVICE_ADDRESSES = 254

/** the subnet described by a /23 in CIDR form; throws TypeError when it is not one */
export function serviceSubnet (cidr: string): ServiceSubnet {
  const { base, bits } = parseCidr(cidr)
  if (bits !== 23) throw new TypeError(`${cidr} is not a /23 (minga needs 512 addresses: 256 for containers, 256 for services)`)
  if (toInt(cidr.split('/')[0]) !== base) throw new TypeError(`${cidr} does not start at a /23 boundary; use ${toIp(base)}/23`)
  return { subnet: `${toIp(base)}/23`, containers: `${toIp(base)}/24`, gateway: toIp(base + 1), services: toIp(base + 256 + 1) }
}

/** the address of service number `index` (0 … 253) */
export function serviceAddress (subnet: ServiceSubnet, index: number): string {
  if (!Number.isSafeInteger(index) || index < 0 || index >= MAX_SERVICE_ADDRESSES) throw new RangeError(`A node has ${MAX_SERVICE_ADDRESSES} service addresses; ${index} is out of range`)
  return toIp(parseCidr(subnet.subnet).base + 256 + 1 + index)
}

/** is `address` one of the containers' addresses of `subnet`? */
export function inContainerRange (subnet: ServiceSubnet, address: string): boolean {
  return contains(subnet.containers, address)
}

/**
 * A /23 of `pool` for the node `seed`, overlapping none of `taken` (CIDRs or
 * addresses the host already uses); undefined when every one is taken
 */
export function chooseSubnet (seed: string, taken: readonly string[], pool = DEFAULT_POOL): ServiceSubnet | undefined {
  const { base, bits } = parseCidr(pool)
  if (bits > 23) throw new TypeError(`The pool ${pool} is smaller than a /23`)
  const count = 2 ** (23 - bits)
  const start = createHash('sha256').update(seed).digest().readUInt32BE(0) % count
  const used = taken.flatMap(t => { try { return [parseCidr(t.includes('/') ? t : `${t}/32`)] } catch { return [] } })
  for (let i = 0; i < count; i++) {
    const candidate = base + ((start + i) % count) * 512
    if (!used.some(u => overlaps(u, { base: candidate, bits: 23 }))) return serviceSubnet(`${toIp(candidate)}/23`)
  }
  return undefined
}

function contains (cidr: string, address: string): boolean {
  if (!isIPv4(address)) return false
  const { base, bits } = parseCidr(cidr)
  return overlaps({ base, bits }, { base: toInt(address), bits: 32 })
}

function overlaps (a: { base: number, bits: number }, b: { base: number, bits: number }): boolean {
  const bits = Math.min(a.bits, b.bits)
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0)
}

function parseCidr (cidr: string): { base: number, bits: number } {
  const [address, bitsText] = cidr.split('/')
  const bits = Number(bitsText)
  if (!isIPv4(address) || !Number.isInteger(bits) || bits < 0 || bits > 32) throw new TypeError(`${cidr} is not an IPv4 network like 10.213.14.0/23`)
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0
  return { base: (toInt(address) & mask) >>> 0, bits }
}

function toInt (address: string): number {
  return address.split('.').reduce((n, part) => (n * 256) + Number(part), 0)
}

function toIp (n: number): string {
  return [24, 16, 8, 0].map(shift => (n >>> shift) & 0xff).join('.')
}
