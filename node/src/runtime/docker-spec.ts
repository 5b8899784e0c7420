/**
 * How a replica becomes a Docker container: its name, labels, limits,
 * ports, health check, volumes and network. Pure: docker.ts sends it.
 */
import { createHash } from 'node:crypto'
import { isHostModePort } from '@minga/protocol'
import { DOCKER_LOG_CONFIG } from './constants.js'
import { RuntimeStartError } from './errors.js'
import { LABELS } from './types.js'
import type { ReplicaSpec } from './types.js'
import type { ContainerCreateOptions, MountSettings } from 'dockerode'

export interface Owner { meshId: string, nodeId: string }

const NS_PER_MS = 1_000_000

/** Docker names and volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*` */
export function sanitizeName (text: string, max = 63): string {
  const clean = text.replace(/[^a-zA-Z0-9_.-]+/g, '-').replace(/^[^a-zA-Z0-9]+/, '').slice(0, max).replace(/[_.-]+$/, '')
  return clean === '' ? 'x' : clean
}

/** a short tag of the owning node: two nodes (or meshes) may share an engine */
export function ownerTag (owner: Owner): string {
  return createHash('sha256').update(`${owner.meshId}/${owner.nodeId}`).digest('hex').slice(0, 6)
}

/** `minga-<org>-<name>-<replica>-<hash8>-<node6>`, unique per engine */
export function containerName (replica: ReplicaSpec, owner: Owner): string {
  const { org, name } = replica.spec
  return ['minga', sanitizeName(org, 32), sanitizeName(name), String(replica.replica), sanitizeName(replica.hash, 8), ownerTag(owner)].join('-')
}

/** `minga-<org>-<service>-<volume>`: a volume belongs to the service, not to one replica */
export function volumeName (org: string, service: string, volume: string): string {
  return ['minga', sanitizeName(org, 32), sanitizeName(service), sanitizeName(volume)].join('-')
}

/** label filters that select this node's containers in this mesh */
export function ownerFilters (owner: Owner): string[] {
  return [`${LABELS.mesh}=${owner.meshId}`, `${LABELS.node}=${owner.nodeId}`]
}

/**
 * The network a replica joins. With a bridge network, Docker's default. An
 * engine without one (`dockerd --bridge none`, as in tests) gets `none`, or
 * `host` when the replica publishes ports, which then must keep their number
 * (host networking cannot map 8080 to 80)
 */
export function networkModeFor (replica: ReplicaSpec, hasBridge: boolean): string | undefined {
  if (hasBridge) return undefined
  const published = replica.spec.ports.filter(p => p.host !== undefined)
  if (published.length === 0) return 'none'
  const remapped = published.find(p => p.host !== p.container)
  if (remapped !== undefined) {
    throw new RuntimeStartError(`This Docker engine has no bridge network, so ${replica.service} cannot publish container port ${remapped.container}/${remapped.protocol} on host port ${remapped.host}; give the engine a bridge network or publish the port under its own number`)
  }
  const bound = published.find(p => p.hostIp !== undefined)
  if (bound !== undefined) {
    throw new RuntimeStartError(`This Docker engine has no bridge network, so ${replica.service} cannot bind port ${bound.host}/${bound.protocol} to ${bound.hostIp} only (host networking listens where the program does); give the engine a bridge network or drop the address`)
  }
  return 'host'
}

export interface BodyOptions {
  /** from networkModeFor */
  networkMode?: string
  /**
   * the node's service network (docker-network.ts): the replica joins it with
   * the node as its DNS server, and only ports of mode `host` are published
   * by Docker (the node's forwarder serves the others)
   */
  network?: { name: string, gateway: string }
  /** run Docker's init (tini) as PID 1 */
  init?: boolean
  /** what to create it from (ensureImage's answer): the name, or a pinned image's id; default the spec's pin, else its name */
  image?: string
  /** a warm standby (`Runtime.prepare`): labelled so */
  standby?: boolean
}

/**
 * Docker's container-create body for a replica: labels naming its mesh, node, service, replica and hash,
 * resource limits, ports, volumes, health check, tmpfs, user, entrypoint
 */
