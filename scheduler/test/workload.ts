/** A seeded, realistic mesh for the churn tests: a smaller twin of bench/scheduler-workload.mjs */
import { GIB, MIB, mulberry32, service } from './fixtures.js'
import type { DesiredService, NodeInfo } from '../src/index.js'

export interface Workload {
  services: DesiredService[]
  nodes: NodeInfo[]
}

export function workload (options: { services: number, nodes: number, orgs: number, seed: number }): Workload {
  const rand = mulberry32(options.seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]
  const orgs = Array.from({ length: options.orgs }, (_, i) => `org-${i}`)
  const orgOf = (): string => orgs[Math.floor(rand() ** 1.6 * orgs.length)]
  const nodes: NodeInfo[] = Array.from({ length: options.nodes }, (_, i) => {
    const cores = pick([4, 8, 8, 12, 16])
    return {
      id: `node-${i}-${Math.floor(rand() * 1e9).toString(36)}`,
      org: orgOf(),
      capacity: { cpu: cores * 1000, memory: cores * pick([2, 4, 4]) * GIB },
      labels: { disk: rand() < 0.6 ? 'ssd' : 'hdd' },
      cordoned: false,
      ...(rand() < 0.2 ? { shareForOthers: 0.5 } : {})
    }
  })
  const services = Array.from({ length: options.services }, (_, i) => {
    const org = orgOf()
    const x = rand()
    return service(`${org}/svc-${i}`, {
      created: String(i).padStart(6, '0'),
      replicas: x < 0.2 ? 1 : x < 0.4 ? 2 : x < 0.7 ? 3 : x < 0.85 ? 4 : 6,
      resources: { cpu: 50 + Math.round(rand() ** 3 * 45) * 10, memory: (64 + Math.round(rand() ** 2 * 448)) * MIB },
      spread: rand() < 0.9 ? 'org' : 'node',
      constraints: rand() < 0.1 ? { disk: 'ssd' } : {}
    })
  })
  return { services, nodes }
}
