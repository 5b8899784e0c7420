/**
 * The modelled network: which node processes run, which hosts are
 * reachable, partitions, the per-topic gossipsub overlays, the connections
 * the nodes keep, and the peer events the core sees.
 *
 * A node's connections are its overlay neighbours (over all topics) and
 * every peer it exchanged anything with since (a request, a stream, a
 * dial), as libp2p keeps them, up to `maxConnections` (connections.ts).
 * When a process is killed each peer holding a connection to it sees the
 * close when the kernel's reset reaches it (the link's latency, plus
 * `crashDisconnect`); when a host or a link goes silent (an organization
 * vanishing, a partition), after `silentDisconnect` (keep-alive timeout).
 * Overlays are then repaired at the next gossipsub heartbeat; a gossipsub
 * PRUNE leaves the connection open. Messages never cross a partition; after
 * a heal the cut overlay links come back after `reconnect`, other
 * connections at the next exchange.
 */
import type { AbortOptions, ProbeResult } from '@minga/node/core'
import type { RunDigest } from '../engine/digest.js'
import { Prng } from '../engine/prng.js'
import type { VirtualClock } from '@minga/node/core'
import { publishGossip } from './gossip.js'
import { Connections } from './connections.js'
import { LinkModel, type NetworkParams } from './model.js'
import type { ModelledNetwork } from './modelled.js'
import { Overlay } from './overlay.js'
import { PathCache, type Reach } from './paths.js'
import { sendRequest, openStream } from './requests.js'
import { SimMesh, type MeshNetwork } from './sim-mesh.js'
import { Traffic } from './traffic.js'

export interface NetworkInit {
  sim: VirtualClock
  params: NetworkParams
  seed: number
  peerIds: string[]
  org: Int32Array
  region: Int32Array
  digest: RunDigest
  /** byte budget of cached shortest-path trees */
  pathBudget?: number
}

const MAX_ERRORS = 20
/** Linux's minimum retransmission timeout, and where we stop doubling (the connection is then as good as gone), ms */
const MIN_RTO = 200
const MAX_RTO = 60_000
/** how long Libp2pMesh.probe waits for a dial */
const PROBE_TIMEOUT = 1000

/** the modelled network of a run: one per simulation */
export class Network implements ModelledNetwork, MeshNetwork {
  readonly sim: VirtualClock
  readonly params: NetworkParams
  readonly peerIds: string[]
  readonly n: number
  readonly links: LinkModel
  readonly traffic: Traffic
  readonly digest: RunDigest
  readonly paths: PathCache
  readonly random: Prng
  /** draws of TCP losses, apart from the rest so a run's other draws stay put */
  private readonly lossRandom: Prng
  /** the current process of every node, undefined while it is down */
  readonly meshes: Array<SimMesh | undefined>
  /** false once the host itself is gone (vanished) */
  readonly hostUp: Uint8Array
  /** partition side of every node; one side when 0 everywhere */
  readonly group: Int32Array
  /** extra ms every message to or from the node takes (a slow node) */
  readonly slowness: Float64Array
  readonly overlays = new Map<string, Overlay>()
  readonly topicCodes = new Map<string, number>()
  readonly reach: Reach
  readonly indexOf = new Map<string, number>()
  /** the connections every node keeps */
  readonly conns: Connections
  /** exceptions thrown by core handlers; the run goes on, the report shows them */
  readonly errors: string[] = []
  errorCount = 0
  private readonly dirty = new Set<number>()
  private maintenanceDue = false
  private partitionId = 0
  private cut: Array<[string, number, number]> = []

  constructor (init: NetworkInit) {
    this.sim = init.sim
    this.params = init.params
    this.peerIds = init.peerIds
    this.n = init.peerIds.length
    this.digest = init.digest
    this.random = new Prng(init.seed, 'network')
    this.lossRandom = new Prng(init.seed, 'tcp-loss')
    this.links = new LinkModel(init.params, init.seed, init.org, init.region)
    this.traffic = new Traffic(this.n)
    this.meshes = new Array(this.n).fill(undefined)
    this.hostUp = new Uint8Array(this.n).fill(1)
    this.group = new Int32Array(this.n)
    this.slowness = new Float64Array(this.n)
    this.conns = new Connections(this.n, init.params.maxConnections)
    init.peerIds.forEach((id, i) => this.indexOf.set(id, i))
    const processing = init.params.processing
    this.paths = new PathCache(this.n, (a, b) => this.links.latency(a, b) + processing, init.pathBudget)
    const meshes = this.meshes
    const group = this.group
    this.reach = { epoch: 0, passable: (source, v) => meshes[v] !== undefined && group[v] === group[source] }
  }

  isUp (v: number): boolean {
    return this.meshes[v] !== undefined
  }

