/**
 * The daemon: binds the node core to the world. Data dir and LevelDB for
 * the state, libp2p for the mesh (main host for members, door host for
 * joiners), Docker (or the in-memory runtime) for containers, timers for
 * the clock, and the control API on a unix socket.
 */
import '../polyfill.js'
import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import { recordValue, State, keys, protocols, type Resources } from '@minga/protocol'
import { LevelPersistence } from '../store/level-persistence.js'
import { systemClock } from '../core/clock.js'
import { NodeCore, type NodeCoreInit } from '../core/core.js'
import { errorText, nodeLogger } from '../core/logger.js'
import type { VolumeTiming } from '../core/volumes/keeper.js'
import { createBackups, FolderVolumes, type Backups } from '../backup/index.js'
import type { Operations } from '../core/ops/operations.js'
import type { Timing } from '../core/timing.js'
import { parseAnnounce } from '../host/announce.js'
import { startDoor } from '../host/door.js'
import { Connector, recordAddresses } from '../host/connector.js'
import { ConnectionTrim } from '../host/connection-trim.js'
import { CONNECTION_LIMITS } from '../core/connection-limits.js'
import { MemberGater } from '../host/gater.js'
import { defaults } from '../host/libp2p-config.js'
import { Libp2pMesh, type MeshLibp2p } from '../host/libp2p-mesh.js'
import { engineAddress } from '../runtime/docker-address.js'
import type { DockerRuntime } from '../runtime/docker.js'
import type { DockerImages } from '../images/docker-images.js'
import type { Ingress } from '../ingress/ingress.js'
import { callerLookup, hostResolvers, networkSpec, nodeSubnet, serviceNetworkReachHere } from '../ingress/setup.js'
import type { WebPorts } from '../core/ingress/routes.js'
import type { ServiceSubnet } from '../ingress/subnet.js'
import { MemoryRuntime } from '../runtime/memory.js'
import type { Runtime } from '../runtime/types.js'
import { libp2pMetrics } from '../metrics/libp2p.js'
import type { FolderLoader } from '../gitops/git-reader.js'
import type { SupervisorLink, SupervisorLinkInit } from '../supervisor/index.js'
import { ApiServer } from './api-server.js'
import type { NodeControl } from './api-types.js'
import { DataDirError } from '../errors.js'
import { DataDir } from './data-dir.js'
import type { HttpServer } from './http-server.js'
import { metricsRegistry, startMonitoring } from './monitoring.js'

export const VERSION = '0.1.0'
/** bytes a node holds for other nodes' backups unless `--backup-quota` says otherwise */
export const DEFAULT_BACKUP_QUOTA = 10 * 1024 ** 3

export interface DaemonOptions {
  dataDir: string
  /** main host listen multiaddrs (default /ip4/0.0.0.0/tcp/7946) */
  listen?: string[]
  /** addresses members dial besides the listen addresses (`--announce`: a forwarded port, a dynamic DNS name; host/announce.ts) */
  announce?: string[]
  /** door listen multiaddrs (default /ip4/0.0.0.0/tcp/7947) */
  door?: string[]
  /** addresses joiners dial besides the door's listen addresses (`--announce-door`); invites carry them */
  announceDoor?: string[]
  runtime?: 'docker' | 'memory'
  dockerSocket?: string
  labels?: Record<string, string>
  /** this node builds images for every organization that asks (`minga up --builder`) */
  builder?: boolean
  capacity?: Resources
  acceptOrgs?: string[]
  shareForOthers?: number
  timing?: Partial<Timing>
  /** where the dashboard and /metrics listen: ADDRESS:PORT or 'off' (default 127.0.0.1:7948, skipped with a warning when taken) */
  http?: string
  /**
   * reads a checked-out folder of spec and Compose files as a change set
   * (the CLI hands in the reader `minga apply DIR` uses); with it, this node
   * may watch its organization's git sources
   */
  loadFolder?: FolderLoader
  /** bytes this node holds for other nodes' backups (`--backup-quota`, default 10 GiB) */
  backupQuota?: number
  /** restic's binary (default: restic on the PATH) */
  restic?: string
  /** the volumes room's timing (snapshot defaults, handoff waits) */
  volumeTiming?: Partial<VolumeTiming>
  /** enables /v1/test/* routes (partitions); never in production */
  testMode?: boolean
  /** addresses the routing mesh's published ports and shared web ports bind (default 0.0.0.0) */
  publishOn?: string[]
  /** the shared web ports (default 80 and 443); null turns them off */
  webPorts?: WebPorts | null
  /** the service network's /23, `off` for none (no routing mesh, no names: Docker publishes every port); default: one picked once and kept */
  subnet?: string
  /** resolvers for names outside the mesh (`IP` or `IP:port`); default the host's; [] for none */
  dnsUpstream?: string[]
  /** tests only: the supervisor's budget and lingering (every node's singleton fence assumes the defaults) */
  supervisor?: Pick<SupervisorLinkInit, 'budget' | 'supervisor'>
  log?: (line: string) => void
}

