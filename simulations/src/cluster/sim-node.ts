/**
 * One simulated server: its identity and its store (a MemoryPersistence
 * that survives crashes, as a disk does), and while it runs, one
 * incarnation of the real node core (State, NodeCore with Liveness, Sync,
 * Reconciler) on a NodeClock, a SimMesh and a MemoryRuntime over its own
 * MemoryEngine (the host's container engine). A crash takes the host down
 * with its containers; a restart boots the same identity on the same store.
 * A kill of the process only (`process: true`) leaves the host and its
 * containers running: the node's supervisor (the real Watchdog on the
 * host's clock) stops them after its grace unless minga is back by then,
 * and a restart adopts what still runs.
 */
import { namedLogger, EventLog, LruPlacementCache, MemoryEngine, MemoryRuntime, NO_REAPER, NodeCore, runtimeEngine, Watchdog, type MeshEvent, type Timing } from '@minga/node/core'
import { MemoryPersistence, State, type Entry, type Identity, type NodeRecord, type StateImage, type StoreFactory } from '@minga/protocol'
import { Prng } from '../engine/prng.js'
import { NodeClock, type CpuModel, type VirtualClock } from '@minga/node/core'
import type { Network } from '../network/network.js'
import type { SimMesh } from '../network/sim-mesh.js'
import type { VolumePeer, SimVolumes } from './volumes.js'
import type { SharedStore, SharedStoreFactory } from '../engine/shared-store.js'
import type { Member } from '@minga/node'
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
  /** the volumes model, in scenarios with volumes (none: the core runs without a volume backend) */
  volumes?: SimVolumes
  /** the routing mesh's model (SimIngress), in scenarios with clients: every process serves its forward protocol */
  ingress?: { serve: (node: SimNode) => void }
  /** the maps of every node's state and disk, shared where nodes agree */
  stores: SharedStoreFactory
  /** where every node starts (Cluster: the genesis): its disk's maps, and its first State's (forks of one filled once) */
  start: {
    disk: StoreFactory
    image: () => StateImage
    /** entries the one replay installed */
    installs: number
  }
  /** a warm mesh's member table (cluster/warm.ts): each node's first process starts with a copy */
  warmMembers?: SharedStore<Member>
  /** called for every core event of every node */
  onEvent: (node: SimNode, event: MeshEvent) => void
  /** the CPU model of node `index`'s next process, in scenarios that charge CPU (scenario `cpu:`) */
  cpu?: (index: number) => CpuModel
}

export interface Incarnation {
  clock: NodeClock
  mesh: SimMesh
  state: State
  core: NodeCore
  runtime: MemoryRuntime
  engine: MemoryEngine
  startedAt: number
  /** settles when this process dies */
  died: Promise<void>
  die: () => void
}

/** the host: its engine outlives minga's process, not the host's own crash */
interface Host {
  engine: MemoryEngine
  clock: NodeClock
  /** the node's supervisor, from the first kill of the process only (earlier it would only watch) */
  supervisor?: Watchdog
}

const EVENTS_KEPT = 32
/** one logger for every simulated node (`DEBUG=minga:sim:*`): thousands of nodes share its components */
const SIM_LOGGER = namedLogger('minga:sim')

/**
 * one simulated server (see above): `start()` boots an incarnation of the real core, `kill()` takes the host down with its containers
 */
export class SimNode implements VolumePeer {
  readonly persistence: MemoryPersistence
  current?: Incarnation
  private host?: Host
  incarnations = 0
  /** gone for good (its organization vanished) */
  vanished = false
  /** virtual ms when its process last died (undefined before its first death) */
  diedAt?: number

  constructor (
    readonly index: number,
    readonly identity: Identity,
    readonly org: string,
    readonly record: NodeRecord,
    readonly startDelayMs: number,
    readonly failureRate: number,
    private readonly shared: Shared
  ) {
    this.persistence = new MemoryPersistence(shared.start.disk)
  }

  get id (): string {
    return this.identity.peerId
  }

  get up (): boolean {
    return this.current !== undefined
  }

  /** the host's engine while the host runs, whether minga's process does or not */
  get engine (): MemoryEngine | undefined {
    return this.host?.engine
  }

