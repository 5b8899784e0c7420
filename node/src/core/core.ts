/**
 * The node core, sans I/O: membership and liveness, state sync, admission
 * and the reconcile loop, wired to a Clock, a Mesh and a Runtime. The
 * daemon binds them to timers, libp2p and Docker; the simulator to a
 * virtual clock, a modelled network and a modelled runtime.
 */
import { canonicalJson, keys, type HeartbeatMessage, type Identity, type NodeRecord, type Resources, type ServiceSpec, type State, type WireMessage } from '@minga/protocol'
import type { ReplicaSpec, Runtime } from '../runtime/types.js'
import type { Clock } from './clock.js'
import { EventLog } from './events/event-log.js'
import { EventWatch } from './events/event-watch.js'
import { MeshEvents } from './events/mesh-events.js'
import { ClockOffsets, clockVerdict, type ClockOffset } from './liveness/clock-offset.js'
import { Liveness } from './liveness/liveness.js'
import { gatherLogs, replicaHolders, type GatherLogsOptions, type LogItem } from './logs/logs-gather.js'
import { LogsServer } from './logs/logs-server.js'
import { nodeLogger, type ComponentLogger } from './logger.js'
import type { Mesh } from './mesh.js'
import { configFilesOf } from './ops/configs.js'
import { MeshRouteView } from './ingress/view.js'
import type { WebPorts } from './ingress/routes.js'
import { Operations } from './ops/operations.js'
import type { PlacementCache } from './reconcile/placement-cache.js'
import { Reconciler } from './reconcile/reconciler.js'
import { Sync } from './sync/sync.js'
import { DEFAULT_TIMING, scaledTiming, type Timing } from './timing.js'
import { Admission } from './trust/admission.js'
import { Secrets } from './trust/secrets.js'
import { VolumeKeeper, type VolumeTiming } from './volumes/keeper.js'
import { VolumeVerbs } from './volumes/verbs.js'
import type { LineageRecords, VolumeBackend } from './volumes/types.js'
import { Trust } from './trust/trust.js'

export interface NodeCoreInit {
  identity: Identity
  state: State
  mesh: Mesh
  clock: Clock
  runtime: Runtime
  version: string
  /** what this node offers; defaults to what the runtime reports */
  capacity?: Resources
  labels?: Record<string, string>
  acceptOrgs?: string[]
  shareForOthers?: number
  /** addresses other members dial to reach this node */
  addrs?: () => string[]
  /** addresses of this node's door, for joiners */
  door?: () => string[]
  timing?: Partial<Timing>
  random?: () => number
  placementCache?: PlacementCache
  /** the simulator shares caches of decoded wire messages and heartbeat verdicts between its nodes */
  decode?: (data: Uint8Array) => WireMessage
  verifyHeartbeat?: (meshId: string, heartbeat: HeartbeatMessage) => boolean
  events?: EventLog
  /** default: `nodeLogger(peerId)`, `minga:<node>:<component>` (DEBUG=minga:*) */
  logger?: ComponentLogger
  /** this node's shared web ports (default 80 and 443): deploys may not publish them while host names are routed there */
  webPorts?: WebPorts
  /**
   * the node's volumes and their backups (the daemon's Docker volumes and
   * restic through the mesh; the simulator's model): without them volumes
   * stay local, as Docker keeps them
   */
  volumes?: { backend: VolumeBackend, lineage: LineageRecords, timing?: Partial<VolumeTiming> }
  /** the org's recovery key, on a node that joined with it: it opens what was sealed to the org's lost nodes (trust/secrets.ts) */
  recovery?: { identity: Identity, done: () => void }
}

/**
 * One node's core, wired: every service takes the components it uses, and
 * `start()` / `stop()` run them in order. Read it as the house's plan: who
 * hears what (liveness feeds sync, trust, secrets and the reconcile loop;
 * the reconcile loop feeds the heartbeat), and what operators reach
 * (`operations`, `trust`, `secrets`). Throws nothing at construction;
 * `start()` rejects when the runtime cannot report its capacity
 */
