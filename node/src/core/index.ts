/**
 * @packageDocumentation
 *
 * `@minga/node/core`: the node core, sans I/O, and its in-memory twins. It
 * loads neither libp2p nor dockerode nor prom-client: the simulator runs
 * thousands of these cores on a virtual clock, a modelled network and the
 * in-memory runtime, and unit tests run one.
 *
 * The rooms: `membership/` (SWIM + Lifeguard, replica records, clock offsets),
 * `sync/` (gossip and anti-entropy of entries), `reconcile/` (place, plan,
 * run), `trust/` (admission, removal, governance, secrets, audit), `ops/`
 * (what operators ask and see), `events/` (the event log, what is news,
 * mesh-wide events), `logs/` (the logs protocol), `supervision/` (what the
 * supervisor beside each node decides when its daemon dies), `ingress/` (the
 * routing mesh's rules, its view and its forwarding loop). `NodeCore` wires them;
 * `components.ts` holds what they read of one another.
 *
 * @example
 * ```ts
 * import { NodeCore, MemoryRuntime, systemClock } from '@minga/node/core'
 * const core = new NodeCore({ identity, state, mesh, clock: systemClock, runtime: new MemoryRuntime({ meshId, nodeId }), version: 'test' })
 * await core.start()
 * await core.operations.deploy(specs)
 * ```
 */
export { NodeCore, type NodeCoreInit } from './core.js'
export type {
  CoreComponents, EventSink, LiveSet, LivenessChange, LivenessListener, NodeReports, PeerReplicaReport, PeerStatus,
  ReconcileView, ReplicaNote, ReplicaReports
} from './components.js'
export { systemClock, type Clock, type Timer, type WorkStep } from './clock.js'
export { CorePool, type CpuModel, type WorkCosts } from './cpu-model.js'
export { NodeClock, SIM_EPOCH, VirtualClock, type RunOptions as VirtualRunOptions, type RunProgress } from './virtual-clock.js'
export { EventQueue, type SimEvent } from './event-queue.js'
export type { GossipHandler, Mesh, PeerListener, ProbeResult, RequestHandler, StreamHandler } from './mesh.js'
export { CONNECTION_LIMITS } from './connection-limits.js'
export { GOSSIPSUB_TUNING } from './gossip-tuning.js'
export { DEFAULT_TIMING, FENCE_SLACK_MS, scaledTiming, singletonFenceFor, type Timing } from './timing.js'
export { cachedLogger, errorText, namedLogger, nodeLogger, type ComponentLogger, type Logger } from './logger.js'