  /** replicas running on the host, whether minga's process runs or not */
  running (): Array<{ service: string, replica: number }> {
    const engine = this.host?.engine
    if (engine === undefined) return []
    return engine.all().filter(c => c.state === 'running').map(c => c.replica)
  }

  async start (): Promise<void> {
    if (this.current !== undefined || this.vanished) return
    const { sim, net, meshId, root, verify, placementCache, timing, seed } = this.shared
    const n = ++this.incarnations
    const clock = new NodeClock(sim, this.shared.cpu?.(this.index))
    // the first process opens on the genesis disk it was given: it starts from the genesis state's maps (forks), not a replay
    const image = n === 1 ? this.shared.start.image() : undefined
    const state = await State.open({ meshId, root, persistence: this.persistence, now: () => sim.now(), verify, stores: this.shared.stores, image })
    const random = new Prng(seed, `node:${this.index}:${n}`)
    const host = this.host ?? this.boot(random)
    const engine = host.engine
    const runtime = new MemoryRuntime({ meshId, nodeId: this.id, engine })
    const mesh = net.attach(this.index)
    mesh.io = (fn, step) => { clock.io(fn, step) }
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
      encode: this.shared.wire.encode,
      verifyAlive: this.shared.wire.verifyAlive,
      memberStore: n === 1 && this.shared.warmMembers !== undefined ? this.shared.warmMembers.fork() : this.shared.stores('members'),
      events,
      logger: SIM_LOGGER,
      ...(this.shared.volumes === undefined ? {} : { volumes: this.shared.volumes.forProcess(this.index, this.id, clock) })
    })
    let die = (): void => {}
    const died = new Promise<void>(resolve => { die = resolve })
    this.current = { clock, mesh, state, core, runtime, engine, startedAt: sim.now(), died, die }
    this.shared.ingress?.serve(this)
    host.supervisor?.attach()
    await core.start()
  }

  /** the node's CPU stalls for `ms`: its timers and what arrives for it wait (NodeClock.stall) */
  stall (ms: number): void {
    this.current?.clock.stall(ms)
  }

  /** the host comes up: an empty engine on a clock of its own */
  private boot (random: Prng): Host {
    const clock = new NodeClock(this.shared.sim)
    const engine = new MemoryEngine({
      now: () => this.shared.sim.now(),
      delay: async (ms, signal) => { await clock.sleep(ms, signal) },
      startDelayMs: this.startDelayMs,
      failureRate: this.failureRate,
      random: () => random.next(),
      capacity: this.record.capacity
    })
    this.host = { engine, clock }
    return this.host
  }

  /**
   * The server dies: process, containers and (with `silent`) its network
   * presence. With `process`, only minga's process: its containers run on
   * until the supervisor stops them (none with `supervised: false`)
   */
  kill (options: { silent?: boolean, vanish?: boolean, process?: boolean, supervised?: boolean } = {}): void {
    const current = this.current
    if (current === undefined) return
    this.current = undefined
    this.diedAt = this.shared.sim.now()
    if (options.vanish === true) this.vanished = true
    current.clock.kill()
    current.die()
    const host = this.host
    if (options.process === true && host !== undefined && options.vanish !== true) {
      this.shared.net.kill(this.index, { silent: false })
      void current.runtime.close()
      if (options.supervised === false) return
      if (host.supervisor === undefined || host.supervisor.state === 'done') host.supervisor = this.supervise(host)
      host.supervisor.detached(false)
      return
    }
    this.shared.net.kill(this.index, { silent: options.silent === true || options.vanish === true })
    for (const c of current.engine.all()) current.engine.remove(c.id)
    void current.runtime.close()
    host?.clock.kill()
    host?.supervisor?.stop()
    this.host = undefined
  }

  /** the node's supervisor, as attached to the process that just died */
  private supervise (host: Host): Watchdog {
    const runtime = new MemoryRuntime({ meshId: this.shared.meshId, nodeId: this.id, engine: host.engine })
    const supervisor = new Watchdog({ engine: runtimeEngine(runtime), reaper: NO_REAPER, clock: host.clock })
    supervisor.start()
    supervisor.attach()
    return supervisor
  }
}
