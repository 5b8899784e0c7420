/**
 * The service spec: what an organization wants running. Parsed and validated
 * from YAML by `parseServiceSpec` (spec-parse.ts); this file holds only the
 * shapes and the defaults, so every layer can share them.
 */

/** `org/name`, the id of a service across the mesh */
export type ServiceId = string & { __brand: 'ServiceId' }

export type PortSpec = {
  /** port inside the container */
  container: number
  /** port published on the host; at most one replica per node may hold it */
  host?: number
  /** the host address a published port binds to (IPv4 or IPv6); absent: every address */
  hostIp?: string
  protocol: 'tcp' | 'udp'
  /**
   * how a published port is reached. `ingress` (the default): every node of
   * the mesh listens on it and forwards each connection to a healthy replica
   * (the routing mesh); `host`: only the nodes that run a replica, bound by
   * the container itself (Docker's port publishing)
   */
  mode?: 'ingress' | 'host'
  /** `v2`: forwarded connections start with a PROXY protocol v2 header that carries the client's address */
  proxyProtocol?: 'v2'
}

/**
 * A web app on the mesh's shared ports (80 and 443 by default): every node
 * routes plain HTTP by its `Host` header and TLS by the ClientHello's SNI
 * to the service, without terminating TLS (the certificate stays in the
 * container)
 */
export type HttpRoute = {
  /** the host name, lower case, e.g. `cloud.example.org` */
  host: string
  /** the container port that answers plain HTTP */
  port?: number
  /** the container port that answers TLS */
  tlsPort?: number
  /** `v2`: connections start with a PROXY protocol v2 header */
  proxyProtocol?: 'v2'
}

