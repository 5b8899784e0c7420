/**
 * One simulated server: its identity and its store (a MemoryPersistence
 * that survives crashes, as a disk does), and while it runs, one
 * incarnation of the real node core (State, NodeCore with Liveness, Sync,
 * Reconciler) on a NodeClock, a SimMesh and a MemoryRuntime over its own
 * MemoryEngine (the host's container engine). A crash takes the host down
 * with its containers; a restart boots the same identity on the same store.
 */
import { namedLogger, EventLog, LruPlacementCache, MemoryEngine, MemoryRuntime, NodeCore, type MeshEvent, type Timing } from '@minga/node/core'
import { MemoryPersistence, State, type Entry, type Identity, type NodeRecord } from '@minga/protocol'
import { Prng } from '../engine/prng.js'
import { NodeClock, type VirtualClock } from '@minga/node/core'
import type { Network } from '../network/network.js'
import type { SimMesh } from '../network/sim-mesh.js'
import type { WireCache } from './wire-cache.js'

export interface Shared {
  sim: VirtualClock
  net: Network
  meshId: string
  root: string
  seed: number
  timing: Partial<Timing>
  verify: (meshId: string, entry: Entry) => boolean
  placementCache: LruPlacementCache
  wire: WireCache
  /** called for every core event of every node */
  onEvent: (node: SimNode, event: MeshEvent) => void
}

export interface Incarnation {
  clock: NodeClock
  mesh: SimMesh
  state: State
  core: NodeCore
  runtime: MemoryRuntime
  engine: MemoryEngine
  startedAt: number
}

const EVENTS_KEPT = 32
/** one logger for every simulated node (`DEBUG=minga:sim:*`): thousands of nodes share its components */
const SIM_LOGGER = namedLogger('minga:sim')

export class SimNode {
  readonly persistence = new MemoryPersistence()
  current?: Incarnation
  incarnations = 0
  /** gone for good (its organization vanished) */
  vanished = false

  constructor (
    readonly index: number,
    readonly identity: Identity,
    readonly org: string,
    readonly record: NodeRecord,
    readonly startDelayMs: number,
    readonly failureRate: number,
    private readonly shared: Shared
  ) {}

  get id (): string {
    return this.identity.peerId
  }

  get up (): boolean {
    return this.current !== undefined
  }

  async start (): Promise<void> {
    if (this.current !== undefined || this.vanished) return
    const { sim, net, meshId, root, verify, placementCache, timing, seed } = this.shared
    const n = ++this.incarnations
    const clock = new NodeClock(sim)
    const state = await State.open({ meshId, root, persistence: this.persistence, now: () => sim.now(), verify })
    const random = new Prng(seed, `node:${this.index}:${n}`)
    const engine = new MemoryEngine({
      now: () => sim.now(),
      delay: async (ms, signal) => { await clock.sleep(ms, signal) },
      startDelayMs: this.startDelayMs,
      failureRate: this.failureRate,
      random: () => random.next(),
      capacity: this.record.capacity
    })
    const runtime = new MemoryRuntime({ meshId, nodeId: this.id, engine })
    const mesh = net.attach(this.index)
    const events = new EventLog(EVENTS_KEPT)
    events.subscribe(event => { this.shared.onEvent(this, event) })
    const core = new NodeCore({
      identity: this.identity,
      state,
      mesh,
      clock,
      runtime,
      version: 'sim',
      capacity: this.record.capacity,
      labels: this.record.labels,
      timing,
      random: () => random.next(),
      placementCache,
      decode: this.shared.wire.decode,
      verifyHeartbeat: this.shared.wire.verifyHeartbeat,
      events,
      logger: SIM_LOGGER
    })
    this.current = { clock, mesh, state, core, runtime, engine, startedAt: sim.now() }
    await core.start()
  }

  /** the server dies: process, containers and (with `silent`) its network presence */
  kill (options: { silent?: boolean, vanish?: boolean } = {}): void {
    const current = this.current
    if (current === undefined) return
    this.current = undefined
    if (options.vanish === true) this.vanished = true
    current.clock.kill()
    this.shared.net.kill(this.index, { silent: options.silent === true || options.vanish === true })
    for (const c of current.engine.all()) current.engine.remove(c.id)
    void current.runtime.close()
  }
}
