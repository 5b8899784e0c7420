/**
 * When this host last exchanged anything with each peer over the mesh's
 * requests and streams, and how many exchanges are under way: what
 * ConnectionTrim reads so it never closes a connection in the middle of a
 * probe or a fetch, nor one used a moment ago. Gossipsub's traffic is not
 * counted (its mesh peers are tagged and kept anyway). One entry per peer
 * exchanged with, dropped when its connections close while idle.
 */
export class PeerActivity {
  private readonly peers = new Map<string, { busy: number, last: number }>()

  constructor (private readonly now: () => number = Date.now) {}

  /** an exchange with `peer` began */
  begin (peer: string): void {
    const entry = this.peers.get(peer)
    if (entry === undefined) this.peers.set(peer, { busy: 1, last: this.now() })
    else { entry.busy++; entry.last = this.now() }
  }

  /** an exchange with `peer` ended (whether it succeeded or not) */
  end (peer: string): void {
    const entry = this.peers.get(peer)
    if (entry === undefined) return
    entry.busy = Math.max(0, entry.busy - 1)
    entry.last = this.now()
  }

  /** `fn`, counted as an exchange with `peer` while it runs */
  async during<T> (peer: string, fn: () => Promise<T>): Promise<T> {
    this.begin(peer)
    try {
      return await fn()
    } finally {
      this.end(peer)
    }
  }

  /** ms since the last exchange with `peer` ended: 0 while one is under way, Infinity if there was none */
  idleFor (peer: string): number {
    const entry = this.peers.get(peer)
    if (entry === undefined) return Infinity
    return entry.busy > 0 ? 0 : this.now() - entry.last
  }

  /** the peer's connections closed: forget it unless an exchange is still under way (it will dial again) */
  forget (peer: string): void {
    if (this.peers.get(peer)?.busy === 0) this.peers.delete(peer)
  }
}