/**
 * One minga node process: `start()` opens the data dir's state, starts
 * libp2p, the door, the runtime, the core and the control API; `stop()`
 * closes them in reverse. Rejects with DataDirError when the data dir holds
 * no mesh or this node was removed from it
 */
export class Daemon implements NodeControl {
  core!: NodeCore
  private libp2p!: MeshLibp2p
  private door!: Awaited<ReturnType<typeof startDoor>>
  private runtime!: Runtime
  /** Docker's images, carried by the mesh (not with the in-memory runtime) */
  private imageEngine?: DockerImages
  private mesh!: Libp2pMesh
  private state!: State
  private connector!: Connector
  private trim?: ConnectionTrim
  private api!: ApiServer
  private http?: HttpServer
  /** the routing mesh on this node, when it runs (Docker with a service network) */
  ingress?: Ingress
  private subnet?: ServiceSubnet
  private backups?: Backups
  /** the bond to the process that stops this node's containers if this one dies (Docker only: memory containers die with it) */
  supervisor?: SupervisorLink
  /** every metric of this node: minga's, libp2p's, the process's */
  readonly registry = metricsRegistry()
  gater!: MemberGater
  readonly dataDir: DataDir

  constructor (readonly options: DaemonOptions) {
    this.dataDir = new DataDir(options.dataDir)
  }