export class NodeCore {
  readonly identity: Identity
  /** this node's peer id */
  readonly self: string
  readonly state: State
  readonly clock: Clock
  readonly events: EventLog
  readonly timing: Timing
  readonly liveness: Liveness
  readonly sync: Sync
  readonly admission: Admission
  readonly reconciler: Reconciler
  readonly trust: Trust
  readonly secrets: Secrets
  /** volumes that follow their service: restores, snapshots, lineage (when the node has a volume backend) */
  readonly volumes?: VolumeKeeper
  /** the volumes verbs (`minga volumes`, `backup`, `restore`), with the room */
  readonly volumeVerbs?: VolumeVerbs
  readonly logs: LogsServer
  readonly meshEvents: MeshEvents
  readonly eventWatch: EventWatch
  /** what people ask this node to do and show (the control API and the simulator call it) */
  readonly operations: Operations
  /** the routing mesh's view: services, healthy replicas here and elsewhere, and when they change */
  readonly routes: MeshRouteView
  /** how far this node's clock is from its peers', from their heartbeats */
  readonly clockOffsets = new ClockOffsets()
  private capacity: Resources = { cpu: 0, memory: 0 }
  private started = false

  constructor (private readonly init: NodeCoreInit) {
    this.identity = init.identity
    this.self = init.identity.peerId
    this.state = init.state
    this.clock = init.clock
    this.events = init.events ?? new EventLog()
    this.timing = scaledTiming({ ...DEFAULT_TIMING, ...init.timing }, Math.max(1, init.state.memberCount))
    const random = init.random ?? Math.random
    const logger = init.logger ?? nodeLogger(init.identity.peerId)
    const common = { identity: init.identity, state: init.state, clock: init.clock, timing: this.timing, events: this.events, logger }
    this.liveness = new Liveness({
      ...common,
      mesh: init.mesh,
      version: init.version,
      decode: init.decode,
      verifyHeartbeat: init.verifyHeartbeat,
      heard: (peer, heartbeat, at) => this.clockOffsets.sample(peer, heartbeat.time, at),
      report: () => ({
        capacity: this.capacity,
        allocated: this.reconciler.allocated(),
        labels: this.init.labels ?? {},
        replicas: this.reconciler.replicaReport(),
        addrs: this.init.addrs?.() ?? [],
        problems: this.reconciler.problemReport()
      })
    })
    this.sync = new Sync({ ...common, mesh: init.mesh, liveness: this.liveness, random, decode: init.decode })
    this.admission = new Admission(common)
    this.trust = new Trust({ ...common, liveness: this.liveness })
    this.secrets = new Secrets({ ...common, liveness: this.liveness, recovery: init.recovery })
    if (init.volumes !== undefined) {
      this.volumes = new VolumeKeeper({
        ...common,
        meshId: init.state.meshId,
        mesh: init.mesh,
        liveness: this.liveness,
        backend: init.volumes.backend,
        lineage: init.volumes.lineage,
        readers: (org, service) => this.secrets.readers(org, service),
        open: (key, sealed) => this.secrets.open(key, sealed),
        exec: init.runtime.exec === undefined ? undefined : async (id, cmd, options) => await init.runtime.exec!(id, cmd, options),
        restart: (containerId, reason) => { this.reconciler.restartReplica(containerId, reason) },
        volumeTiming: init.volumes.timing
      })
      const keeper = this.volumes
      this.volumeVerbs = new VolumeVerbs({
        keeper,
        mesh: init.mesh,
        meshId: init.state.meshId,
        live: () => this.liveness.live(),
        holdersOf: (service, replica) => [...this.liveness.reportsFor(service)].filter(([peer, reports]) => peer !== this.self && this.liveness.status(peer) !== 'dead' && reports.some(r => r.replica === replica)).map(([peer]) => peer),
        now: () => init.clock.now()
      })
    }
    this.reconciler = new Reconciler({ ...common, liveness: this.liveness, runtime: init.runtime, placementCache: init.placementCache, inputs: (spec) => this.replicaInputs(spec), volumes: this.volumes })
    // operating the mesh: logs and events served to members, events nobody else emits
    const self = init.identity.peerId
    const isMember = (peer: string): boolean => init.state.memberOrg(peer) !== undefined && init.state.revoked(peer) === undefined
    this.logs = new LogsServer({ ...common, mesh: init.mesh, runtime: init.runtime, containers: () => this.reconciler.containers() })
    this.meshEvents = new MeshEvents({ self, meshId: init.state.meshId, mesh: init.mesh, clock: init.clock, events: this.events, isMember, live: () => this.liveness.live() })
    this.eventWatch = new EventWatch({
      self,
      state: init.state,
      clock: init.clock,
      events: this.events,
      assignment: () => this.reconciler.currentAssignment(),
      containers: () => this.reconciler.containers(),
      status: (peer) => this.liveness.status(peer),
      live: () => this.liveness.live(),
      syncPulled: () => this.sync.stats.pulled,
      digest: () => init.state.digest(),
      clockVerdict: () => clockVerdict(this.clockOffset(), init.state.maxClockAhead),
      peerDigests: () => this.liveness.all().flatMap(p => p.status !== 'dead' && p.heartbeat !== undefined ? [{ id: p.id, digest: p.heartbeat.digest }] : []),
      // what it watches changes at heartbeat pace: large meshes stretch both
      intervalMs: Math.max(1000, this.timing.heartbeatInterval)
    })
    this.operations = new Operations({
      self,
      identity: init.identity,
      state: init.state,
      clock: init.clock,
      events: this.events,
      liveness: this.liveness,
      reconciler: this.reconciler,
      clockOffset: () => this.clockOffset(),
      disagreeingFor: (peer) => this.eventWatch.disagreeingFor(peer),
      readLogs: (options) => this.readLogs(options),
      meshEvents: this.meshEvents,
      ...(init.webPorts === undefined ? {} : { webPorts: init.webPorts })
    })
    this.routes = new MeshRouteView({ self, state: init.state, liveness: this.liveness, reconciler: this.reconciler })
  }

