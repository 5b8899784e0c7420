/**
 * The node core, sans I/O: membership (who is live), state sync, admission
 * and the reconcile loop, wired to a Clock, a Mesh and a Runtime. The
 * daemon binds them to timers, libp2p and Docker; the simulator to a
 * virtual clock, a modelled network and a modelled runtime.
 */
import { canonicalJson, keys, type AliveUpdate, type Identity, type NodeRecord, type ReplicaProblemReport, type Resources, type ServiceSpec, type State, type WireMessage } from '@minga/protocol'
import type { ReplicaSpec, Runtime } from '../runtime/types.js'
import type { LiveSet } from './components.js'
import type { Clock, Timer } from './clock.js'
import { EventLog } from './events/event-log.js'
import { EventWatch } from './events/event-watch.js'
import { MeshEvents } from './events/mesh-events.js'
import { clockVerdict, type ClockOffset } from './membership/clock-offset.js'
import type { MembershipConfig } from './membership/config.js'
import { MembershipService } from './membership/service.js'
import type { Member, RowStore } from './membership/table.js'
import { gatherLogs, replicaHolders, type GatherLogsOptions, type LogItem } from './logs/logs-gather.js'
import { LogsServer } from './logs/logs-server.js'
import { errorText, nodeLogger, type ComponentLogger, type Logger } from './logger.js'
import type { Mesh } from './mesh.js'
import { configFilesOf } from './ops/configs.js'
import { MeshRouteView } from './ingress/view.js'
import type { WebPorts } from './ingress/routes.js'
import { Operations } from './ops/operations.js'
import type { PlacementCache } from './reconcile/placement-cache.js'
import { Reconciler } from './reconcile/reconciler.js'
import type { SourceReader } from './gitops/reader.js'
import { SourceWatch } from './gitops/source-watch.js'
import { Sources } from './gitops/sources.js'
import { Sync } from './sync/sync.js'
import { DEFAULT_TIMING, scaledTiming, type Timing } from './timing.js'
import { Admission } from './trust/admission.js'
import { Secrets } from './trust/secrets.js'
import { VolumeKeeper, type VolumeTiming } from './volumes/keeper.js'
import { VolumeVerbs } from './volumes/verbs.js'
import type { LineageRecords, VolumeBackend } from './volumes/types.js'
import { Trust } from './trust/trust.js'
import { Images } from './images/images.js'
import { DeployImages } from './images/pinning.js'
import { UpdateWatch } from './images/update-watch.js'
import { ChunkGc } from './images/chunk-gc.js'
import { ImageOperations } from './images/image-ops.js'
import { ImageScans } from './images/scans.js'
import type { ChunkStore, ImageEngine, Scanner } from './images/types.js'
import { Builds } from './builds/shared-builds.js'
import type { BuildEngine } from './builds/types.js'

