/**
 * A scenario, resolved: every duration in virtual ms, every default filled
 * in. `parse.ts` reads one from YAML.
 */
import type { Timing, WorkCosts } from '@minga/node/core'
import type { LatencyDist, NetworkParams } from '../network/model.js'

export interface ServiceMix {
  count: number
  /** replicas per service, uniform in [min, max] */
  replicas: { min: number, max: number }
  /** millicores and bytes each replica requests */
  cpu: number
  memory: number
  /** how many of the services are singletons (one replica that must never run twice) */
  singletons: number
  /** give services a health check (healthy one interval after start) */
  healthCheck: boolean
  /** how many services (singletons first) have a volume backed up to other organizations' nodes */
  volumes: number
}

/** the model of volumes and their backups (core/volumes/model-backend.ts), for scenarios with volumes */
export interface BackupModel {
  /** bytes each volume holds once its service has written to it */
  size: number
  /** ms between snapshots of each volume */
  interval: number
  /** bytes per second of a snapshot or a restore */
  throughput: number
  /** ms every snapshot or restore costs whatever its size */
  fixed: number
  /** copies of each snapshot, on other organizations' nodes first (R) */
  holders: number
  /** ms between two lines a running replica writes to its volume */
  writeEvery: number
}

export type Action =
  /**
   * `process`: only minga's process dies (kill -9, OOM): the host and its
   * containers live on until the node's supervisor stops them;
   * `supervised: false` models a node without one (they run on)
   */
  | { at: number, kind: 'kill', nodes: number, restartAfter?: number, silent: boolean, process?: boolean, supervised?: boolean, /** only nodes that run a replica of the ingress service of this name */ serving?: string }
  | { at: number, kind: 'churn', until: number, mtbf: number, repair: number }
  | { at: number, kind: 'org-loss', org: 'largest' | number }
  | { at: number, kind: 'partition', duration: number, share: number }
  /** `author: 'one'`: every service of one org, written by one node (one `minga deploy`); else each from a random org's node */
  | { at: number, kind: 'deploy', services: number, over: number, author?: 'one' }
  | { at: number, kind: 'rolling-update', services: number | 'all', over: number }
  | { at: number, kind: 'cordon', nodes: number }
  /** the CPUs of `nodes` stall for `duration` (again every `every`, on the same nodes) */
  | { at: number, kind: 'stall', nodes: number, duration: number, every?: number }
  /** every message to or from `nodes` takes `delay` longer, for `duration` */
  | { at: number, kind: 'slow', nodes: number, delay: number, duration: number }

/**
 * Clients of the routing mesh (cluster/ingress.ts, scenario/clients.ts): a
 * service of the first organization publishing `port` (mode ingress), and
 * request loops against that port on one node that runs no replica of it,
 * each request on a new connection, as bench/ingress-failover.mjs does with
 * real nodes
 */
export interface IngressModel {
  /** the service's name; `kill: { serving: NAME }` kills the nodes that run it */
  service: string
  replicas: number
  /** the published port (and the container's) */
  port: number
  /** the service's health check interval: a new replica takes connections once healthy */
  health: number
  /** request loops, one request after another each */
  clients: number
  /** ms between an answer (or a failure) and the client's next request */
  pause: number
  /** ms a client waits for its answer before the request counts as failed */
  timeout: number
  /** ms into the run when the loops start and stop */
  from: number
  until: number
  /** one-way ms between the clients and the node they connect to */
  clientLatency: number
  /** ms the replica takes to answer */
  serve: number
  /** bytes of a request and of its answer */
  requestBytes: number
  answerBytes: number
}

/**
 * The nodes' CPU (node/src/core/cpu-model.ts): what each step costs a
 * node's process, in ms of one core, and whether the nodes share one
 * machine. Without it every step is free and instant.
 */
export interface CpuScenario {
  /** the nodes all run on one machine of this many cores (as the sim-vs-real bench's ten processes do); absent: each node has a core of its own */
  cores?: number
  costs: WorkCosts
  /** ms of one core a second each node spends beyond the steps charged (CpuModel.idle); absent: none */
  idle?: number
}

export interface Scenario {
  name: string
  description: string
  seed: number
  /** virtual ms of the timeline */
  duration: number
  /** after the timeline, at most this long for the mesh to settle before the invariants are checked */
  settle: number
  /** ms between measurement samples */
  sample: number
  nodes: number
  orgs: number
  /** the mesh has run a while: every node starts knowing every member's alive update (cluster/warm.ts); default false (it boots at once) */
  warm: boolean
  /** shares of the nodes held by the first orgs, e.g. [0.1]; the rest split the remainder evenly */
  orgShares: number[]
  node: { cpu: number, memory: number }
  runtime: { startDelay: LatencyDist, failureRate: number }
  services: ServiceMix
  backup: BackupModel
  network: NetworkParams
  timing: Partial<Timing>
  /** the nodes' CPU, when the scenario charges it */
  cpu?: CpuScenario
  /** clients of the routing mesh, when the scenario has them */
  ingress?: IngressModel
  timeline: Action[]
}
