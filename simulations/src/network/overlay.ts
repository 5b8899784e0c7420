/**
 * One gossipsub topic's mesh: a random D-regular overlay (configuration
 * model) over the nodes, kept within [Dlo, Dhi] the way gossipsub's
 * heartbeat keeps it: a node below Dlo grafts random reachable peers up to
 * D, a node above Dhi prunes random peers down to D. Edges to a node that
 * went away are removed when its peers notice (network.ts).
 */
import type { Prng } from '../engine/prng.js'
import type { GossipParams } from './model.js'

/**
 * One topic's gossipsub overlay: each node's mesh peers (degree between D_low and D_high), grafted and pruned
 * as nodes come and go, as gossipsub's heartbeat does
 */
export class Overlay {
  readonly adj: number[][]
  /** bumps on every change; shortest-path trees are cached per epoch */
  epoch = 0

  constructor (readonly n: number, private readonly params: GossipParams, random: Prng) {
    this.adj = Array.from({ length: n }, () => [])
    const stubs: number[] = []
    for (let v = 0; v < n; v++) for (let k = 0; k < Math.min(params.D, n - 1); k++) stubs.push(v)
    random.shuffle(stubs)
    for (let i = 0; i + 1 < stubs.length; i += 2) {
      const a = stubs[i]; const b = stubs[i + 1]
      if (a !== b && !this.has(a, b)) this.link(a, b)
    }
  }

  has (a: number, b: number): boolean {
    return this.adj[a].includes(b)
  }

  degree (v: number): number {
    return this.adj[v].length
  }

  link (a: number, b: number): void {
    this.adj[a].push(b)
    this.adj[b].push(a)
    this.epoch++
  }

  unlink (a: number, b: number): boolean {
    const ia = this.adj[a].indexOf(b)
    if (ia < 0) return false
    this.adj[a].splice(ia, 1)
    this.adj[b].splice(this.adj[b].indexOf(a), 1)
    this.epoch++
    return true
  }

  /** every edge of `v`, removed; returns the former neighbours */
  isolate (v: number): number[] {
    const former = this.adj[v].slice()
    for (const u of former) this.unlink(v, u)
    return former
  }

  /**
   * gossipsub's heartbeat maintenance for the nodes in `active`: graft
   * random `eligible` peers up to D when below Dlo, prune down to D when
   * above Dhi. Calls `onLink`/`onUnlink` for every change
   */
  maintain (active: Iterable<number>, eligible: (v: number, peer: number) => boolean, random: Prng, onLink: (a: number, b: number) => void, onUnlink: (a: number, b: number) => void): void {
    const { D, Dlo, Dhi } = this.params
    for (const v of active) {
      if (this.adj[v].length < Dlo) {
        for (let tries = 0; tries < 20 * D && this.adj[v].length < D; tries++) {
          const peer = random.int(this.n)
          if (peer === v || this.has(v, peer) || this.adj[peer].length >= Dhi || !eligible(v, peer)) continue
          this.link(v, peer)
          onLink(v, peer)
        }
      }
      while (this.adj[v].length > Dhi) {
        const peer = this.adj[v][random.int(this.adj[v].length)]
        this.unlink(v, peer)
        onUnlink(v, peer)
      }
    }
  }
}