  async start (): Promise<void> {
    const log = this.options.log ?? (() => {})
    const mesh = await this.dataDir.requireMesh()
    const identity = await this.dataDir.identity()
    const doorIdentity = await this.dataDir.doorIdentity()
    const psk = new Uint8Array(Buffer.from(mesh.psk, 'base64'))
    const logger = nodeLogger(identity.peerId)
    this.state = await State.open({ meshId: mesh.meshId, root: mesh.root, persistence: new LevelPersistence(this.dataDir.statePath), now: Date.now })
    const removed = this.state.revoked(identity.peerId)
    if (removed !== undefined) {
      await this.state.close()
      throw new DataDirError(`This node was removed from the mesh (${removed.reason}); the other nodes refuse it for good. To serve the mesh again, start a new node: minga join TOKEN --data NEW_DIR, with an invite from a member`)
    }
    if (this.options.runtime !== 'memory') {
      const { superviseNode } = await import('../supervisor/index.js')
      this.supervisor = await superviseNode({ dataDir: this.dataDir.path, meshId: mesh.meshId, nodeId: identity.peerId, engine: engineAddress(this.options.dockerSocket).label, log, registry: this.registry, testMode: this.options.testMode, ...this.options.supervisor })
    }
    if (this.state.memberOrg(identity.peerId) === undefined) log('warning: this node is not (yet) a member in its own state; it waits for its admission to arrive')
    const isMember = (peer: string): boolean => this.state.memberOrg(peer) !== undefined && this.state.revoked(peer) === undefined
    this.gater = new MemberGater({ isMember })
    this.libp2p = await createLibp2p({
      ...defaults({
        privateKey: identity.privateKey,
        meshId: mesh.meshId,
        psk,
        listen: this.options.listen ?? ['/ip4/0.0.0.0/tcp/7946'],
        announce: (this.options.announce ?? []).map(a => parseAnnounce(a)),
        gater: this.gater
      }),
      metrics: libp2pMetrics(this.registry)
    }) as MeshLibp2p
    this.runtime = this.options.runtime === 'memory'
      // MINGA_MEMORY_START_MS: how long a pretend container takes to start (the sim-vs-real bench sets the simulator's figure)
      ? new MemoryRuntime({ meshId: mesh.meshId, nodeId: identity.peerId, startDelayMs: Number(process.env.MINGA_MEMORY_START_MS ?? 0) || 0 })
      : await this.dockerRuntime(mesh.meshId, identity.peerId, log)
    // images through the mesh: chunks on disk, Docker's save and load (issue 15)
    let images: NodeCoreInit['images']
    let builds: NodeCoreInit['builds']
    if (this.options.runtime !== 'memory') {
      const [{ DockerImages }, { CommandScanner }, { DiskChunkStore }, { DockerBuilder }] = await Promise.all([
        import('../images/docker-images.js'), import('../images/scanner.js'), import('../images/disk-store.js'), import('../images/docker-build.js')
      ])
      this.imageEngine = new DockerImages({ socketPath: this.options.dockerSocket })
      const engine = this.imageEngine
      // the org's scanner command, else trivy or grype on PATH, scanning a `docker save` tar of the image
      const scanner = new CommandScanner({ saveTar: async (id, path, options) => { await engine.saveTar(id, path, options) } })
      images = { store: await DiskChunkStore.open(this.dataDir.imagesPath), engine, scanner }
      builds = { engine: new DockerBuilder({ docker: engine.docker, dir: join(this.options.dataDir, 'builds') }), offers: this.options.builder === true }
    }
    this.door = await startDoor({
      identity: doorIdentity,
      meshId: mesh.meshId,
      psk,
      listen: this.options.door ?? ['/ip4/0.0.0.0/tcp/7947'],
      announce: (this.options.announceDoor ?? []).map(a => parseAnnounce(a, 'door')),
      admit: async (request, from) => await this.core.admission.admit(request, from)
    })
    this.backups = await createBackups({
      dir: this.dataDir.backupPath,
      quota: this.options.backupQuota ?? DEFAULT_BACKUP_QUOTA,
      mesh: this.mesh = new Libp2pMesh(this.libp2p, { addresses: (peer) => recordAddresses(this.state, peer), shared: [protocols.membership(mesh.meshId)], logger }),
      meshId: mesh.meshId,
      state: this.state,
      identity,
      clock: systemClock,
      events: { emit: (event) => { this.core.events.emit(event) } },
      live: () => this.core.liveness.live(),
      volumes: this.options.runtime === 'memory'
        ? new FolderVolumes(this.dataDir.volumesPath)
        : new (await import('../backup/docker-volumes.js')).DockerVolumes({ meshId: mesh.meshId, nodeId: identity.peerId, socketPath: this.options.dockerSocket }),
      repositories: () => this.core.volumes!.repositories,
      mayWrite: (from, repo) => this.core.volumes?.repositories.mayStore(from, repo) ?? false,
      restic: this.options.restic
    })
    // without restic this node still holds others' blobs; its own volumes stay local (said at start)
    const restic = await this.backups.restic.version().catch((err) => { log(`warning: ${errorText(err)}; this node's volumes are not backed up`) })
    // a node that came back with its org's recovery key opens what was sealed to the lost nodes, seals it again, then drops the key
    const recoveryKey = await this.dataDir.recoveryKey()
    let recovered = false
    const recovery = recoveryKey === undefined
      ? undefined
      : {
          identity: recoveryKey,
          done: () => {
            if (recovered) return
            recovered = true
            void this.dataDir.dropRecoveryKey().then(() => { log(`${mesh.org}'s secrets and backup passwords are sealed to this node again; it no longer keeps the recovery key (keep yours offline)`) })
          }
        }
    this.core = new NodeCore({
      identity,
      state: this.state,
      mesh: this.mesh,
      clock: systemClock,
      runtime: this.runtime,
      version: VERSION,
      capacity: this.options.capacity,
      labels: this.options.labels,
      acceptOrgs: this.options.acceptOrgs,
      shareForOthers: this.options.shareForOthers,
      addrs: () => this.libp2p.getMultiaddrs().map(a => a.toString()),
      door: () => this.doorAddrs(),
      timing: this.options.timing,
      logger,
      images,
      builds,
      ...(this.options.loadFolder === undefined ? {} : { sources: new (await import('../gitops/git-reader.js')).GitSourceReader({ dir: join(this.options.dataDir, 'gitops'), loadFolder: this.options.loadFolder }) }),
      recovery,
      ...(restic === undefined ? {} : { volumes: { backend: this.backups.backend, lineage: this.backups.lineage, timing: this.options.volumeTiming } })
    })
    // the operator watching `minga up` hears at once when this server's clock is off (status and events say it too)
    this.core.events.subscribe((event) => { if (event.kind === 'clock') log(`${event.reason.startsWith('this node\'s clock agrees') ? 'clock' : 'warning'}: ${event.reason}`) })
    await this.core.start()
    if (this.subnet !== undefined) await this.startIngress(mesh.meshId, identity.peerId, logger, log)
    this.supervisor?.onNotice((text) => this.core.events.emit({ time: Date.now(), node: identity.peerId, kind: 'supervisor', subject: identity.peerId, reason: text }))
    this.connector = new Connector({ libp2p: this.libp2p, state: this.state, admits: (p) => this.gater.admits(p), logger })
    this.connector.start()
    this.trim = new ConnectionTrim({ libp2p: this.libp2p, limit: CONNECTION_LIMITS.maxConnections, idleFor: (peer) => this.mesh.activity.idleFor(peer), closing: (peer) => { this.mesh.closingIdle(peer) }, log: logger.forComponent('connection-trim') })
    this.trim.start()
    this.state.subscribe((applied) => {
      for (const entry of applied) {
        if (!entry.key.startsWith('revoked/')) continue
        const peer = entry.key.slice('revoked/'.length)
        if (peer === identity.peerId) log(`this node was removed from the mesh (${String(recordValue(entry, 'revoked')?.reason)}); the other nodes refuse it from now on`)
        else void this.hangUp(peer)
      }
    })
    this.api = new ApiServer({ context: { operations: this.core.operations, trust: this.core.trust, secrets: this.core.secrets, sources: this.core.sources, volumes: this.core.volumeVerbs, images: this.core.imageOps, builds: this.core.builds, node: this }, socketPath: this.dataDir.socketPath, testMode: this.options.testMode === true })
    await this.api.listen()
    this.http = await startMonitoring(this.core, this.registry, { http: this.options.http, version: VERSION, log })
    log(`minga node ${identity.peerId} (${mesh.org}) in mesh ${mesh.meshId}`)
    log(`listening on ${this.libp2p.getMultiaddrs().map(String).join(' ')}`)
    log(`door on ${this.doorAddrs().join(' ')}`)
    log(`control socket ${this.dataDir.socketPath}`)
  }

