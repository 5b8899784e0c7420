/**
 * Keeps a host's connected peers near CONNECTION_LIMITS.maxConnections. libp2p's
 * own pruner closes a connection only if every stream on it is on its short
 * list of closable protocols (identify's, autonat's); gossipsub keeps a
 * stream open to every connected peer and membership its shared request
 * stream (shared-requests.ts), so past the limit it closed nothing, the
 * connections only grew, and at libp2p's limit the host refused every
 * inbound connection: a member not yet connected to it could not probe it,
 * nor could the helpers it asked, and its port still accepted TCP dials, so
 * it was accused of stalling. Here libp2p's limit is the kept number plus
 * headroom (`inboundLimit`), and this trims back to the kept number as the
 * pruner would if it could: untagged peers only (gossipsub tags its mesh
 * peers), the newest first (the one a probe just connected), and none
 * connected or used in the last `grace` ms, nor one with a request or stream
 * under way (`idleFor`), so the exchange it was opened for ends first.
 * It counts peers, not connections, as membership (`Mesh.connectionLimit`)
 * and the simulator do, and closes a peer's every connection: when two
 * hosts dial each other at once libp2p keeps both connections (29 % of the
 * pairs of 30 hosts that met at once), and counted as two they made the
 * trim close other peers' only connections, while closing just one of the
 * pair could close the one that carries gossipsub's stream (opened once, on
 * a peer's first connection) and leave the pair without gossip. Such pairs
 * are common (on a loaded host a dial's handshakes take long enough for the
 * peer's own dial to arrive meanwhile: 73 of 190 pairs of 20 members that met
 * 100 ms apart, the second connection 0.2–5.7 s after the first), and each
 * costs both ends a connection's memory, so the trim also closes a peer's
 * extra connections once they and the peer are idle: those that carry none
 * of gossipsub's streams, when one connection carries them all. Both ends
 * see the same streams, so both pick the same one to keep; a pair whose
 * gossipsub streams are split over two connections keeps both.
 * A loaded host runs its due timers before it reads its sockets, so a
 * request that arrived while it was busy would still look idle to a trim
 * its timer started: the trim reads what waits first (`ioDone`), and a
 * request under way keeps its connection (else the requester retried on a
 * new connection, and under the same load that one went too).
 * What the simulator models (simulations/src/network/connections.ts).
 */
import type { Connection, Libp2p, Logger } from '@libp2p/interface'
import { errorText } from '../core/logger.js'

export interface ConnectionTrimInit {
  libp2p: Libp2p
  /** peers to keep connections to, at most (CONNECTION_LIMITS.maxConnections) */
  limit: number
  /** ms a connection stays open at least: its first exchange (a probe that dialled, ~1.5 s across continents) ends first; default 5,000 */
  grace?: number
  /** ms between looks at the count; default 1,000 */
  interval?: number
  /** ms since this host's last exchange with `peer` ended, 0 while one is under way (Libp2pMesh.activity); default: none known */
  idleFor?: (peer: string) => number
  /** told before the host closes a peer's last connection (Libp2pMesh.closingIdle: no liveness check follows it) */
  closing?: (peer: string) => void
  log: Logger
}

/**
 * resolves once the event loop has read the sockets that were ready when it was called: two check phases (setImmediate)
 * with a poll phase between them, wherever in the loop it was called from (Node.js's event loop: timers, poll, check)
 */
async function ioDone (): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise<void>(resolve => { setImmediate(resolve) })
}

/**
 * the connections libp2p accepts before it refuses inbound ones, for `kept` peers kept: room for a few seconds of new
 * ones until they are trimmed, and for pairs that dialled each other at once (two connections; libp2p counts both).
 * At the default 200 kept, libp2p's own default of 300
 */
export function inboundLimit (kept: number): number {
  return kept + Math.max(8, Math.ceil(kept / 2))
}

/** closes `connection`, or aborts it if its close fails or takes over a second */
async function closeConnection (connection: Connection): Promise<void> {
  try {
    await connection.close({ signal: AbortSignal.timeout(1000) })
  } catch (err) {
    connection.abort(err as Error)
  }
}

/** a stream of gossipsub's (`/meshsub/…`, `/floodsub/…`) */
const GOSSIPSUB_STREAM = /^\/(meshsub|floodsub)\//

