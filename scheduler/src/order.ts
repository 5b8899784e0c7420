import { DuplicateNodeError, DuplicateServiceError } from './errors.js'
import type { DesiredService, NodeInfo } from './types.js'
import type { ServiceSpec } from '@minga/protocol'

/** Code-unit string order: unlike localeCompare it is the same on every machine */
export function compareStrings (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Placement order: oldest first (`created`), then id, so a new service never displaces a running one */
export function sortServices (services: readonly DesiredService[]): DesiredService[] {
  const seen = new Set<string>()
  for (const s of services) {
    if (seen.has(s.id)) throw new DuplicateServiceError(s.id)
    seen.add(s.id)
  }
  return [...services].sort((a, b) => compareStrings(a.created, b.created) || compareStrings(a.id, b.id))
}

/** nodes sorted by peer id, the order every node places in; DuplicateNodeError when an id repeats */
export function sortNodes (nodes: readonly NodeInfo[]): NodeInfo[] {
  const sorted = [...nodes].sort((a, b) => compareStrings(a.id, b.id))
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].id === sorted[i - 1].id) throw new DuplicateNodeError(sorted[i].id)
  }
  return sorted
}

/** Replicas the scheduler places: `singleton` services run at most one */
export function replicaCount (spec: ServiceSpec): number {
  const n = Number.isFinite(spec.replicas) ? Math.max(0, Math.floor(spec.replicas)) : 0
  return spec.singleton ? Math.min(n, 1) : n
}