export type HealthSpec = {
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

export type VolumeSpec = {
  /**
   * volume name, scoped to the service (or to its project); absent for an
   * anonymous volume, made new for each container and removed with it
   */
  name?: string
  /** mount path inside the container */
  path: string
  readOnly: boolean
  /** how a named volume is backed up; absent: every 5 minutes, no hooks */
  backup?: VolumeBackupSpec
}

/**
 * Snapshots of a named volume (restic, encrypted by its owner, stored on
 * other organizations' nodes), as Co-op Cloud's backup labels describe them
 */
export type VolumeBackupSpec = {
  /** ms between snapshots while the service runs; 0: never backed up */
  interval: number
  /** commands run inside the container before each snapshot, in order (e.g. a database dump into the volume); one that fails skips the snapshot */
  pre?: string[][]
  /** commands run inside the container after each snapshot */
  post?: string[][]
}

/** a tmpfs (memory-backed) mount */
export type TmpfsSpec = {
  path: string
  /** bytes; absent: the engine's default (half the host's memory) */
  size?: number
  /** permission bits of the mount point, e.g. 0o1777 */
  mode?: number
}

/**
 * A file written into the container before it starts, on whichever node runs
 * it (as Swarm's configs are). Its content is not in the spec: it is stored in
 * chunks of at most `CONFIG_CHUNK_BYTES`, each under
 * `config/<org>/<service>/<sha256 of the chunk>`, so the spec names the
 * content exactly and stays small.
 */
export type ConfigFileSpec = {
  /** absolute path of the file inside the container */
  path: string
  /** bytes */
  size: number
  /** sha256 (hex) of each chunk, in order; empty for an empty file */
  chunks: string[]
  /** permission bits, e.g. 0o444 */
  mode: number
  uid?: number
  gid?: number
}

/** A secret of the service (`minga secret set`) given to its containers as a file instead of an environment variable */
export type SecretFileSpec = {
  /** the secret's name, as `minga secret set SERVICE NAME` set it */
  secret: string
  /** absolute path of the file inside the container, e.g. /run/secrets/db_password */
  path: string
  /** permission bits, e.g. 0o444 */
  mode: number
  uid?: number
  gid?: number
}

/** how a new version rolls out, and whether minga looks for one */
export type UpdateSpec = {
  maxUnavailable: number
  /**
   * follow the image's tag: when it names a newer digest (pushed into the
   * mesh, or in a reachable registry), the org's scan gate runs and then a
   * rolling update to it
   */
  watch?: boolean
  /** ms between checks of the registry for a newer digest (the mesh's own tags are followed as they change) */
  watchInterval?: number
}

export type Resources = {
  /** millicores: 1000 is one core */
  cpu: number
  /** bytes */
  memory: number
}

export type ServiceSpec = {
  name: string
  org: string
  /** the Compose project the service came from; its services and volumes are named within it */
  project?: string
  image: string
  /**
   * the image's id (`sha256:` and the hex digest of its config) that `image`
   * named when it was deployed: every node runs these bytes, fetched from
   * the mesh or pulled and checked, and only a new digest rolls the
   * replicas. Absent: each node runs whatever `image` names on it
   * (`minga deploy --unpinned`)
   */
  imageDigest?: string
  /** replaces the image's entrypoint; an empty list resets it to none */
  entrypoint?: string[]
  command?: string[]
  /** user (and group) the container's processes run as: `1000`, `1000:1000`, `postgres` */
  user?: string
  env: Record<string, string>
  replicas: number
  /** limits of each replica; also what the scheduler reserves, unless `reservations` says otherwise */
  resources: Resources
  /** what the scheduler reserves for each replica on its node, where it differs from the limits */
  reservations?: Partial<Resources>
  /** `org`: spread replicas across organizations first, then nodes; `node`: across nodes only */
  spread: 'org' | 'node'
  /** organizations whose nodes may run this service; absent means any */
  allowOrgs?: string[]
  /** node labels that a node must carry, with these values, to run this service */
  constraints: Record<string, string>
  /** node labels that keep a node from running this service: label → values it must not have (a node without the label qualifies) */
  excludedLabels?: Record<string, string[]>
  ports: PortSpec[]
  health?: HealthSpec
  update: UpdateSpec
  /** never run twice: placed only by a side of a partition that sees a majority of the mesh */
  singleton: boolean
  /**
   * a warm standby: the node that would take over each replica keeps its
   * container created, not started, so a failover only starts it. Absent:
   * on for services that are not singletons and have no named volumes nor
   * ports of mode host (`standbyWanted`); true is refused for singletons and
   * named volumes (their data moves with a restore, not a created container)
   */
  standby?: boolean
  volumes: VolumeSpec[]
  tmpfs?: TmpfsSpec[]
  configs?: ConfigFileSpec[]
  secretFiles?: SecretFileSpec[]
  /** the host names this service answers on the shared web ports */
  http?: HttpRoute[]
  /**
   * organizations (besides its own) whose services may reach this one by
   * name (`name.org`); `*`: every organization of the mesh
   */
  expose?: string[]
}

/** The value stored under `service/<org>/<name>` */
export type ServiceRecord = {
  spec: ServiceSpec
  /** HLC of the first deploy, kept across updates: older services are placed first */
  created: string
  /** the git source and commit that last changed the spec, when a source did (`minga apply --git`) */
  source?: { name: string, commit: string }
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
  healthStartPeriod: 0,
  watchInterval: 5 * 60_000,
  backupInterval: 300_000
} as const

/** the shortest and longest snapshot interval of a volume, ms */
export const BACKUP_INTERVAL_LIMITS = { min: 30_000, max: 86_400_000 } as const
/** hook commands before (or after) a snapshot, at most */
export const MAX_BACKUP_HOOKS = 8

/** config content is stored in chunks of at most this many bytes, one entry each */
export const CONFIG_CHUNK_BYTES = 32 * 1024

/** `org/name`, branded as a ServiceId */
export function serviceId (org: string, name: string): ServiceId {
  return `${org}/${name}` as ServiceId
}

/**
 * The smallest stored spec of `org/name` running `image`, every other field at
 * its default (SPEC_DEFAULTS): one replica, spread over orgs, no constraints,
 * ports or volumes; `extra` is laid over it. For code and tests that build a
 * spec without parsing one.
 */
export function defaultSpec (org: string, name: string, image: string, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name,
    org,
    image,
    env: {},
    replicas: SPEC_DEFAULTS.replicas,
    resources: { cpu: SPEC_DEFAULTS.cpu, memory: SPEC_DEFAULTS.memory },
    spread: SPEC_DEFAULTS.spread,
    constraints: {},
    ports: [],
    update: { maxUnavailable: SPEC_DEFAULTS.maxUnavailable },
    singleton: false,
    volumes: [],
    ...extra
  }
}