export { CLOCK_WARN_MS, ClockOffsets, clockVerdict, type ClockOffset, type PeerOffset } from './membership/clock-offset.js'
export { Membership, type MembershipChange, type MembershipInit, type MembershipListener, type MembershipMesh, type ProbeInfo } from './membership/membership.js'
export { MembershipService, type MembershipServiceInit } from './membership/service.js'
export { DEFAULT_MEMBERSHIP, pushPullInterval, remainingSuspicion, retransmitLimit, suspicionTimeout, type MembershipConfig } from './membership/config.js'
export { MemberTable, rowHash, type Member, type RowStore } from './membership/table.js'
export { ReplicaRecords, type ReplicaRecordsInit } from './membership/replica-records.js'
export { internList, memberList } from './membership/shared-lists.js'
export { Sync, type SyncComponents } from './sync/sync.js'
export { Reconciler, type ReconcilerComponents } from './reconcile/reconciler.js'
export { LruPlacementCache, type PlacementCache } from './reconcile/placement-cache.js'
export { replicaKey } from './reconcile/replicas.js'
export { Admission, type AdmissionComponents } from './trust/admission.js'
export { Trust, type RemovedNode, type TrustComponents } from './trust/trust.js'
export { Secrets, type SecretsComponents, type SecretView } from './trust/secrets.js'
export { auditView, type AuditRecord } from './trust/audit.js'
export { Operations, type DeployResult, type InviteOptions, type OperationsComponents } from './ops/operations.js'
export { nodesView, psView, servicesView, type NodeView, type ReplicaView, type ServiceView, type ViewComponents } from './ops/views.js'
export { statusView, type StatusComponents, type StatusView } from './ops/status-view.js'
export { applyChangeSet, checkDeployable, type ApplyResult, type ChangeAction, type ChangeSet, type ServiceChange } from './ops/apply.js'
export { SourceWatch, sourceWatcher, SOURCE_TICK_MS, type SourceWatchComponents } from './gitops/source-watch.js'
export { Sources, type SourceView } from './gitops/sources.js'
export { MemorySourceReader, type MemoryCommit } from './gitops/memory-reader.js'
export type { LoadedChangeSet, SourceReader, SourceRef } from './gitops/reader.js'
export { EventLog, type EventKind, type EventListener, type MeshEvent } from './events/event-log.js'
export { DRIFT_AFTER_MS, EventWatch } from './events/event-watch.js'
export { collapseEchoes, MeshEvents, type EventItem, type EventsBatch, type EventsRequest } from './events/mesh-events.js'
export { DEFAULT_LOGS_LIMITS, LogsServer, type LogsLimits } from './logs/logs-server.js'
export { DEFAULT_SUPERVISOR_BUDGET, hangBoundMs, supervisorBoundMs, type SupervisorBudget } from './supervision/budget.js'
export { Watchdog, type WatchdogInit } from './supervision/watchdog.js'
export { NO_REAPER, runtimeEngine } from './supervision/runtime-engine.js'
export type { AttachResult, ProcessReaper, StopRound, StoppedHow, SupervisedContainer, SupervisedEngine, WatchdogState } from './supervision/types.js'
export { gatherLogs, replicaHolders, type GatherLogsOptions, type LogItem } from './logs/logs-gather.js'
export { forwardOrder, type ForwardOrderOptions, type ReplicaLocation } from './ingress/choose.js'
export { Forwarder, type ConnectRequest, type ForwardDialer, type Forwarded, type ForwarderComponents, type ForwarderInit, type LocalTarget, type ReplicaDirectory } from './ingress/forwarder.js'
export { DEFAULT_WEB_PORTS, routeConflicts, routeTable, type PublishedPort, type RouteConflict, type RouteTable, type RoutedService, type WebPorts, type WebRoute } from './ingress/routes.js'
export { mayReach, resolveName, type Caller, type NameAnswer } from './ingress/names.js'
export { acceptForward, authorizeForward, expectsProxyHeader, type AcceptedForward, type ForwardContext, type ForwardVerdict } from './ingress/authorize.js'
export { MeshRouteView, type IngressView, type MeshRouteViewComponents } from './ingress/view.js'

export { Images, type ImagesComponents, type PushOptions, type PushResult, type Resolved } from './images/images.js'
export { ImageOperations, type ImageView } from './images/image-ops.js'
export { ImageScans, type ScanResult } from './images/scans.js'
export { NO_SCANNER } from './images/gate.js'
export type { PinnedImage, PinOptions } from './images/pinning.js'
export { MemoryChunkStore } from './images/memory-store.js'
export { MemoryImages } from './images/memory-images.js'
export { Builds, REMOTE_BUILD_TIMEOUT_MS, type BuildsComponents } from './builds/shared-builds.js'
export { BuildRunner, type BuildJob, type BuildRequest, type BuildView } from './builds/builds.js'
export { BuildLog, BUILD_LOG_HEAD, BUILD_LOG_TAIL } from './builds/build-log.js'
export { MemoryBuilder } from './builds/memory-builder.js'
export type { BuildEngine, BuildSourceLocation, ImageBuild, SourceCheckout } from './builds/types.js'
export { ChunkFetcher, type FetchProgress, type FetchResult, type FetcherStats } from './images/fetcher.js'
export { storeFile, readFile } from './images/chunking.js'
export { chainIds, configDiffIds } from './images/image-config.js'
export type { ChunkStore, EngineImage, ImageEngine, ImageHooks, LoadFile, SavedFile, Scanner, ScannerReport, ScannerDb } from './images/types.js'
export { MemoryLineage, ModelBackend, ModelRepositories, type ModelBackendInit, type ModelRepositoriesInit, type ModelSnapshot, type ModelVolume } from './volumes/model-backend.js'
export { DEFAULT_VOLUME_TIMING, type VolumeTiming } from './volumes/keeper.js'
export { backedVolumes, type BackedVolume } from './volumes/repository.js'

export { MemoryRuntime, type MemoryRuntimeInit } from '../runtime/memory.js'
export { MemoryEngine, type Delay, type MemoryEngineInit } from '../runtime/memory-engine.js'
export * from '../runtime/types.js'
export * from '../runtime/errors.js'
export * from '../errors.js'
