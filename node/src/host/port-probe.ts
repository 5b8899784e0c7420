/**
 * A TCP dial of a peer's listening port, the protocol aside (Mesh.probePort):
 * a host's kernel completes the handshake for a process that holds the port
 * even while its event loop stalls, resets it when nothing listens, and a
 * host that lost power or network answers nothing. Only plain TCP addresses
 * (ip4/ip6/dns + tcp, optionally /p2p) are dialled; relayed or WebSocket
 * addresses say nothing of the host behind them.
 */
import { connect } from 'node:net'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ProbeResult } from '../core/mesh.js'

/** a timer this late means this process was starved of CPU, ms */
const LATE_MS = 100
/** addresses dialled at most, per probe */
const MAX_ADDRESSES = 4

const UNSPECIFIED = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0'])

export interface TcpAddress { host: string, port: number }

/** the plain TCP addresses among `addrs` (at most four, duplicates dropped) */
export function tcpAddresses (addrs: readonly Multiaddr[]): TcpAddress[] {
  const out = new Map<string, TcpAddress>()
  for (const addr of addrs) {
    const parts = addr.getComponents()
    const [ip, tcp, ...rest] = parts
    if (ip === undefined || tcp === undefined || !['ip4', 'ip6', 'dns4', 'dns6', 'dns'].includes(ip.name) || tcp.name !== 'tcp') continue
    if (rest.some(p => p.name !== 'p2p')) continue
    const port = Number(tcp.value)
    // an unspecified address (a listener's 0.0.0.0) would dial this host, not the peer's
    if (ip.value === undefined || UNSPECIFIED.has(ip.value) || !Number.isInteger(port) || port <= 0 || port > 65535) continue
    out.set(`${ip.value}/${port}`, { host: ip.value, port })
    if (out.size >= MAX_ADDRESSES) break
  }
  return [...out.values()]
}

/** dial one address: `up` when it connects, `refused` on a reset, `silent` on no answer within `timeout` ms or any other error (unreachable) */
export async function dialPort ({ host, port }: TcpAddress, timeout: number): Promise<ProbeResult> {
  return await new Promise((resolve) => {
    const socket = connect({ host, port })
    let settled = false
    const done = (result: ProbeResult): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(result)
    }
    const due = Date.now() + timeout
    // fired late (this process was starved): the handshake's answer may wait unread behind it; setImmediate runs after the poll phase reads it
    const timer = setTimeout(() => { if (Date.now() - due > LATE_MS) setImmediate(() => done('silent')); else done('silent') }, timeout)
    socket.once('connect', () => done('up'))
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'refused' : 'silent'))
  })
}

/** dial every address at once: `up` if any connects, `refused` if all refuse, `unknown` with none to dial, else `silent` */
export async function probePorts (addresses: readonly TcpAddress[], timeout: number): Promise<ProbeResult> {
  if (addresses.length === 0) return 'unknown'
  const results = await Promise.all(addresses.map(async (address) => await dialPort(address, timeout)))
  if (results.includes('up')) return 'up'
  return results.every(r => r === 'refused') ? 'refused' : 'silent'
}
