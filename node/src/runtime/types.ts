/**
 * The container runtime, as the node core sees it. Two adapters implement
 * it: Docker through dockerode (docker.ts) and an in-memory model
 * (memory.ts) for unit tests and the simulator; both pass one conformance
 * suite (test/runtime-suite.ts).
 *
 * A runtime belongs to one node of one mesh: it labels every container it
 * creates with the mesh, the node, the service, the replica and the spec
 * hash, and it only ever lists, stops or reads containers that carry its own
 * mesh and node labels.
 */
import type { HealthProbe, Resources, ServiceSpec } from '@minga/protocol'

export interface ReplicaSpec {
  /** `org/name` */
  service: string
  replica: number
  /** hash of the spec: a changed spec means a new container */
  hash: string
  spec: ServiceSpec
  /** extra environment (e.g. decrypted secrets) that must not appear in labels or logs */
  secretEnv?: Record<string, string>
  /**
   * files written into the container before it starts (the spec's configs
   * and secret files, with their content); the spec's hash covers them
   */
  files?: ContainerFile[]
}

export interface ContainerFile {
  /** absolute path inside the container */
  path: string
  content: Uint8Array
  /** permission bits, e.g. 0o444 */
  mode: number
  /** owner; default root (0) */
  uid?: number
  gid?: number
}

export type ContainerState = 'created' | 'starting' | 'running' | 'exited'
export type ContainerHealth = 'healthy' | 'unhealthy' | 'starting' | 'none'

export interface RuntimeContainer {
  id: string
  service: string
  replica: number
  hash: string
  image: string
  state: ContainerState
  /** 'none' when the spec has no health check: a running container then counts as healthy */
  health: ContainerHealth
  exitCode?: number
  /** ms since epoch */
  startedAt?: number
  /** why the container could not be created or started, in words an operator can act on */
  error?: string
  /** the last health check: its exit code (-1: timed out) and output (protocol's probeOutput: one line, bounded) */
  probe?: HealthProbe
  /** its IPv4 address on the node's service network, while it runs on one */
  address?: string
  /** a warm standby (`Runtime.prepare`): created, never started; not a replica until `start` starts it */
  standby?: true
}

export interface LogLine {
  /** ms since epoch, as recorded by the runtime */
  time: number
  stream: 'stdout' | 'stderr'
  text: string
}

export type RuntimeEvent =
  | { type: 'start', id: string }
  | { type: 'die', id: string, exitCode: number }
  | { type: 'health', id: string, health: ContainerHealth }
  | { type: 'remove', id: string }

export interface AbortOptions { signal?: AbortSignal }

export interface LogOptions extends AbortOptions {
  /** ms since epoch */
  since?: number
  /** keep the stream open and yield new lines as they come */
  follow?: boolean
  /** last N lines only */
  tail?: number
}

export interface ImageProgress { image: string, status: string, current?: number, total?: number }

export interface Runtime {
  /** containers of this node in this mesh, any state */
  list (options?: AbortOptions): Promise<RuntimeContainer[]>
  /**
   * create and start the replica (pulling the image if it is missing). Throws
   * `ImageNotFoundError` or `RuntimeStartError` with a clear message; never
   * leaves a half-created container behind
   */
  start (replica: ReplicaSpec, options?: AbortOptions & { onProgress?: (p: ImageProgress) => void }): Promise<RuntimeContainer>
  /**
   * a warm standby of the replica: its image present and its container
   * created, not started (no CPU, no memory, no port bound), listed with
   * `standby: true`. A later `start` of the same replica and hash starts
   * this container instead of creating one; `stop` removes it. A container
   * of the replica already here (standby or not) is returned as it is.
   * Throws as `start` does. Optional: a runtime without it keeps no standby
   */
  prepare?: (replica: ReplicaSpec, options?: AbortOptions) => Promise<RuntimeContainer>
  /** stop (grace period, then kill) and remove; a container that is already gone is not an error */
  stop (id: string, options?: AbortOptions & { graceMs?: number }): Promise<void>
  logs (id: string, options?: LogOptions): AsyncIterable<LogLine>
  /** lifecycle events of this node's containers until the signal aborts */
  events (options?: AbortOptions): AsyncIterable<RuntimeEvent>
  /** what the host offers: cpu in millicores, memory in bytes */
  capacity (): Promise<Resources>
  /**
   * runs a command in a running container (a backup's pre and post hooks):
   * its exit code (-1 when it outlived `timeoutMs`) and the end of its output.
   * Optional: a runtime without it runs no hooks
   */
  exec?: (id: string, cmd: string[], options: AbortOptions & { timeoutMs: number }) => Promise<{ exitCode: number, output: string }>
  close (): Promise<void>
}

/** labels every minga container carries */
export const LABELS = {
  mesh: 'io.minga.mesh',
  node: 'io.minga.node',
  service: 'io.minga.service',
  replica: 'io.minga.replica',
  hash: 'io.minga.hash',
  /** `1` on a container created as a warm standby (`Runtime.prepare`) */
  standby: 'io.minga.standby'
} as const