export function createBody (replica: ReplicaSpec, owner: Owner, options: BodyOptions = {}): ContainerCreateOptions {
  const networkMode = options.network?.name ?? options.networkMode
  const { spec } = replica
  const env = { ...spec.env, ...replica.secretEnv }
  const exposed: Record<string, object> = {}
  const bindings: Record<string, Array<{ HostPort: string, HostIp?: string }>> = {}
  for (const port of spec.ports) {
    const key = `${port.container}/${port.protocol}`
    exposed[key] = {}
    if (port.host === undefined || networkMode === 'host') continue
    if (options.network !== undefined && !isHostModePort(port)) continue
    // one container port may be published on several host ports or addresses
    bindings[key] = [...(bindings[key] ?? []), { HostPort: String(port.host), ...(port.hostIp === undefined ? {} : { HostIp: port.hostIp }) }]
  }
  const body: ContainerCreateOptions = {
    // a pinned image runs as its exact bytes, whatever the tag names on this engine
    Image: options.image ?? spec.imageDigest ?? spec.image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: {
      [LABELS.mesh]: owner.meshId,
      [LABELS.node]: owner.nodeId,
      [LABELS.service]: replica.service,
      [LABELS.replica]: String(replica.replica),
      [LABELS.hash]: replica.hash,
      ...(options.standby === true ? { [LABELS.standby]: '1' } : {})
    },
    ExposedPorts: exposed,
    Tty: false,
    HostConfig: {
      NanoCpus: Math.round(spec.resources.cpu * NS_PER_MS),
      Memory: spec.resources.memory,
      ...(spec.reservations?.memory === undefined ? {} : { MemoryReservation: spec.reservations.memory }),
      PortBindings: bindings,
      // the node's reconcile loop restarts replicas, not Docker
      RestartPolicy: { Name: 'no' },
      ...(options.init === true ? { Init: true } : {}),
      LogConfig: DOCKER_LOG_CONFIG,
      Mounts: mountsOf(replica, owner),
      ...(networkMode === undefined ? {} : { NetworkMode: networkMode }),
      ...(options.network === undefined ? {} : { Dns: [options.network.gateway] })
    }
  }
  if (spec.command !== undefined) body.Cmd = spec.command
  // Docker reads [""] as "no entrypoint"; an empty list would keep the image's
  if (spec.entrypoint !== undefined) body.Entrypoint = spec.entrypoint.length === 0 ? [''] : spec.entrypoint
  if (spec.user !== undefined) body.User = spec.user
  if (spec.health !== undefined) {
    const h = spec.health
    body.Healthcheck = {
      Test: ['CMD', ...h.cmd],
      Interval: h.interval * NS_PER_MS,
      Timeout: h.timeout * NS_PER_MS,
      Retries: h.retries,
      StartPeriod: h.startPeriod * NS_PER_MS
    }
  }
  return body
}

/**
 * Named volumes (the service's, kept across containers), anonymous volumes
 * (a new one per container, removed with it) and tmpfs mounts
 */
function mountsOf (replica: ReplicaSpec, owner: Owner): MountSettings[] {
  const { spec } = replica
  const labels = { [LABELS.mesh]: owner.meshId, [LABELS.service]: replica.service }
  // @types/dockerode wants every VolumeOptions field; the API needs none
  const volumes = spec.volumes.map(v => ({
    Type: 'volume' as const,
    ...(v.name === undefined ? {} : { Source: volumeName(spec.org, spec.name, v.name) }),
    Target: v.path,
    ReadOnly: v.readOnly,
    VolumeOptions: { Labels: labels }
  }) as unknown as MountSettings)
  const tmpfs = (spec.tmpfs ?? []).map(t => ({
    Type: 'tmpfs' as const,
    Target: t.path,
    TmpfsOptions: { ...(t.size === undefined ? {} : { SizeBytes: t.size }), ...(t.mode === undefined ? {} : { Mode: t.mode }) }
  }) as unknown as MountSettings)
  return [...volumes, ...tmpfs]
}
