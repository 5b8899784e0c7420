/**
 * The control API's contract: for every route, what its body is and what it
 * answers, shared by the daemon (daemon/routes-*.ts) and its clients (the
 * CLI's ApiClient), so a change of either side that the other does not
 * follow fails to compile. Paths are keys: `GET /v1/ps?service=web` is
 * `GetRoutes['/v1/ps?service=web']`, found by its pattern. Bodies are
 * checked on arrival by `api/bodies.ts`, with protocol's wire checkers.
 * Streams (`/v1/logs`, `/v1/mesh/events`) are newline-delimited JSON of
 * `LogItem` and `EventItem`; `/v1/metrics` is Prometheus' text format.
 */
import type { PolicyRecord, ServiceRecord, SnapshotView, Tally, VolumeView } from '@minga/protocol'
import type { ImageView, OutdatedService } from '../core/images/image-ops.js'
import type { PushResult } from '../core/images/images.js'
import type { ScanResult } from '../core/images/scans.js'
import type { BuildView } from '../core/builds/builds.js'
import type { ApplyResult, ServiceChange } from '../core/ops/apply.js'
import type { SourceView } from '../core/gitops/sources.js'
import type { MeshEvent } from '../core/events/event-log.js'
import type { DeployResult } from '../core/ops/operations.js'
import type { StatusView } from '../core/ops/status-view.js'
import type { NodeView, ReplicaView, ServiceView } from '../core/ops/views.js'
import type { AuditRecord } from '../core/trust/audit.js'
import type { SecretView } from '../core/trust/secrets.js'
import type { RemovedNode } from '../core/trust/trust.js'
import type { BackupListing } from '../core/volumes/verbs.js'

export type { ImageView, ScanResult, BuildView }
export type { ApplyResult, ServiceChange, SourceView }
export type { DeployResult, NodeView, ReplicaView, ServiceView, StatusView, AuditRecord, SecretView, RemovedNode, MeshEvent, BackupListing, SnapshotView, VolumeView }
export type { EventItem } from '../core/events/mesh-events.js'
export type { LogItem } from '../core/logs/logs-gather.js'

/** `POST /v1/deploy`: a spec file's text, or specs already normalized (e.g. translated from Compose by the CLI) */
export type DeployBody = ({ text: string, source?: string } | { specs: unknown[] }) & DeployImageOptions
/** how a deploy treats images: findings it waives (signed, audited), why, or no pinning by digest */
export interface DeployImageOptions { waive?: string[], reason?: string, unpinned?: boolean }
/** `POST /v1/images/push`: the engine's image into the mesh; `private`: only this org's nodes fetch it */
export interface ImagePushBody { image: string, private?: boolean }
export interface ImageScanBody { image: string }
/** `POST /v1/policy`: the org's scan gate; `maxDbAge` in the duration grammar (`7d`) */
export interface PolicyBody { block: string, maxDbAge?: string, scanner?: string }
/** `POST /v1/scanner-db`: a vulnerability database file on this node (`path`, absolute) into the mesh for `scanner` (default: the kind this node would run), built at `built` (ISO 8601) */
export interface ScannerDbBody { path: string, built: string, scanner?: string }
export interface ScannerDbResult { org: string, scanner: string, index: string, size: number, built: number }
export type ImagePushResult = PushResult & { org: string }
/** `POST /v1/builds`: a build from git (an absolute folder of the node, or a URL), tested, pushed under `tag` */
export interface BuildBody { source: string, tag: string, ref?: string, context?: string, file?: string, args?: Record<string, string>, target?: string, test?: string, private?: boolean, on?: string }
/** `GET /v1/build-logs/ID`: the build's log as kept (its start and end when long) */
export interface BuildLogResult { id: string, status: BuildView['status'], log: string }
export type PolicyResult = PolicyRecord & { org: string }
/** `POST /v1/configs`: config content of a service ahead of the deploy that names it, base64 chunks */
export interface ConfigsBody { service: string, chunks: string[] }
export interface ScaleBody { service: string, replicas: number }
/** `ttl` in the one duration grammar (`24h`) */
export interface InviteBody { org?: string, newOrg?: boolean, ttl?: string, uses?: number }
export interface CordonBody { node: string, reason?: string }
export interface UncordonBody { node: string }
export interface NodeRemoveBody { node: string, reason?: string }
export interface OrgRemoveBody { org: string, reason: string }
/** `value` as text, or base64 with `encoding: 'base64'`; `ifChanged`: an equal value writes nothing */
export interface SecretBody { service: string, name: string, value: string, encoding?: 'utf8' | 'base64', ifChanged?: boolean }
export interface PartitionBody { blocked: string[] }
/**
 * `POST /v1/apply`: a change set (normalized specs, the secrets of its
 * services as base64); `prune` removes the org's services it does not
 * declare (with `source`: only those from that source); `provided` lists
 * config chunks a dry run counts as sent
 */
