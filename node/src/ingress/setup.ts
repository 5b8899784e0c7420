/**
 * What the daemon needs to set up the routing mesh on a node: its service
 * network (subnet chosen once and kept in the data dir, or given with
 * `minga up --subnet`), whether that network's gateway is an address of
 * its bridge on this host (it is not when the Docker engine runs in another
 * network namespace), and the host's DNS resolvers for names outside the mesh.
 */
import { execFile } from 'node:child_process'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { networkInterfaces } from 'node:os'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import type { ServiceNetworkSpec } from '../runtime/docker-network.js'
import { errorText } from '../core/logger.js'
import { chooseSubnet, serviceSubnet, type ServiceSubnet } from './subnet.js'

const NETWORK_FILE = 'service-network.json'

const exec = promisify(execFile)

/** an IPv4 address of one of this host's interfaces */
export interface HostAddress { ifname: string, address: string, prefixlen: number }

/**
 * This host's IPv4 addresses with their interfaces, interfaces that are down
 * included (another node's bridge is down until its first container):
 * `ip -j -4 addr`, else what Node lists (interfaces that are up)
 */
export async function hostAddresses (): Promise<HostAddress[]> {
  try {
    const { stdout } = await exec('ip', ['-j', '-4', 'addr', 'show'])
    const links = JSON.parse(stdout) as Array<{ ifname?: string, addr_info?: Array<{ local?: string, prefixlen?: number }> }>
    return links.flatMap(link => (link.addr_info ?? []).flatMap(a => a.local === undefined ? [] : [{ ifname: link.ifname ?? '', address: a.local, prefixlen: a.prefixlen ?? 32 }]))
  } catch {
    return Object.entries(networkInterfaces()).flatMap(([ifname, list]) => (list ?? []).filter(a => a.family === 'IPv4').map(a => ({ ifname, address: a.address, prefixlen: Number(a.cidr?.split('/')[1] ?? 32) })))
  }
}

/** the IPv4 networks this host has, as CIDRs (see hostAddresses) */
export async function hostNetworks (): Promise<string[]> {
  return (await hostAddresses()).map(a => `${a.address}/${a.prefixlen}`)
}

/** can this process bind `address`, i.e. is it an address of this host (of an interface that may be down)? */
async function isLocalAddress (address: string): Promise<boolean> {
  const server = createServer()
  return await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(0, address, () => server.close(() => resolve(true)))
  })
}

/**
 * Whether the node's service network is reachable from this process: `ours`
 * when its gateway is an address of its own bridge here; `absent` when no
 * interface here holds the gateway (the engine runs in another network
 * namespace); `foreign` when another interface holds it (another network of
 * this host, e.g. another node's bridge, uses these addresses: taking it for
 * ours would run the routing mesh on someone else's network)
 */
export function serviceNetworkReach (spec: Pick<ServiceNetworkSpec, 'bridge' | 'gateway'>, addresses: readonly HostAddress[]): { reach: 'ours' } | { reach: 'absent' } | { reach: 'foreign', ifname: string } {
  const holder = addresses.find(a => a.address === spec.gateway)
  if (holder === undefined) return { reach: 'absent' }
  return holder.ifname === spec.bridge ? { reach: 'ours' } : { reach: 'foreign', ifname: holder.ifname }
}

/**
 * `serviceNetworkReach` over this host's addresses (hostAddresses). Without
 * `ip`, Node lists only the interfaces that are up, and a bridge is down
 * until its first container: a gateway not listed that this process can
 * bind is ours
 */
export async function serviceNetworkReachHere (spec: Pick<ServiceNetworkSpec, 'bridge' | 'gateway'>): Promise<ReturnType<typeof serviceNetworkReach>> {
  const found = serviceNetworkReach(spec, await hostAddresses())
  if (found.reach === 'absent' && await isLocalAddress(spec.gateway)) return { reach: 'ours' }
  return found
}

/**
 * The node's service subnet: `requested` (a /23, `minga up --subnet`), else
 * the one kept in the data dir, else a new one (`chooseSubnet`) kept there
 * from now on. Throws with what to do when `requested` is no /23 or no
 * subnet is free
 */
export async function nodeSubnet (dataDir: string, peerId: string, requested?: string): Promise<ServiceSubnet> {
  const file = join(dataDir, NETWORK_FILE)
  if (requested !== undefined) {
    let subnet: ServiceSubnet
    try {
      subnet = serviceSubnet(requested)
    } catch (err) {
      throw new Error(`--subnet ${requested}: ${errorText(err)}`)
    }
    await keep(file, subnet)
    return subnet
  }
  try {
    return serviceSubnet((JSON.parse(await readFile(file, 'utf8')) as { subnet: string }).subnet)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file} is damaged (${errorText(err)}); delete it to pick a new subnet, or give one with --subnet`)
  }
  const subnet = chooseSubnet(peerId, await hostNetworks())
  if (subnet === undefined) throw new Error('Every /23 of 10.213.0.0/16 overlaps a network of this host; give the service network a free /23 with --subnet CIDR, or --subnet off')
  await keep(file, subnet)
  return subnet
}

async function keep (file: string, subnet: ServiceSubnet): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify({ subnet: subnet.subnet }) + '\n')
  await rename(`${file}.tmp`, file)
}

/** Docker's names for the node's network and its bridge: unique per mesh and node, at most 15 characters for the bridge */
export function networkSpec (subnet: ServiceSubnet, meshId: string, peerId: string): ServiceNetworkSpec {
  const tag = createHash('sha256').update(`${meshId}/${peerId}`).digest('hex').slice(0, 8)
  return { name: `minga-${tag}`, bridge: `minga-${tag}`, subnet: subnet.subnet, containers: subnet.containers, gateway: subnet.gateway }
}

/** the nameservers of the host's resolv.conf (`IP` or `[IPv6]`), for names outside the mesh */
export async function hostResolvers (path = '/etc/resolv.conf'): Promise<string[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    return []
  }
  return text.split('\n').flatMap(line => {
    const match = /^\s*nameserver\s+(\S+)/.exec(line)
    if (match === null) return []
    const server = match[1].replace(/%.*$/, '')
    return [server.includes(':') ? `[${server}]` : server]
  })
}

/**
 * `lookupCaller` for Names: which of this node's containers has `address`,
 * asked of the runtime at most once a second whatever the number of unknown
 * callers (one listing serves every question asked while it runs)
 */
export function callerLookup (list: () => Promise<Array<{ address?: string, state: string, service: string }>>, freshMs = 1000): (address: string) => Promise<string | undefined> {
  let listing: Promise<Array<{ address?: string, state: string, service: string }>> | undefined
  let listedAt = 0
  return async (address) => {
    if (listing === undefined || Date.now() - listedAt > freshMs) {
      listedAt = Date.now()
      listing = list().catch(() => [])
    }
    return (await listing).find(c => c.address === address && c.state === 'running')?.service
  }
}
