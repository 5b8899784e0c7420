/**
 * What the control API's routes are given: the node's operations and its
 * trust and secrets services (the core's), and `NodeControl`, the few
 * things only the daemon knows (door addresses, the private-network key,
 * metrics, test-mode partitions). Routes never see the Daemon or NodeCore.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ImageOperations } from '../core/images/image-ops.js'
import type { Builds } from '../core/builds/shared-builds.js'
import type { Sources } from '../core/gitops/sources.js'
import type { Operations } from '../core/ops/operations.js'
import type { Secrets } from '../core/trust/secrets.js'
import type { Trust } from '../core/trust/trust.js'
import type { VolumeVerbs } from '../core/volumes/verbs.js'

/** the daemon's part: what the core cannot know */
export interface NodeControl {
  /** door addresses for an invite: this node's, then other live members' (at most 8) */
  bootstrapAddrs: () => string[]
  /** the private-network key of the mesh (bytes of the swarm key) */
  psk: () => Promise<Uint8Array>
  /** every metric of this node, in Prometheus' text format */
  metrics: () => Promise<{ contentType: string, text: string }>
  /** where the dashboard and /metrics answer, if they do */
  httpUrl: () => string | undefined
  /** test mode: refuse and drop connections to these peers (a partition), or heal with [] */
  partition: (blocked: string[]) => Promise<void>
  /** what is wrong with this node that only the daemon sees (no supervisor), for `minga status` */
  problems: () => string[]
}

/** everything a route may use */
export interface ApiContext {
  operations: Operations
  trust: Pick<Trust, 'removeNode' | 'proposals' | 'proposeOrgRemoval' | 'approve'>
  secrets: Pick<Secrets, 'list' | 'set' | 'remove'>
  sources: Pick<Sources, 'list' | 'set' | 'remove'>
  /** the volumes verbs; undefined on a node that does not back up volumes (no restic) */
  volumes?: Pick<VolumeVerbs, 'volumes' | 'backup' | 'list' | 'restore'>
  node: NodeControl
  /** the image verbs and the scan gate (absent with the in-memory runtime) */
  images?: Pick<ImageOperations, 'push' | 'list' | 'scan' | 'setPolicy' | 'policy' | 'org' | 'pushScannerDb' | 'outdated' | 'holders'>
  /** builds from git (absent with the in-memory runtime) */
  builds?: Pick<Builds, 'build' | 'list' | 'get' | 'logs'>
}

/** one request as a handler sees it: the body parsed (JSON, at most 1 MiB; check it with api/bodies.ts), path parameters decoded */
export type Handler = (ctx: { body: unknown, params: string[], query: URLSearchParams, req: IncomingMessage, res: ServerResponse }) => Promise<unknown>

/** where route modules register their routes; a handler that writes `res` itself (streams) returns nothing */
export interface ApiRoutes {
  add: (method: 'GET' | 'POST' | 'DELETE', path: string, handler: Handler) => void
}
