/**
 * Who gets a gossip message when, in O(receivers): the shortest-path tree
 * from the publisher over the topic's overlay (Dijkstra, link latency plus
 * per-hop processing as weights), through nodes that are up and on the
 * publisher's side of any partition. With eager push along the mesh, the
 * first copy reaches each node along that path. Trees are cached per
 * (topic, publisher) and dropped when the overlay or the set of reachable
 * nodes changes, within a byte budget (least recently used go first).
 */
import type { Overlay } from './overlay.js'

export interface PathTree {
  overlayEpoch: number
  reachEpoch: number
  /** receivers, nearest first (the publisher excluded) */
  order: Int32Array
  /** ms from the publisher, per position in `order` */
  delay: Float32Array
  /** overlay hops, per position in `order` */
  hops: Uint8Array
}

export interface Reach {
  /** nodes a message may pass through from `source` */
  passable: (source: number, v: number) => boolean
  /** bumps whenever `passable` may answer differently */
  epoch: number
}

/**
 * shortest-path trees over an overlay (Dijkstra by latency), cached per source within a byte budget and dropped when the overlay or reachability changes
 */
export class PathCache {
  private readonly trees = new Map<string, PathTree>()
  private bytes = 0
  private readonly dist: Float64Array
  private readonly hopsOf: Uint8Array
  private readonly done: Uint8Array
  private heapNodes: Int32Array
  private heapKeys: Float64Array
  /** trees computed, for the speed report */
  computed = 0

  constructor (
    readonly n: number,
    private readonly weight: (a: number, b: number) => number,
    private readonly budgetBytes = 512 * 1024 * 1024
  ) {
    this.dist = new Float64Array(n)
    this.hopsOf = new Uint8Array(n)
    this.done = new Uint8Array(n)
    this.heapNodes = new Int32Array(16 * n + 16)
    this.heapKeys = new Float64Array(16 * n + 16)
  }

  tree (topic: string, overlay: Overlay, source: number, reach: Reach): PathTree {
    const key = `${topic}\n${source}`
    const cached = this.trees.get(key)
    if (cached !== undefined && cached.overlayEpoch === overlay.epoch && cached.reachEpoch === reach.epoch) {
      this.trees.delete(key)
      this.trees.set(key, cached)
      return cached
    }
    if (cached !== undefined) { this.trees.delete(key); this.bytes -= sizeOf(cached) }
    const tree = this.compute(overlay, source, reach)
    this.trees.set(key, tree)
    this.bytes += sizeOf(tree)
    while (this.bytes > this.budgetBytes && this.trees.size > 1) {
      const [oldest, old] = this.trees.entries().next().value as [string, PathTree]
      this.trees.delete(oldest)
      this.bytes -= sizeOf(old)
    }
    return tree
  }

  private compute (overlay: Overlay, source: number, reach: Reach): PathTree {
    this.computed++
    const { dist, hopsOf, done, n } = this
    dist.fill(Infinity)
    done.fill(0)
    const order = new Int32Array(n)
    const delay = new Float32Array(n)
    const hops = new Uint8Array(n)
    let count = 0
    let size = 0
    const push = (v: number, key: number): void => {
      if (size >= this.heapNodes.length) this.grow()
      let i = size++
      while (i > 0) {
        const p = (i - 1) >> 1
        if (this.heapKeys[p] <= key) break
        this.heapNodes[i] = this.heapNodes[p]; this.heapKeys[i] = this.heapKeys[p]
        i = p
      }
      this.heapNodes[i] = v; this.heapKeys[i] = key
    }
    const pop = (): number => {
      const top = this.heapNodes[0]
      const lastNode = this.heapNodes[--size]; const lastKey = this.heapKeys[size]
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= size) break
        const c = l + 1 < size && this.heapKeys[l + 1] < this.heapKeys[l] ? l + 1 : l
        if (this.heapKeys[c] >= lastKey) break
        this.heapNodes[i] = this.heapNodes[c]; this.heapKeys[i] = this.heapKeys[c]
        i = c
      }
      this.heapNodes[i] = lastNode; this.heapKeys[i] = lastKey
      return top
    }
    dist[source] = 0
    hopsOf[source] = 0
    push(source, 0)
    while (size > 0) {
      const u = pop()
      if (done[u] === 1) continue
      done[u] = 1
      if (u !== source) {
        order[count] = u; delay[count] = dist[u]; hops[count] = hopsOf[u]; count++
      }
      for (const v of overlay.adj[u]) {
        if (done[v] === 1 || !reach.passable(source, v)) continue
        const d = dist[u] + this.weight(u, v)
        if (d < dist[v]) {
          dist[v] = d
          hopsOf[v] = Math.min(255, hopsOf[u] + 1)
          push(v, d)
        }
      }
    }
    return { overlayEpoch: overlay.epoch, reachEpoch: reach.epoch, order: order.slice(0, count), delay: delay.slice(0, count), hops: hops.slice(0, count) }
  }

  private grow (): void {
    const nodes = new Int32Array(this.heapNodes.length * 2); nodes.set(this.heapNodes); this.heapNodes = nodes
    const keys = new Float64Array(this.heapKeys.length * 2); keys.set(this.heapKeys); this.heapKeys = keys
  }
}

function sizeOf (tree: PathTree): number {
  return tree.order.length * 9 + 64
}
