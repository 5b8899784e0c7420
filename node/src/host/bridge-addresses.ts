/**
 * The addresses a node announces leave out those of container bridges. A
 * node listening on 0.0.0.0 (the default) has an address on every
 * interface, Docker's bridges and minga's own service network among them
 * (172.17.0.1 on docker0, 10.x on minga-…), and its node record and
 * identify told every member to dial them: futile dials from any other
 * host (a private address behind someone else's router), or worse, a dial
 * that reaches the member's own bridge of the same address and its own
 * node. libp2p's `announceFilter` runs this over the addresses it
 * announces; `--announce` addresses are never a bridge's.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Interface names of container and VM bridges: Docker's default (docker0) and user-defined networks (br-<12 hex>),
 * minga's service network (minga-<tag>, ingress/setup.ts), Podman, CNI, libvirt, LXC and LXD, and veth pairs
 */
const BRIDGE = /^(docker\d+|br-[0-9a-f]{12}|minga-|podman\d+|cni\d+|virbr\d+|lxcbr\d+|lxdbr\d+|veth)/

/** the IP addresses (v4 and v6) held by container bridges among `interfaces` */
export function bridgeIps (interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): Set<string> {
  const ips = new Set<string>()
  for (const [name, infos] of Object.entries(interfaces)) {
    if (!BRIDGE.test(name)) continue
    for (const info of infos ?? []) ips.add(info.address)
  }
  return ips
}

/** `addrs` without those whose host is a container bridge's address (read from the interfaces at each call: bridges come and go) */
export function withoutBridgeAddresses (addrs: Multiaddr[], bridges: () => Set<string> = bridgeIps): Multiaddr[] {
  const ips = bridges()
  if (ips.size === 0) return addrs
  return addrs.filter((addr) => {
    const host = addr.getComponents()[0]
    return !((host?.name === 'ip4' || host?.name === 'ip6') && host.value !== undefined && ips.has(host.value))
  })
}