/** how often EventWatch looks for news (placements, health, drift) */
const EVENT_WATCH_MS = 1000
/** how often a node checks that its record still holds its addresses (a new DHCP lease, a server moved while it runs) */
const RECORD_CHECK_MS = 60_000

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
  /** membership's timing (probes, suspicion, gossip, push-pull); defaults for 3–200 servers across the internet */
  membership?: Partial<MembershipConfig>
  random?: () => number
  placementCache?: PlacementCache
  /** the simulator shares decoded wire messages, alive signature verdicts and member table chunks between its nodes */
  decode?: (data: Uint8Array) => WireMessage
  /** the simulator's encode: the checked copy of each message it sends goes to its `decode` */
  encode?: (message: WireMessage) => Uint8Array
  verifyAlive?: (meshId: string, update: AliveUpdate) => boolean
  memberStore?: RowStore<Member>
  events?: EventLog
  /** default: `nodeLogger(peerId)`, `minga:<node>:<component>` (DEBUG=minga:*) */
  logger?: ComponentLogger
  /** this node's shared web ports (default 80 and 443): deploys may not publish them while host names are routed there */
  webPorts?: WebPorts
  /** reads git sources (the daemon's runs `git`); without it this node never watches a source */
  sources?: SourceReader
  /**
   * images carried by the mesh: this node's chunk store and its engine's
   * images (the daemon's disk and Docker; tests' in-memory twins). Without
   * them, replicas run whatever image their engine finds or pulls
   */
  images?: { store: ChunkStore, engine: ImageEngine, scanner?: Scanner, fetch?: { window?: number, batch?: number, surveyMs?: number, stallMs?: number } }
  /**
   * builds from git (with images): git and the engine (absent: this node
   * only asks others), and whether this node offers builds to every
   * organization (`minga up --builder`)
   */
  builds?: { engine?: BuildEngine, offers?: boolean }
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
 * hears what (membership feeds sync, trust, secrets and the reconcile loop;
 * the reconcile loop tells membership what this node runs and who must hear
 * it), and what operators reach
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
  /** who is live, what the nodes concerned with a service run, the peers' reports on demand (core/membership) */
  readonly membership: MembershipService
  readonly sync: Sync
  readonly admission: Admission
  readonly reconciler: Reconciler
  readonly trust: Trust
  readonly secrets: Secrets
  /** images carried by the mesh, pinned by digest (when the node has a chunk store and an image engine) */
  readonly images?: Images
  /** scans of images, recorded in the mesh (with images) */
  readonly scans?: ImageScans
  /** the operator's image verbs (with images) */
  readonly imageOps?: ImageOperations
  /** builds from git, here or on a builder (with images) */
  readonly builds?: Builds
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
  /** the git sources of this node's organization that fall to it, polled and applied */
  readonly sourceWatch?: SourceWatch
  /** sweeps chunks no record keeps in use from this node's store */
  readonly chunkGc?: ChunkGc
  /** services that follow their tag (`update: { watch: true }`) */
  readonly updateWatch?: UpdateWatch
  /** the operator's verbs on git sources */
  readonly sources: Sources
  private capacity: Resources = { cpu: 0, memory: 0 }
  private started = false
  private recordCheck?: Timer
  private readonly log: Logger

  constructor (private readonly init: NodeCoreInit) {
    this.identity = init.identity
    this.self = init.identity.peerId
    this.state = init.state
    this.clock = init.clock
    this.events = init.events ?? new EventLog()
    this.timing = scaledTiming({ ...DEFAULT_TIMING, ...init.timing }, Math.max(1, init.state.memberCount))
    const random = init.random ?? Math.random
    const logger = init.logger ?? nodeLogger(init.identity.peerId)
    this.log = logger.forComponent('core')
    const common = { identity: init.identity, state: init.state, clock: init.clock, timing: this.timing, events: this.events, logger }
    this.membership = new MembershipService({
      ...common,
      mesh: init.mesh,
      random,
      config: init.membership,
      decode: init.decode,
      encode: init.encode,
      verifyAlive: init.verifyAlive,
      store: init.memberStore,
      audience: (service) => this.reconciler.audience(service),
      report: () => ({
        version: init.version,
        capacity: this.capacity,
        allocated: this.reconciler.allocated(),
        replicas: this.reconciler.replicaReport(),
        ...optionalProblems(this.reconciler.problemReport())
      })
    })
    this.sync = new Sync({ ...common, mesh: init.mesh, liveness: this.membership, random, decode: init.decode })
    this.admission = new Admission(common)
    this.trust = new Trust({ ...common, liveness: this.membership })
    this.secrets = new Secrets({ ...common, liveness: this.membership, recovery: init.recovery })
    if (init.images !== undefined) {
      this.images = new Images({
        ...common,
        mesh: init.mesh,
        store: init.images.store,
        engine: init.images.engine,
        liveness: this.membership,
        reconcile: { desired: () => this.reconciler.desired(), currentAssignment: () => this.reconciler.currentAssignment() },
        fetch: init.images.fetch
      })
      this.scans = new ImageScans({ images: this.images, store: init.images.store, scanner: init.images.scanner, now: () => init.clock.now() })
      const store = init.images.store
      this.chunkGc = new ChunkGc({ state: init.state, images: this.images, store, clock: init.clock, log: logger.forComponent('chunk-gc') })
      this.imageOps = new ImageOperations({ images: this.images, scans: this.scans, roots: () => store.roots(), reconcile: { desired: () => this.reconciler.desired(), currentAssignment: () => this.reconciler.currentAssignment() } })
      this.builds = new Builds({ images: this.images, engine: init.builds?.engine, offers: init.builds?.offers === true, liveness: this.membership, clock: init.clock, logger: logger.forComponent('builds') })
    }
    if (init.volumes !== undefined) {
      this.volumes = new VolumeKeeper({
        ...common,
        meshId: init.state.meshId,
        mesh: init.mesh,
        liveness: this.membership,
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
        live: () => this.membership.live(),
        // replica records reach only the nodes concerned with a service; any other node asks the live nodes its assignment names
        holdersOf: (service, replica) => {
          const reported = [...this.membership.reportsFor(service)].filter(([peer, reports]) => peer !== this.self && this.membership.status(peer) !== 'dead' && reports.some(r => r.replica === replica)).map(([peer]) => peer)
          return reported.length > 0 ? reported : this.reconciler.audience(service)
        },
        now: () => init.clock.now()
      })
    }
    this.reconciler = new Reconciler({ ...common, liveness: this.membership, runtime: init.runtime, placementCache: init.placementCache, inputs: (spec) => this.replicaInputs(spec), volumes: this.volumes, images: this.images })
    // operating the mesh: logs and events served to members, events nobody else emits
    const self = init.identity.peerId
    const isMember = (peer: string): boolean => init.state.memberOrg(peer) !== undefined && init.state.revoked(peer) === undefined
    this.logs = new LogsServer({ ...common, mesh: init.mesh, runtime: init.runtime, containers: () => this.reconciler.containers() })
    this.meshEvents = new MeshEvents({ self, meshId: init.state.meshId, mesh: init.mesh, clock: init.clock, events: this.events, isMember, live: () => this.membership.live() })
    this.eventWatch = new EventWatch({
      self,
      state: init.state,
      clock: init.clock,
      events: this.events,
      assignment: () => this.reconciler.currentAssignment(),
      containers: () => this.reconciler.containers(),
      status: (peer) => this.membership.status(peer),
      live: () => this.membership.live(),
      syncPulled: () => this.sync.stats.pulled,
      digest: () => init.state.digest(),
      clockVerdict: () => clockVerdict(this.clockOffset(), init.state.maxClockAhead),
      peerDigests: () => this.membership.peerDigests(),
      intervalMs: EVENT_WATCH_MS
    })
    this.operations = new Operations({
      self,
      identity: init.identity,
      state: init.state,
      clock: init.clock,
      events: this.events,
      liveness: this.membership,
      reports: this.membership,
      reconciler: this.reconciler,
      clockOffset: () => this.clockOffset(),
      disagreeingFor: (peer) => this.eventWatch.disagreeingFor(peer),
      readLogs: (options) => this.readLogs(options),
      meshEvents: this.meshEvents,
      images: this.images === undefined ? undefined : new DeployImages(this.images, this.scans!),
      secrets: this.secrets,
      ...(init.webPorts === undefined ? {} : { webPorts: init.webPorts })
    })
    this.routes = new MeshRouteView({ self, state: init.state, liveness: this.membership, reconciler: this.reconciler })
    if (this.images !== undefined && init.images !== undefined) {
      this.updateWatch = new UpdateWatch({ ...common, images: this.images, gate: new DeployImages(this.images, this.scans!), engine: init.images.engine, liveness: this.membership, deploy: async (specs) => await this.operations.deploy(specs) })
    }
    this.sources = new Sources({ ...common, liveness: this.liveness })
    if (init.sources !== undefined) {
      this.sourceWatch = new SourceWatch({ ...common, liveness: this.liveness, reader: init.sources, apply: async (set, options) => await this.operations.apply(set, options) })
    }
  }

  /** membership's verdicts, as views, metrics and tests read them */
  get liveness (): LiveSet {
    return this.membership
  }

  /** ms for which a peer's probes have shown another state digest than this node holds (0: they agree) */
  disagreeingFor (peer: string): number {
    return this.eventWatch.disagreeingFor(peer)
  }

  /** this node's clock against the mesh's, from probe round trips to the live peers it probed lately; undefined before any */
  clockOffset (): ClockOffset | undefined {
    const offsets = this.membership.clockOffsets
    return offsets.estimate(undefined, this.state.maxClockAhead, (peer) => this.membership.status(peer) === 'alive')
  }

  /** the logs of a service's replicas from every node that runs them, merged by time */
  readLogs (options: GatherLogsOptions): AsyncGenerator<LogItem> {
    return gatherLogs({
      self: this.identity.peerId,
      meshId: this.state.meshId,
      mesh: this.init.mesh,
      clock: this.clock,
      server: this.logs,
      locate: async (service, replicas) => await replicaHolders({ self: this.self, reconciler: this.reconciler, liveness: this.membership, reports: this.membership }, service, replicas),
      alive: (peer) => this.membership.status(peer) !== 'dead'
    }, options)
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.capacity = this.init.capacity ?? await this.init.runtime.capacity()
    await this.announce()
    // its addresses may change while it runs: members dial what the record says
    this.recordCheck = this.clock.every(RECORD_CHECK_MS, () => { this.announce().catch((err) => { this.log.error('writing this node\'s record failed: %s', errorText(err)) }) })
    this.membership.start()
    this.sync.start()
    this.logs.start()
    this.meshEvents.start()
    this.eventWatch.start()
    this.trust.start()
    this.secrets.start()
    this.images?.start()
    this.chunkGc?.start()
    this.builds?.start()
    this.volumes?.start()
    await this.reconciler.start()
    this.routes.start()
    this.sourceWatch?.start()
    this.updateWatch?.start()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.recordCheck?.cancel()
    this.routes.stop()
    this.sourceWatch?.stop()
    this.updateWatch?.stop()
    await this.reconciler.stop()
    this.volumes?.stop()
    this.eventWatch.stop()
    this.meshEvents.stop()
    this.logs.stop()
    this.sync.stop()
    this.secrets.stop()
    this.trust.stop()
    this.builds?.stop()
    this.images?.stop()
    this.chunkGc?.stop()
    this.membership.stop()
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
    if (this.builds !== undefined && this.init.builds?.offers === true && this.init.builds.engine !== undefined) record.builds = true
    const current = this.state.value(keys.node(this.identity.peerId))
    if (current !== undefined && canonicalJson(current) === canonicalJson(record)) return
    if (this.state.memberOrg(this.identity.peerId) === undefined) return
    await this.state.write(this.identity, keys.node(this.identity.peerId), record)
  }
}

/** problems, when there are any (a report leaves the field out otherwise) */
function optionalProblems (problems: ReplicaProblemReport[]): { problems?: ReplicaProblemReport[] } {
  return problems.length === 0 ? {} : { problems }
}
