/**
 * Keeps a host's connections near CONNECTION_LIMITS.maxConnections. libp2p's
 * own pruner closes a connection only if every stream on it is on its short
 * list of closable protocols (identify's, autonat's); gossipsub keeps a
 * stream open to every connected peer and membership its shared request
 * stream (shared-requests.ts), so past the limit it closed nothing, the
 * connections only grew, and at libp2p's limit the host refused every
 * inbound connection: a member not yet connected to it could not probe it,
 * nor could the helpers it asked, and its port still accepted TCP dials, so
 * it was accused of stalling. Here libp2p's limit is the kept number plus
 * headroom (`inboundLimit`), and this trims back to the kept number as the
 * pruner would if it could: untagged connections only (gossipsub tags its
 * mesh peers), the newest first (the one a probe just opened), and none
 * opened or used in the last `grace` ms, nor one with a request or stream
 * under way (`idleFor`), so the exchange it was opened for ends first.
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
  /** connections to keep, at most (CONNECTION_LIMITS.maxConnections) */
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

/** the connections libp2p accepts before it refuses inbound ones, for `kept` kept: room for a few seconds of new ones until they are trimmed */
export function inboundLimit (kept: number): number {
  return kept + Math.max(8, Math.ceil(kept / 4))
}

/** trims a host's connections back to `limit` every `interval` ms (see above) */
export class ConnectionTrim {
  private timer?: NodeJS.Timeout
  private trimming = false
  /** connections this closed since start */
  closed = 0

  constructor (private readonly init: ConnectionTrimInit) {}

  start (): void {
    this.timer = setInterval(() => { void this.trim() }, this.init.interval ?? 1000)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /** one look: closes the newest untagged idle connections while more than `limit` are open */
  async trim (): Promise<void> {
    const { libp2p, limit } = this.init
    if (libp2p.getConnections().length <= limit || this.trimming) return
    this.trimming = true
    try {
      await ioDone()
      const open = libp2p.getConnections()
      const grace = this.init.grace ?? 5000
      const now = Date.now()
      const idle = (c: Connection): boolean => now - c.timeline.open >= grace && (this.init.idleFor?.(c.remotePeer.toString()) ?? Infinity) >= grace
      const candidates = open.filter(c => c.status === 'open' && idle(c)).sort((a, b) => b.timeline.open - a.timeline.open)
      const close: Connection[] = []
      for (const connection of candidates) {
        if (open.length - close.length <= limit) break
        if (!await this.tagged(connection)) close.push(connection)
      }
      // the connections each peer keeps once these are closed, counted once: a peer left with none is told (`closing`)
      const left = new Map<string, number>()
      for (const c of open) { const peer = c.remotePeer.toString(); left.set(peer, (left.get(peer) ?? 0) + 1) }
      for (const c of close) { const peer = c.remotePeer.toString(); left.set(peer, left.get(peer)! - 1) }
      await Promise.all(close.map(async (connection) => {
        const peer = connection.remotePeer.toString()
        if (left.get(peer) === 0) { left.delete(peer); this.init.closing?.(peer) }
        try {
          await connection.close({ signal: AbortSignal.timeout(1000) })
        } catch (err) {
          connection.abort(err as Error)
        }
      }))
      this.closed += close.length
      if (close.length > 0) this.init.log('closed %d connections: %d open, %d kept at most', close.length, open.length - close.length, limit)
    } catch (err) {
      this.init.log.error('trimming connections failed: %s', errorText(err))
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