export interface ApplyBody {
  specs: unknown[]
  secrets?: Array<{ service: string, name: string, value: string }>
  prune?: boolean
  dryRun?: boolean
  source?: { name: string, commit: string }
  provided?: string[]
}
/** `POST /v1/sources`: a git source to follow (`interval` in the duration grammar) */
export interface SourceBody { name: string, url: string, ref: string, path: string, interval: string, prune: boolean, signers?: string[] }
/** `POST /v1/backup`: a snapshot of the service's volumes now */
export interface BackupBody { service: string }
/** `POST /v1/restore`: the snapshot to restore (an id or a unique prefix; the latest when absent) */
export interface RestoreBody { service: string, snapshot?: string }

export interface VolumesResult { volumes: VolumeView[], unreachable: string[] }
export interface BackupResult { service: string, node: string, snapshots: SnapshotView[] }
export interface RestoreResult { service: string, chosen: Array<{ volume: string, snapshot: string, generation: number }> }

export interface InviteResult { token: string, id: string, expires: number }
export interface ConfigsResult { service: string, stored: string[], written: number }
export interface SecretSetResult { service: string, name: string, readers: number, unchanged?: true }
export type ServiceDetail = ServiceRecord & { replicas: ReplicaView[] }
export type ProposalView = Tally & { author?: string, opened: string }

/** GET routes and what they answer */
export interface GetRoutes {
  '/v1/status': StatusView
  '/v1/nodes': NodeView[]
  '/v1/services': ServiceView[]
  [service: `/v1/services/${string}`]: ServiceDetail
  [ps: `/v1/ps${string}`]: ReplicaView[]
  [events: `/v1/events${string}`]: MeshEvent[]
  '/v1/proposals': ProposalView[]
  [audit: `/v1/audit${string}`]: AuditRecord[]
  [secrets: `/v1/secrets${string}`]: SecretView[]
  '/v1/http': { url: string | null }
  '/v1/images': ImageView[]
  '/v1/policy': { org: string, policy: PolicyRecord | null }
  '/v1/images/outdated': OutdatedService[]
  [holders: `/v1/images/holders?digest=${string}`]: { digest: string, holders: string[], eligible: number }
  '/v1/builds': BuildView[]
  [build: `/v1/builds/${string}`]: BuildView
  [buildLog: `/v1/build-logs/${string}`]: BuildLogResult
  [records: `/v1/records${string}`]: ServiceRecord[]
  [configs: `/v1/configs/${string}/${string}`]: { files: Array<{ path: string, content: string }> }
  '/v1/sources': SourceView[]
  '/v1/volumes': VolumesResult
  [backups: `/v1/backups${string}`]: BackupListing
}

/** POST routes: their body and their answer */
export interface PostRoutes {
  '/v1/deploy': { body: DeployBody, response: DeployResult[] }
  '/v1/configs': { body: ConfigsBody, response: ConfigsResult }
  '/v1/scale': { body: ScaleBody, response: ScaleBody }
  '/v1/invite': { body: InviteBody, response: InviteResult }
  '/v1/cordon': { body: CordonBody, response: { node: string } }
  '/v1/uncordon': { body: UncordonBody, response: { node: string } }
  '/v1/nodes/remove': { body: NodeRemoveBody, response: RemovedNode }
  '/v1/orgs/remove': { body: OrgRemoveBody, response: Tally }
  [approve: `/v1/proposals/${string}/approve`]: { body: Record<string, never>, response: Tally }
  '/v1/secrets': { body: SecretBody, response: SecretSetResult }
  '/v1/test/partition': { body: PartitionBody, response: PartitionBody }
  '/v1/images/push': { body: ImagePushBody, response: ImagePushResult }
  '/v1/images/scan': { body: ImageScanBody, response: ScanResult }
  '/v1/policy': { body: PolicyBody, response: PolicyResult }
  '/v1/scanner-db': { body: ScannerDbBody, response: ScannerDbResult }
  '/v1/builds': { body: BuildBody, response: BuildView }
  '/v1/apply': { body: ApplyBody, response: ApplyResult }
  '/v1/sources': { body: SourceBody, response: SourceView }
  '/v1/backup': { body: BackupBody, response: BackupResult }
  '/v1/restore': { body: RestoreBody, response: RestoreResult }
  '/v1/recovery-key': { body: Record<string, never>, response: { org: string, key: string } }
}

/** DELETE routes and what they answer */
export interface DeleteRoutes {
  [project: `/v1/projects/${string}`]: { removed: string[] }
  [service: `/v1/services/${string}/${string}`]: { removed: string, volumes?: true }
  [secret: `/v1/secrets/${string}/${string}/${string}`]: { removed: string }
  [source: `/v1/sources/${string}`]: { removed: string }
}

/** an error answer: `code` is the error's class name (BadRequestError → 400, NotFoundError → 404, …) */
export interface ApiError { error: string, code: string, problems?: string[] }
