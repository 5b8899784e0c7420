/**
 * Keeps this node connected to the mesh: dials members it is not connected
 * to, at the addresses their node records announce, up to a target number
 * of connections, with a per-peer backoff. Small meshes end up fully
 * connected; large ones keep a random subset, which is all gossipsub needs.
 * And at start and as each member's record arrives, its addresses go to
 * libp2p's peer store, so every dial of that member (membership's probes
 * included) tries them: a member whose address changed while it ran (its record says so
 * within a minute, core.ts) is found there, not only by the members it
 * dials itself
 */
import { prefixLogger } from '@libp2p/logger'
import { errorText, type ComponentLogger, type Logger } from '../core/logger.js'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { keys, type State } from '@minga/protocol'
import type { Libp2p } from '@libp2p/interface'

export interface ConnectorInit {
  libp2p: Libp2p
  state: State
  admits: (peer: string) => boolean
  /** connections to keep (default 16) */
  target?: number
  interval?: number
  /** default: `minga:connector` */
  logger?: ComponentLogger
}

const NODE_PREFIX = keys.node('')
const BACKOFF_FIRST = 1000
const BACKOFF_MAX = 30_000

/**
 * Keeps this node connected to members (at most `target`, default 16): dials them from their `node/<peer>` records,
 * backing off per peer (1 s doubling to 30 s) when a dial fails
 */
export class Connector {
  private timer?: NodeJS.Timeout
  private unsubscribe?: () => void
  private readonly backoff = new Map<string, { until: number, delay: number }>()
  private readonly dialing = new Set<string>()

  private readonly log: Logger

  constructor (private readonly init: ConnectorInit) {
    this.log = (init.logger ?? prefixLogger('minga')).forComponent('connector')
  }

  start (): void {
    this.timer = setInterval(() => { void this.tick() }, this.init.interval ?? 2000)
    this.timer.unref()
    this.unsubscribe = this.init.state.subscribe((applied) => {
      for (const entry of applied) if (entry.key.startsWith(NODE_PREFIX)) void this.learn(entry.key.slice(NODE_PREFIX.length))
    })
    // after a restart the peer store is empty: every member's record, not only those of the members dialled
    for (const peer of this.init.state.members().keys()) void this.learn(peer)
    void this.tick()
  }

  stop (): void {
    clearInterval(this.timer)
    this.unsubscribe?.()
  }

  /** `peer`'s record changed: its addresses go to the peer store (added to what identify told; a stale one only fails its dial) */
  async learn (peer: string): Promise<void> {
    const { libp2p, state } = this.init
    const addrs = recordAddresses(state, peer)
    if (peer === libp2p.peerId.toString() || addrs.length === 0 || !this.init.admits(peer)) return
    try {
      await libp2p.peerStore.merge(peerIdFromString(peer), { multiaddrs: addrs })
    } catch (err) {
      this.log('keeping the addresses of member %s failed: %s', peer, errorText(err))
    }
  }

  async tick (): Promise<void> {
    const { libp2p, state } = this.init
    const self = libp2p.peerId.toString()
    const connected = new Set(libp2p.getConnections().map(c => c.remotePeer.toString()))
    const target = this.init.target ?? 16
    const now = Date.now()
    const candidates = [...state.members().keys()]
      .filter(p => p !== self && !connected.has(p) && !this.dialing.has(p) && this.init.admits(p))
      .filter(p => (this.backoff.get(p)?.until ?? 0) <= now)
      .sort(() => Math.random() - 0.5)
      .slice(0, Math.max(0, target - connected.size))
    await Promise.all(candidates.map(async peer => await this.dial(peer)))
  }

  private async dial (peer: string): Promise<void> {
    const { libp2p, state } = this.init
    this.dialing.add(peer)
    try {
      const id = peerIdFromString(peer)
      const addrs = recordAddresses(state, peer)
      if (addrs.length > 0) await libp2p.peerStore.merge(id, { multiaddrs: addrs })
      await libp2p.dial(id, { signal: AbortSignal.timeout(5000) })
      this.backoff.delete(peer)
    } catch (err) {
      this.log('dialling member %s failed: %s', peer, errorText(err))
      const previous = this.backoff.get(peer)?.delay ?? BACKOFF_FIRST / 2
      const delay = Math.min(BACKOFF_MAX, previous * 2)
      this.backoff.set(peer, { until: Date.now() + delay, delay })
    } finally {
      this.dialing.delete(peer)
    }
  }
}

/** the addresses `peer`'s node record announces (its listen addresses, as it wrote them), those that do not parse dropped */
export function recordAddresses (state: Pick<State, 'value'>, peer: string): Multiaddr[] {
  return (state.value(keys.node(peer))?.addrs ?? []).flatMap(a => { try { return [multiaddr(a)] } catch { return [] } })
}
