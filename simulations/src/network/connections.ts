/**
 * The connections libp2p keeps between node processes, as the host's
 * connection manager keeps them (CONNECTION_LIMITS, node/src/core/
 * connection-limits.ts): a connection opened for any exchange (a gossipsub
 * graft, a membership probe or push-pull, a request or stream, a dial) stays
 * open until one side's process dies or its network goes, not only while
 * gossipsub's mesh uses it. So in a mesh of up to `maxConnections` nodes
 * every node is connected to every member it has exchanged anything with
 * (after warm-up, all of them), and all of them see a killed process's
 * connections close.
 *
 * Bounded per node: a connection for an exchange is kept only while both
 * ends hold fewer than `maxConnections`; past that, the host closes the
 * newest untagged connection once its exchange is over
 * (node/src/host/connection-trim.ts), which is the one just opened, so the
 * model keeps no more (the exchange itself goes through: a real host accepts
 * a few connections past the limit for the seconds until it trims them).
 * Gossipsub's mesh links are tagged and always kept. Memory is
 * O(nodes · maxConnections).
 */

/** who holds a connection to whom: one set of peers per node, symmetric */
export class Connections {
  private readonly peers: Array<Set<number>>

  constructor (n: number, readonly limit: number) {
    this.peers = Array.from({ length: n }, () => new Set<number>())
  }

  has (a: number, b: number): boolean {
    return this.peers[a].has(b)
  }

  /** the peers `v` holds a connection to, in the order they connected */
  of (v: number): ReadonlySet<number> {
    return this.peers[v]
  }

  /**
   * a connection between `a` and `b` opened: kept when `tagged` (a gossipsub mesh link) or when both ends are below
   * the limit; true when it is new and kept
   */
  open (a: number, b: number, tagged: boolean): boolean {
    if (a === b || this.peers[a].has(b)) return false
    if (!tagged && (this.peers[a].size >= this.limit || this.peers[b].size >= this.limit)) return false
    this.peers[a].add(b)
    this.peers[b].add(a)
    return true
  }

  /** the connection closed; true when there was one */
  close (a: number, b: number): boolean {
    if (!this.peers[a].delete(b)) return false
    this.peers[b].delete(a)
    return true
  }
}
