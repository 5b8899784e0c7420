/** Builders and fast-check arbitraries shared by the scheduler tests */
import fc from 'fast-check'
import type { DesiredService, NodeInfo } from '../src/index.js'
import { defaultSpec, type ServiceSpec } from '@minga/protocol'

export const MIB = 1024 ** 2
export const GIB = 1024 ** 3

export function node (id: string, org: string, more: Partial<NodeInfo> = {}): NodeInfo {
  return { id, org, capacity: { cpu: 8000, memory: 16 * GIB }, labels: {}, cordoned: false, ...more }
}

export interface ServiceOptions extends Partial<Omit<ServiceSpec, 'name' | 'org'>> {
  created?: string
  hash?: string
}

/** `id` is `org/name` */
export function service (id: string, options: ServiceOptions = {}): DesiredService {
  const [org, name] = id.split('/')
  const { created = '0000', hash = 'h1', ...spec } = options
  return {
    id,
    created,
    hash,
    spec: defaultSpec(org, name, `example/${name}:1`, spec)
  }
}

export function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function shuffle<T> (items: readonly T[], seed: number): T[] {
  const rand = mulberry32(seed)
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

const ORGS = ['acme', 'bravo', 'coop', 'delta', 'echo', 'fox']

export interface Scenario {
  services: DesiredService[]
  nodes: NodeInfo[]
}

export interface ScenarioOptions {
  /** nodes far larger than any demand */
  ample?: boolean
  /** no host ports, constraints, org or accept lists, shares or cordons: spread alone decides */
  plain?: boolean
  maxNodes?: number
  maxServices?: number
  maxReplicas?: number
}

/** random meshes: up to 6 orgs, mixed sizes, policies and service specs */
export function scenario (options: ScenarioOptions = {}): fc.Arbitrary<Scenario> {
  const { ample = false, plain = false, maxNodes = 20, maxServices = 25, maxReplicas = 5 } = options
  const orgs = fc.constantFrom(...ORGS)
  const orgList = fc.uniqueArray(orgs, { minLength: 1, maxLength: 3 })
  const nodeArb = fc.record({
    org: orgs,
    cpu: ample ? fc.constant(1_000_000) : fc.integer({ min: 0, max: 16 }).map(c => c * 1000),
    memory: ample ? fc.constant(1024 * GIB) : fc.integer({ min: 0, max: 32 }).map(g => g * GIB),
    disk: fc.constantFrom('ssd', 'hdd'),
    cordonRoll: fc.integer({ min: 0, max: 9 }),
    acceptOrgs: plain ? fc.constant(undefined) : fc.option(orgList, { freq: 5 }),
    shareForOthers: plain || ample ? fc.constant(undefined) : fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { freq: 3 })
  })
  const serviceArb = fc.record({
    org: orgs,
    replicas: fc.integer({ min: 0, max: maxReplicas }),
    cpu: fc.integer({ min: 0, max: 30 }).map(c => c * 100),
    memory: fc.integer({ min: 0, max: 16 }).map(m => m * 256 * MIB),
    spread: fc.constantFrom<'org' | 'node'>('org', 'node'),
    allowOrgs: plain ? fc.constant(undefined) : fc.option(orgList, { freq: 4 }),
    ssd: plain ? fc.constant(false) : fc.integer({ min: 0, max: 4 }).map(x => x === 0),
    hostPort: plain ? fc.constant(undefined) : fc.option(fc.constantFrom(80, 443), { freq: 4 }),
    udp: fc.boolean(),
    singleton: plain ? fc.constant(false) : fc.integer({ min: 0, max: 9 }).map(x => x === 0),
    created: fc.integer({ min: 0, max: 20 })
  })
  return fc.record({
    nodes: fc.array(nodeArb, { minLength: 0, maxLength: maxNodes }),
    services: fc.array(serviceArb, { minLength: 0, maxLength: maxServices })
  }).map(({ nodes, services }) => ({
    nodes: nodes.map((n, i): NodeInfo => ({
      id: `n${i}-${n.org}`,
      org: n.org,
      capacity: { cpu: n.cpu, memory: n.memory },
      labels: { disk: n.disk },
      cordoned: !plain && n.cordonRoll === 0,
      ...(n.acceptOrgs === null || n.acceptOrgs === undefined ? {} : { acceptOrgs: n.acceptOrgs }),
      ...(n.shareForOthers === null || n.shareForOthers === undefined ? {} : { shareForOthers: n.shareForOthers })
    })),
    services: services.map((s, i) => service(`${s.org}/svc${i}`, {
      created: String(s.created).padStart(4, '0'),
      replicas: s.replicas,
      resources: { cpu: s.cpu, memory: s.memory },
      spread: s.spread,
      constraints: s.ssd ? { disk: 'ssd' } : {},
      ports: s.hostPort === null || s.hostPort === undefined ? [] : [{ container: 8080, host: s.hostPort, protocol: s.udp ? 'udp' : 'tcp', mode: 'host' }],
      singleton: s.singleton,
      ...(s.allowOrgs === null || s.allowOrgs === undefined ? {} : { allowOrgs: s.allowOrgs })
    }))
  }))
}