  /** both processes run and no partition separates them */
  reachable (a: number, b: number): boolean {
    return this.meshes[a] !== undefined && this.meshes[b] !== undefined && this.group[a] === this.group[b]
  }

  overlay (topic: string): Overlay {
    let overlay = this.overlays.get(topic)
    if (overlay === undefined) {
      overlay = new Overlay(this.n, this.params.gossip, this.random.fork(`overlay:${topic}`))
      this.overlays.set(topic, overlay)
      this.topicCodes.set(topic, this.topicCodes.size + 1)
      for (let a = 0; a < this.n; a++) for (const b of overlay.adj[a]) if (a < b) this.connect(a, b, true)
    }
    return overlay
  }

  topicCode (topic: string): number {
    return this.topicCodes.get(topic) ?? 0
  }

  /** a node process starts: a new Mesh, grafted into every overlay */
  attach (v: number): SimMesh {
    if (this.meshes[v] !== undefined) throw new Error(`node ${v} is already up`)
    const mesh = new SimMesh(this, v)
    // connections of a former process that no peer saw close yet (a host back before its keep-alive ran out) are
    // reset by the first packet that reaches the new one
    for (const u of [...this.conns.of(v)]) this.disconnect(v, u)
    this.meshes[v] = mesh
    this.hostUp[v] = 1
    this.bumpReach()
    this.dirty.add(v)
    this.maintainSoon()
    return mesh
  }

  /** the process dies; with `silent`, the host or its network goes too (no RST reaches anyone) */
  kill (v: number, options: { silent?: boolean } = {}): void {
    const mesh = this.meshes[v]
    if (mesh === undefined) return
    mesh.close()
    this.meshes[v] = undefined
    if (options.silent === true) this.hostUp[v] = 0
    this.bumpReach()
    const close = (u: number): void => { if (this.meshes[v] === undefined) this.disconnect(v, u) }
    if (options.silent === true) {
      this.sim.after(this.params.silentDisconnect, () => { for (const u of [...this.conns.of(v)]) close(u) })
      return
    }
    // the kernel resets the dead process's connections at once: each peer sees its own close when the reset arrives
    for (const u of this.conns.of(v)) this.sim.after(this.crashClose(v, u), () => { close(u) })
  }

  /** ms from the death of node `dead`'s process until `peer` sees their connection close: the reset crosses the link, plus `crashDisconnect` */
  crashClose (dead: number, peer: number): number {
    return this.links.latency(dead, peer) + this.params.crashDisconnect
  }

  /** split the mesh: `side(v)` gives each node's side */
  partition (side: (v: number) => number): void {
    const id = ++this.partitionId
    for (let v = 0; v < this.n; v++) this.group[v] = side(v)
    this.bumpReach()
    this.sim.after(this.params.silentDisconnect, () => {
      if (this.partitionId !== id) return
      for (const [topic, overlay] of this.overlays) {
        for (let a = 0; a < this.n; a++) {
          for (const b of overlay.adj[a]) if (a < b && this.group[a] !== this.group[b]) this.cut.push([topic, a, b])
        }
      }
      for (let a = 0; a < this.n; a++) {
        for (const b of [...this.conns.of(a)]) if (a < b && this.group[a] !== this.group[b]) this.disconnect(a, b)
      }
    })
  }

  heal (): void {
    const id = ++this.partitionId
    this.group.fill(0)
    this.bumpReach()
    const cut = this.cut
    this.cut = []
    this.sim.after(this.params.reconnect, () => {
      if (this.partitionId !== id) return
      for (const [topic, a, b] of cut) {
        const overlay = this.overlays.get(topic)!
        if (this.reachable(a, b) && !overlay.has(a, b)) this.link(overlay, a, b)
      }
    })
  }

  connections (v: number): string[] {
    return [...this.conns.of(v)].map(u => this.peerIds[u])
  }

  connectedTo (v: number, peer: string): boolean {
    const u = this.indexOf.get(peer)
    return u !== undefined && this.conns.has(v, u)
  }

  /** `a` holds a connection to `b` (a request needs no dial) */
  connected (a: number, b: number): boolean {
    return this.conns.has(a, b)
  }

  /**
   * a dial from `a` reached `b`'s running process (a request, a stream, a probe): the connection stays open, as
   * libp2p keeps it, while both ends are below `maxConnections`
   */
  keep (a: number, b: number): void {
    if (this.reachable(a, b)) this.connect(a, b, false)
  }

  publish (v: number, topic: string, data: Uint8Array): void {
    publishGossip(this, v, topic, data)
  }

  request (from: SimMesh, peer: string, protocol: string, data: Uint8Array, options: AbortOptions): Promise<Uint8Array> {
    return sendRequest(this, from, peer, protocol, data, options)
  }

