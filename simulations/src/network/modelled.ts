/**
 * What the network's parts (gossip.ts, requests.ts) read and update of the
 * modelled network: the links, the overlays and their shortest paths, who
 * runs and who is reachable, the traffic counters. Network implements it.
 */
import type { RunDigest } from '../engine/digest.js'
import type { Prng } from '../engine/prng.js'
import type { VirtualClock } from '@minga/node/core'
import type { LinkModel, NetworkParams } from './model.js'
import type { Overlay } from './overlay.js'
import type { PathCache, Reach } from './paths.js'
import type { SimMesh } from './sim-mesh.js'
import type { Traffic } from './traffic.js'

export interface ModelledNetwork {
  readonly sim: VirtualClock
  readonly params: NetworkParams
  readonly peerIds: string[]
  readonly links: LinkModel
  readonly traffic: Traffic
  readonly digest: RunDigest
  readonly paths: PathCache
  readonly random: Prng
  /** the current process of every node, undefined while it is down */
  readonly meshes: Array<SimMesh | undefined>
  /** false once the host itself is gone (vanished) */
  readonly hostUp: Uint8Array
  /** partition side of every node */
  readonly group: Int32Array
  readonly reach: Reach
  readonly indexOf: Map<string, number>
  /** the topic's gossipsub overlay, made on first use */
  overlay: (topic: string) => Overlay
  topicCode: (topic: string) => number
  /** peer ids `v` has a connection to */
  connections: (v: number) => string[]
  /** `a` holds a connection to `b` */
  connected: (a: number, b: number) => boolean
  /** a dial from `a` reached `b`'s process: the connection stays (connections.ts) */
  keep: (a: number, b: number) => void
  /** both processes run and no partition separates them */
  reachable: (a: number, b: number) => boolean
  /** ms for `bytes` to cross from `a` to `b` on a connection of one-way `latency`, TCP retransmissions included */
  transit: (a: number, b: number, latency: number, bytes: number) => number
}
