/**
 * Addresses a node announces beside its own (`minga up --announce`, and
 * `--announce-door` for its door): where members (joiners) outside its
 * network dial it when none of its interfaces holds that address: a home
 * server behind a router that forwards a port to it, or one whose public IP
 * changes behind a dynamic DNS name. libp2p's `appendAnnounce`: the node
 * record (`node/<peer>`.addrs, and `.door`, which invites carry) lists them
 * after the listen addresses, so members on the same LAN still dial the LAN
 * address (many routers do not loop a public address back inside), and a
 * DNS name is resolved at each dial, so a new IP behind it needs nothing
 * from minga.
 */
import { multiaddr } from '@multiformats/multiaddr'

const HOSTS = new Set(['ip4', 'ip6', 'dns4', 'dns6', 'dns'])
/** the two kinds of address a node announces: its main host's (members dial it) and its door's (joiners knock) */
const KINDS = {
  main: { flag: '--announce', who: 'other members dial to reach this node\'s --listen port', port: 7946 },
  door: { flag: '--announce-door', who: 'joiners dial to reach this node\'s --door port', port: 7947 }
} as const
const UNSPECIFIED = new Set(['0.0.0.0', '::'])

/**
 * `text` as an address to announce (the multiaddr's canonical string), or a
 * thrown Error that says what is wrong and what to give instead: it must be
 * a host (IP or DNS name) and a TCP port, nothing after them
 */
export function parseAnnounce (text: string, kind: keyof typeof KINDS = 'main'): string {
  const { flag, who, port } = KINDS[kind]
  const problem = (why: string): Error => new Error(`${flag} ${text}: ${why}; give the address ${who}, e.g. /dns4/home.example.org/tcp/${port} or /ip4/203.0.113.7/tcp/${port}`)
  let addr
  try {
    addr = multiaddr(text)
  } catch {
    throw problem('not a multiaddr')
  }
  const parts = addr.getComponents()
  const [host, tcp] = parts
  if (host === undefined || !HOSTS.has(host.name) || host.value === undefined) throw problem('it must start with /ip4, /ip6, /dns4, /dns6 or /dns and its host')
  if (UNSPECIFIED.has(host.value)) throw problem(`${host.value} is no address another server can dial`)
  if (tcp?.name !== 'tcp' || !/^\d+$/.test(tcp.value ?? '') || Number(tcp.value) < 1 || Number(tcp.value) > 65535) throw problem('its host must be followed by /tcp/PORT (1–65535)')
  if (parts.length > 2) throw problem('nothing may follow the port (libp2p adds this node\'s /p2p id itself)')
  return addr.toString()
}