  /**
   * The Docker runtime, on the node's service network unless `--subnet off`.
   * An engine in another network namespace (the gateway is no address here)
   * cannot be reached by the forwarder: the node runs without the network
   */
  private async dockerRuntime (meshId: string, peerId: string, log: (line: string) => void): Promise<DockerRuntime> {
    const { DockerRuntime } = await import('../runtime/docker.js')
    const plain = (): DockerRuntime => new DockerRuntime({ meshId, nodeId: peerId, socketPath: this.options.dockerSocket })
    if (this.options.subnet === 'off') {
      const runtime = plain()
      await runtime.list()
      log('service network off (--subnet off): no routing mesh and no service names; Docker publishes every port on the nodes that run it')
      return runtime
    }
    const subnet = await nodeSubnet(this.dataDir.path, peerId, this.options.subnet)
    const network = networkSpec(subnet, meshId, peerId)
    const runtime = new DockerRuntime({ meshId, nodeId: peerId, socketPath: this.options.dockerSocket, network })
    await runtime.list()
    await runtime.ensureNetwork()
    const found = await serviceNetworkReachHere(network)
    if (found.reach !== 'ours') {
      log(found.reach === 'absent'
        ? `warning: the Docker engine's network ${subnet.subnet} is not reachable from this node (the engine runs in another network namespace); running without the routing mesh and service names`
        : `warning: the service network's gateway ${subnet.gateway} is an address of ${found.ifname} on this host, not of its bridge ${network.bridge} (the engine runs in another network namespace and another network here uses ${subnet.subnet}); running without the routing mesh and service names. To run them, give this node a free /23: minga up --subnet CIDR`)
      await runtime.close()
      const fallback = plain()
      await fallback.list()
      return fallback
    }
    this.subnet = subnet
    return runtime
  }