/** `connections` by remote peer */
function byPeer (connections: Connection[]): Map<string, Connection[]> {
  const peers = new Map<string, Connection[]>()
  for (const c of connections) {
    const peer = c.remotePeer.toString()
    const list = peers.get(peer)
    if (list === undefined) peers.set(peer, [c])
    else list.push(c)
  }
  return peers
}

/** trims a host's connected peers back to `limit` every `interval` ms (see above) */
export class ConnectionTrim {
  private timer?: NodeJS.Timeout
  private trimming = false
  /** peers whose connections this closed since start */
  closed = 0
  /** a peer's extra connections this closed since start (`dedupe`) */
  extras = 0

  constructor (private readonly init: ConnectionTrimInit) {}

  start (): void {
    this.timer = setInterval(() => { void this.trim().then(async () => { await this.dedupe() }) }, this.init.interval ?? 1000)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /** one look: while more than `limit` peers are connected, closes every connection of the newest untagged idle ones */
  async trim (): Promise<void> {
    const { libp2p, limit } = this.init
    if (byPeer(libp2p.getConnections()).size <= limit || this.trimming) return
    this.trimming = true
    try {
      await ioDone()
      const peers = byPeer(libp2p.getConnections())
      const grace = this.init.grace ?? 5000
      const now = Date.now()
      const newest = (connections: Connection[]): number => Math.max(...connections.map(c => c.timeline.open))
      const idle = (peer: string, connections: Connection[]): boolean =>
        connections.every(c => c.status === 'open') && now - newest(connections) >= grace && (this.init.idleFor?.(peer) ?? Infinity) >= grace
      const candidates = [...peers].filter(([peer, connections]) => idle(peer, connections)).sort((a, b) => newest(b[1]) - newest(a[1]))
      const close: Array<[string, Connection[]]> = []
      for (const candidate of candidates) {
        if (peers.size - close.length <= limit) break
        if (!await this.tagged(candidate[1][0])) close.push(candidate)
      }
      await Promise.all(close.map(async ([peer, connections]) => {
        this.init.closing?.(peer)
        await Promise.all(connections.map(closeConnection))
      }))
      this.closed += close.length
      if (close.length > 0) this.init.log('closed the connections of %d peers: %d connected, %d kept at most', close.length, peers.size - close.length, limit)
    } catch (err) {
      this.init.log.error('trimming connections failed: %s', errorText(err))
    } finally {
      this.trimming = false
    }
  }

  /**
   * one look at the peers that hold more than one connection: closes those of a peer's connections that carry none of
   * gossipsub's streams when one connection carries them all, once every one is older than the grace and the peer
   * is idle (see above)
   */
  async dedupe (): Promise<void> {
    const open = this.init.libp2p.getConnections()
    if (this.trimming || byPeer(open).size === open.length) return
    this.trimming = true
    try {
      await ioDone()
      const grace = this.init.grace ?? 5000
      const now = Date.now()
      const extra: Connection[] = []
      for (const [peer, connections] of byPeer(this.init.libp2p.getConnections())) {
        if (connections.length < 2 || connections.some(c => c.status !== 'open' || now - c.timeline.open < grace)) continue
        if ((this.init.idleFor?.(peer) ?? Infinity) < grace) continue
        const gossip = connections.filter(c => c.streams.some(s => GOSSIPSUB_STREAM.test(s.protocol ?? '')))
        if (gossip.length === 1) extra.push(...connections.filter(c => c !== gossip[0]))
      }
      await Promise.all(extra.map(closeConnection))
      this.extras += extra.length
      if (extra.length > 0) this.init.log('closed %d extra connections of peers that kept another', extra.length)
    } catch (err) {
      this.init.log.error('closing extra connections failed: %s', errorText(err))
    } finally {
      this.trimming = false
    }
  }

  /** a peer someone tagged (gossipsub: a mesh peer of a topic) keeps its connection */
  private async tagged (connection: Connection): Promise<boolean> {
    try {
      const peer = await this.init.libp2p.peerStore.get(connection.remotePeer)
      for (const tag of peer.tags.values()) if (tag.value > 0) return true
      return false
    } catch {
      return false
    }
  }
}
