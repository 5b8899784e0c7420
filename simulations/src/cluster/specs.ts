/** the services a scenario deploys: valid minga specs, drawn from the scenario's mix */
import { checkServiceSpec, type ServiceSpec } from '@minga/protocol'
import type { Prng } from '../engine/prng.js'
import type { IngressModel, ServiceMix } from '../scenario/types.js'

/**
 * a service spec of the scenario's mix (replicas, cpu and memory drawn with `random`), of `org`, named `name`;
 * `backupInterval` (ms) gives it a volume `data` backed up at that interval (0: a singleton's volume, never backed up)
 */
export function makeSpec (mix: ServiceMix, org: string, name: string, random: Prng, singleton: boolean, backupInterval?: number): ServiceSpec {
  const volumes = backupInterval !== undefined && (backupInterval > 0 || singleton)
    ? [{ name: 'data', path: '/data', readOnly: false, backup: { interval: backupInterval } }]
    : singleton ? [{ name: 'data', path: '/data', readOnly: false }] : []
  const replicas = singleton ? 1 : mix.replicas.min + random.int(mix.replicas.max - mix.replicas.min + 1)
  return checkServiceSpec({
    name,
    org,
    image: `registry.example/${org}/${name}:1`,
    env: {},
    replicas,
    resources: { cpu: mix.cpu, memory: mix.memory },
    spread: 'org',
    constraints: {},
    ports: [],
    ...(mix.healthCheck ? { health: { cmd: ['true'], interval: 5000, timeout: 3000, retries: 3, startPeriod: 0 } } : {}),
    update: { maxUnavailable: 1 },
    singleton,
    volumes
  })
}

/** the same service with a new image: a rolling update */
export function nextVersion (spec: ServiceSpec): ServiceSpec {
  const match = /:(\d+)$/.exec(spec.image)
  const version = match === null ? 2 : Number(match[1]) + 1
  return checkServiceSpec({ ...spec, image: `${spec.image.replace(/:\d+$/, '')}:${version}` })
}

/**
 * the routing mesh's service of an ingress scenario: `model.replicas` of a web server of `org` that publishes
 * `model.port` in mode ingress (every node listens and forwards) and is healthy one `model.health` after it starts
 */
export function ingressSpec (model: IngressModel, org: string): ServiceSpec {
  return checkServiceSpec({
    name: model.service,
    org,
    image: `registry.example/${org}/${model.service}:1`,
    env: {},
    replicas: model.replicas,
    resources: { cpu: 50, memory: 16 * 2 ** 20 },
    spread: 'org',
    constraints: {},
    ports: [{ host: model.port, container: model.port, protocol: 'tcp' }],
    health: { cmd: ['true'], interval: model.health, timeout: 10_000, retries: 3, startPeriod: 0 },
    update: { maxUnavailable: 1 },
    singleton: false,
    volumes: []
  })
}