  /** the routing mesh: published ports, shared web ports, service names (these need root for the service addresses) */
  private async startIngress (meshId: string, peerId: string, logger: ReturnType<typeof nodeLogger>, log: (line: string) => void): Promise<void> {
    const subnet = this.subnet!
    const publishOn = this.options.publishOn ?? ['0.0.0.0']
    const webPorts = this.options.webPorts === undefined ? { http: 80, tls: 443 } : this.options.webPorts
    const root = process.getuid?.() === 0
    const upstream = this.options.dnsUpstream ?? await hostResolvers()
    const { Ingress } = await import('../ingress/ingress.js')
    this.ingress = new Ingress({ libp2p: this.libp2p, self: peerId, clock: systemClock, view: this.core.routes }, {
      protocol: protocols.forward(meshId),
      publishOn,
      webPorts,
      logger,
      ...(root ? { names: { subnet, bridge: networkSpec(subnet, meshId, peerId).bridge, addressFile: join(this.dataDir.path, 'service-addresses.json'), upstream, lookupCaller: callerLookup(async () => await this.runtime.list()) } } : {}),
      onProblem: (what, error) => {
        log(error === undefined ? `${what}: listening again` : `warning: ${error.message}`)
        this.core.events.emit({ time: Date.now(), node: peerId, kind: 'ingress', subject: what, reason: error?.message ?? 'listening again' })
      }
    })
    await this.ingress.start()
    log(`routing mesh: published ports on ${publishOn.join(', ')}${webPorts === null ? '' : `, web ports ${webPorts.http} and ${webPorts.tls}`}; service network ${subnet.subnet}${root ? `, names by DNS on ${subnet.gateway}` : ' (service names need root: off)'}`)
  }

  /** what people ask this node to do and show */
  get operations (): Operations {
    return this.core.operations
  }

  /** this node's door addresses, where joiners knock */
  doorAddrs (): string[] {
    return this.door.getMultiaddrs().map(a => a.toString())
  }

  /** door addresses for an invite: this node's, then other live members' */
  bootstrapAddrs (): string[] {
    const out = this.doorAddrs()
    for (const peer of this.core.membership.live()) {
      if (peer === this.core.identity.peerId) continue
      const record = this.state.value(keys.node(peer))
      for (const addr of record?.door ?? []) if (!out.includes(addr)) out.push(addr)
    }
    return out.slice(0, 8)
  }

  /** the mesh's private-network key, from the mesh file */
  async psk (): Promise<Uint8Array> {
    const mesh = await this.dataDir.requireMesh()
    return new Uint8Array(Buffer.from(mesh.psk, 'base64'))
  }

  /** test mode: refuse and drop connections to these peers (a partition), or heal with [] */
  async partition (blocked: string[]): Promise<void> {
    this.gater.blocked.clear()
    for (const peer of blocked) {
      this.gater.blocked.add(peer)
      await this.hangUp(peer)
    }
  }

  private async hangUp (peer: string): Promise<void> {
    for (const connection of this.libp2p.getConnections()) {
      if (connection.remotePeer.toString() === peer) await connection.close().catch(() => {})
    }
  }

  problems (): string[] {
    return this.supervisor?.problems() ?? []
  }

  /** where the dashboard and /metrics answer, if they do */
  httpUrl (): string | undefined {
    return this.http?.url
  }

  /** every metric of this node (minga's, libp2p's, the process's) in Prometheus' text format */
  async metrics (): Promise<{ contentType: string, text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() }
  }

  /** stop everything start() started, in reverse order; safe after a failed start */
  async stop (): Promise<void> {
    await this.http?.close()
    await this.api?.close()
    this.connector?.stop()
    this.trim?.stop()
    await this.ingress?.stop()
    await this.core?.stop()
    await this.backups?.close()
    await this.door?.stop()
    await this.libp2p?.stop()
    await this.runtime?.close()
    this.imageEngine?.close()
    await this.state?.close()
    await this.supervisor?.stop()
  }
}