  stream (from: SimMesh, peer: string, protocol: string, data: Uint8Array, options: AbortOptions): AsyncIterable<Uint8Array> {
    return openStream(this, from, peer, protocol, data, options)
  }

  /**
   * Dial `peer` from `from`: the SYN arrives after the link's latency; a
   * running process answers (`up`), a host whose process died answers with a
   * reset (`refused`), and a vanished host or one across a partition does not
   * answer within the probe timeout (`silent`, as the host's port probe says);
   * an unknown peer gives `unknown`
   */
  async probe (from: SimMesh, peer: string): Promise<ProbeResult> {
    const u = this.indexOf.get(peer)
    const v = from.index
    if (u === undefined) return 'unknown'
    const oneWay = this.links.latency(v, u) + this.params.processing
    await this.sleep(oneWay)
    const answered = this.hostUp[u] === 1 && this.group[u] === this.group[v]
    if (!answered) {
      await this.sleep(Math.max(0, PROBE_TIMEOUT - oneWay))
      return from.closed ? 'unknown' : 'silent'
    }
    const result = this.meshes[u] !== undefined ? 'up' : 'refused'
    // a libp2p dial (Libp2pMesh.probe): the connection it opened stays, and costs both processes its life (`dial`) as a
    // request's dial does (requests.ts), kept or not
    if (result === 'up' && !from.closed) {
      if (!this.conns.has(v, u)) for (const mesh of [from, this.meshes[u]!]) mesh.io(() => {}, 'dial')
      this.keep(v, u)
    }
    await this.sleep(oneWay)
    return from.closed ? 'unknown' : result
  }

  /**
   * ms for `bytes` to cross the link from `a` to `b` on a connection: the
   * link's latency, serialization, the nodes' slowness, and for each lost
   * segment TCP's retransmission timeout (at least 200 ms, as Linux's
   * minimum RTO; doubling each time)
   */
  transit (a: number, b: number, latency: number, bytes: number): number {
    let ms = latency + this.links.serialization(bytes) + this.slowness[a] + this.slowness[b]
    const loss = this.params.loss
    let rto = Math.max(MIN_RTO, 4 * latency)
    while (loss > 0 && this.lossRandom.next() < loss && rto < MAX_RTO) {
      ms += rto
      rto *= 2
    }
    return ms
  }

  private async sleep (ms: number): Promise<void> {
    await new Promise<void>(resolve => { this.sim.after(ms, resolve) })
  }

  /** run a core callback; an exception is recorded, not fatal to the run */
  guard (fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.errorCount++
      if (this.errors.length < MAX_ERRORS) this.errors.push(`${new Date(this.sim.now()).toISOString()} ${err instanceof Error ? err.stack ?? err.message : String(err)}`)
    }
  }

  private bumpReach (): void {
    this.reach.epoch++
  }

  private link (overlay: Overlay, a: number, b: number): void {
    overlay.link(a, b)
    this.connect(a, b, true)
  }

  /** a connection opened (`tagged`: a gossipsub mesh link, kept whatever the limit); both processes hear of it */
  private connect (a: number, b: number, tagged: boolean): void {
    if (!this.conns.open(a, b, tagged)) return
    this.meshes[a]?.peerEvent('connect', this.peerIds[b])
    this.meshes[b]?.peerEvent('connect', this.peerIds[a])
  }

  /** the connection between `a` and `b` closed: gone from every overlay (repaired at the next heartbeat); both hear of it */
  private disconnect (a: number, b: number): void {
    if (!this.conns.close(a, b)) return
    for (const overlay of this.overlays.values()) {
      if (overlay.unlink(a, b)) { this.dirty.add(a); this.dirty.add(b); this.maintainSoon() }
    }
    this.meshes[a]?.peerEvent('disconnect', this.peerIds[b])
    this.meshes[b]?.peerEvent('disconnect', this.peerIds[a])
  }

  /** gossipsub's heartbeat repairs the overlays of the nodes touched since the last one */
  private maintainSoon (): void {
    if (this.maintenanceDue) return
    this.maintenanceDue = true
    const period = this.params.gossip.heartbeat
    this.sim.after(period - (this.sim.elapsed % period), () => {
      this.maintenanceDue = false
      const active = [...this.dirty].filter(v => this.meshes[v] !== undefined).sort((a, b) => a - b)
      this.dirty.clear()
      const eligible = (v: number, peer: number): boolean => this.reachable(v, peer)
      for (const overlay of this.overlays.values()) {
        // a graft opens (or reuses) a connection; a PRUNE leaves it open, as gossipsub does
        overlay.maintain(active, eligible, this.random, (a, b) => this.connect(a, b, true), () => {})
      }
    })
  }
}