  /** ms for which a peer's heartbeats have shown another state digest than this node holds (0: they agree) */
  disagreeingFor (peer: string): number {
    return this.eventWatch.disagreeingFor(peer)
  }

  /** this node's clock against the mesh's, from the heartbeats of the peers it hears now; undefined before any */
  clockOffset (): ClockOffset | undefined {
    return this.clockOffsets.estimate(this.liveness.all().filter(p => p.status === 'alive').map(p => p.id), this.state.maxClockAhead)
  }

  /** the logs of a service's replicas from every node that runs them, merged by time */
  readLogs (options: GatherLogsOptions): AsyncGenerator<LogItem> {
    return gatherLogs({
      self: this.identity.peerId,
      meshId: this.state.meshId,
      mesh: this.init.mesh,
      clock: this.clock,
      server: this.logs,
      locate: (service, replicas) => replicaHolders(this, service, replicas),
      alive: (peer) => this.liveness.status(peer) !== 'dead'
    }, options)
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.capacity = this.init.capacity ?? await this.init.runtime.capacity()
    await this.announce()
    this.liveness.start()
    this.sync.start()
    this.logs.start()
    this.meshEvents.start()
    this.eventWatch.start()
    this.trust.start()
    this.secrets.start()
    this.volumes?.start()
    await this.reconciler.start()
    this.routes.start()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.routes.stop()
    await this.reconciler.stop()
    this.volumes?.stop()
    this.eventWatch.stop()
    this.meshEvents.stop()
    this.logs.stop()
    this.sync.stop()
    this.secrets.stop()
    this.trust.stop()
    this.liveness.stop()
  }

  /** a replica's secrets (as environment and files) and config files, opened and assembled on this node */
  private replicaInputs (spec: ServiceSpec): Pick<ReplicaSpec, 'secretEnv' | 'files'> {
    const secrets = this.secrets.inputsFor(spec)
    const files = [...configFilesOf(this.init.state, spec), ...(secrets.files ?? [])]
    return { ...(secrets.env === undefined ? {} : { secretEnv: secrets.env }), ...(files.length === 0 ? {} : { files }) }
  }

  /** write this node's record (labels, capacity, policy, addresses) when it changed */
  async announce (): Promise<void> {
    const record: NodeRecord = { labels: this.init.labels ?? {}, addrs: this.init.addrs?.() ?? [], capacity: this.capacity }
    const door = this.init.door?.() ?? []
    if (door.length > 0) record.door = door
    if (this.init.acceptOrgs !== undefined) record.acceptOrgs = this.init.acceptOrgs
    if (this.init.shareForOthers !== undefined) record.shareForOthers = this.init.shareForOthers
    const current = this.state.value(keys.node(this.identity.peerId))
    if (current !== undefined && canonicalJson(current) === canonicalJson(record)) return
    if (this.state.memberOrg(this.identity.peerId) === undefined) return
    await this.state.write(this.identity, keys.node(this.identity.peerId), record)
  }
}
