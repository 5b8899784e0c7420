/**
 * The service spec: what an organization wants running. Parsed and validated
 * from YAML by `parseServiceSpec` (spec-parse.ts); this file holds only the
 * shapes and the defaults, so every layer can share them.
 */

/** `org/name`, the id of a service across the mesh */
export type ServiceId = string & { __brand: 'ServiceId' }

export interface PortSpec {
  /** port inside the container */
  container: number
  /** port published on the host; at most one replica per node may hold it */
  host?: number
  protocol: 'tcp' | 'udp'
}

export interface HealthSpec {
  /** command run inside the container; exit 0 means healthy */
  cmd: string[]
  /** milliseconds between checks */
  interval: number
  /** milliseconds before a check counts as failed */
  timeout: number
  /** consecutive failures before the replica is unhealthy */
  retries: number
  /** milliseconds after start during which failures do not count */
  startPeriod: number
}

export interface VolumeSpec {
  /** volume name, scoped to the service */
  name: string
  /** mount path inside the container */
  path: string
  readOnly: boolean
}

export interface Resources {
  /** millicores: 1000 is one core */
  cpu: number
  /** bytes */
  memory: number
}

export interface ServiceSpec {
  name: string
  org: string
  image: string
  command?: string[]
  env: Record<string, string>
  replicas: number
  resources: Resources
  /** `org`: spread replicas across organizations first, then nodes; `node`: across nodes only */
  spread: 'org' | 'node'
  /** organizations whose nodes may run this service; absent means any */
  allowOrgs?: string[]
  /** node labels that a node must carry, with these values, to run this service */
  constraints: Record<string, string>
  ports: PortSpec[]
  health?: HealthSpec
  update: { maxUnavailable: number }
  /** never run twice: placed only by a side of a partition that sees a majority of the mesh */
  singleton: boolean
  volumes: VolumeSpec[]
}

/** The value stored under `service/<org>/<name>` */
export interface ServiceRecord {
  spec: ServiceSpec
  /** HLC of the first deploy, kept across updates: older services are placed first */
  created: string
}

export const SPEC_DEFAULTS = {
  replicas: 1,
  cpu: 100,
  memory: 64 * 1024 * 1024,
  spread: 'org',
  maxUnavailable: 1,
  healthInterval: 5_000,
  healthTimeout: 3_000,
  healthRetries: 3,
  healthStartPeriod: 0
} as const

export function serviceId (org: string, name: string): ServiceId {
  return `${org}/${name}` as ServiceId
}
