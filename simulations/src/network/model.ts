/**
 * The network model's parameters and the latency of every link.
 *
 * Each organization sits in one region. A link's one-way latency is drawn
 * once, from a log-normal distribution picked by the pair (same org: a LAN;
 * same region; a named pair of regions; any other pair of regions), and is
 * a pure function of (seed, the two nodes), so it needs no storage at
 * 10,000 nodes. Bandwidth turns a message's bytes into serialization delay
 * on every hop; `processing` is the per-hop cost of validating and
 * forwarding a gossip message.
 *
 * Gossip follows gossipsub v1.1/1.2 (see gossip.ts) as the host runs it,
 * from the one tuning both read (GOSSIPSUB_TUNING, node/src/core/
 * gossip-tuning.ts): today D = 3, Dlo = 2, Dhi = 4, Dlazy = 3, a 1 s
 * heartbeat, a message's id in IHAVE gossip for 1 heartbeat, and a publisher
 * that sends to its mesh peers only.
 */
import { CONNECTION_LIMITS, GOSSIPSUB_TUNING } from '@minga/node/core'
import { mix, unit } from '../engine/prng.js'

export interface LatencyDist {
  /** median one-way latency, ms */
  median: number
  /** log-normal shape; 0 = every link exactly the median */
  sigma: number
}

export interface GossipParams {
  D: number
  Dlo: number
  Dhi: number
  Dlazy: number
  /** gossipsub heartbeat, ms */
  heartbeat: number
  /** heartbeats a message id stays in IHAVE gossip (mcache_gossip) */
  historyGossip: number
  /** bytes of one message id in an IHAVE */
  idBytes: number
}

export interface NetworkParams {
  regions: string[]
  sameOrg: LatencyDist
  sameRegion: LatencyDist
  crossRegion: LatencyDist
  /** `a-b` (region names, either order) → latency between those regions */
  regionPairs: Record<string, LatencyDist>
  /** probability that one transmission on one link is lost */
  loss: number
  /** bytes per second a link carries */
  bandwidth: number
  /** per-hop cost of a gossip message, ms */
  processing: number
  /**
   * a killed process: its kernel resets its connections as it dies, and each peer sees the close the link's
   * one-way latency later, plus this, ms (0: on loopback a kill -9 is seen in tens of ms under load, the
   * refused dial included, sim-vs-real)
   */
  crashDisconnect: number
  /** a host or network gone silent: peers notice after this, ms (keep-alive timeout) */
  silentDisconnect: number
  /** after a partition heals, links come back after this, ms (the connector redials) */
  reconnect: number
  /** request/stream timeout when the peer never answers, ms (as Libp2pMesh) */
  requestTimeout: number
  /** connections a node keeps open at most (CONNECTION_LIMITS, as the host's connection manager; connections.ts) */
  maxConnections: number
  gossip: GossipParams
}

/** gossipsub as the host runs it (GOSSIPSUB_TUNING, read, not copied), plus the model's own size of a message id */
export const GOSSIPSUB: GossipParams = {
  D: GOSSIPSUB_TUNING.D,
  Dlo: GOSSIPSUB_TUNING.Dlo,
  Dhi: GOSSIPSUB_TUNING.Dhi,
  Dlazy: GOSSIPSUB_TUNING.Dlazy,
  heartbeat: GOSSIPSUB_TUNING.heartbeatInterval,
  historyGossip: GOSSIPSUB_TUNING.mcacheGossip,
  idBytes: 40
}

export const DEFAULT_NETWORK: NetworkParams = {
  regions: ['eu', 'us', 'sa'],
  sameOrg: { median: 0.5, sigma: 0.3 },
  sameRegion: { median: 8, sigma: 0.4 },
  crossRegion: { median: 70, sigma: 0.25 },
  regionPairs: { 'eu-us': { median: 45, sigma: 0.2 }, 'us-sa': { median: 60, sigma: 0.2 }, 'eu-sa': { median: 95, sigma: 0.2 } },
  loss: 0.001,
  bandwidth: 12_500_000,
  processing: 0.3,
  crashDisconnect: 0,
  silentDisconnect: 10_000,
  reconnect: 5_000,
  requestTimeout: 10_000,
  maxConnections: CONNECTION_LIMITS.maxConnections,
  gossip: GOSSIPSUB
}

/** one-way latency of every link, ms: fixed per link for the whole run */
export class LinkModel {
  private readonly pairDists: LatencyDist[][]

  constructor (
    readonly params: NetworkParams,
    private readonly seed: number,
    /** per node: org index and region index */
    private readonly org: Int32Array,
    private readonly region: Int32Array
  ) {
    const n = params.regions.length
    this.pairDists = Array.from({ length: n }, (_, a) => Array.from({ length: n }, (_, b) => {
      if (a === b) return params.sameRegion
      const [x, y] = [params.regions[a], params.regions[b]]
      return params.regionPairs[`${x}-${y}`] ?? params.regionPairs[`${y}-${x}`] ?? params.crossRegion
    }))
  }

  latency (a: number, b: number): number {
    const lo = a < b ? a : b
    const hi = a < b ? b : a
    const dist = this.org[a] === this.org[b] ? this.params.sameOrg : this.pairDists[this.region[a]][this.region[b]]
    if (dist.sigma === 0) return dist.median
    // Box–Muller from two link-fixed hashes
    const u = unit(mix(lo, hi, this.seed))
    const v = unit(mix(hi, lo, this.seed ^ 0x5bd1e995))
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
    return dist.median * Math.exp(dist.sigma * z)
  }

  /** ms to put `bytes` on the wire */
  serialization (bytes: number): number {
    return bytes / this.params.bandwidth * 1000
  }
}
