/** the figures of one run, as the JSON summary and the report show them */
import type { Scenario } from '../scenario/types.js'
import type { DetectionFigures } from './detection.js'
import type { IngressFigures } from './ingress.js'
import { round, stats, type Stats } from './stats.js'
import type { MeshSnapshot, Violation } from './invariants.js'
import type { VolumeWatch } from './volume-watch.js'

import type { Change, Sample } from './series.js'

export { round, stats, type Stats } from './stats.js'

export interface Summary {
  scenario: string
  seed: number
  nodes: number
  orgs: number
  services: number
  virtualSeconds: number
  digest: string
  availability: { mean: number, min: number, final: number, steadyFrom: number | null }
  convergenceMs: Stats & { never: number }
  convergenceByKind: Record<string, Stats & { never: number }>
  recoveries: Array<{ label: string, at: number, recoveredMs: number | null, availabilityBefore: number }>
  moved: { moved: number, optimal: number, ratio: number | null }
  overReplication: { maxExtraCopies: number, maxDuringPartition: number }
  singletonViolations: number
  /** scenarios with volumes: snapshots acknowledged and how long they took, restores, volumes kept aside, and the snapshot invariants */
  volumes?: VolumeFigures
  /** scenarios with clients of the routing mesh: requests, failed requests, the longest gap between answers (measure/ingress.ts) */
  ingress?: IngressFigures
  /** the failure detector: time to detect failures, and false verdicts (measure/detection.ts) */
  detection: DetectionFigures
  traffic: { bytesPerNodePerSec: Stats, msgsPerNodePerSec: Stats, gossipDeliveries: number, lostCopies: number, recoveredCopies: number, requests: number, /** requests and streams that dialled first */ dials: number }
  containers: { starts: number, stops: number, startErrors: number }
  quiescentAfterMs: number | null
  /** `violations` keeps the first 50; `counts` counts them all, per invariant */
  invariants: { ok: boolean, violations: Violation[], counts: Partial<Record<Violation['invariant'], number>> }
  coreErrors: string[]
  speed: { wallMs: number, buildMs: number, events: number, eventsPerSec: number, virtualPerWall: number, peakRssMb: number, pathTrees: number, decodes: number, heartbeatVerifies: number }
}

export interface VolumeFigures {
  services: number
  /** R, and the modelled size (bytes) and throughput (bytes/s) */
  copies: number
  size: number
  throughput: number
  snapshots: number
  snapshotMs: Stats
  restores: number
  restoreMs: Stats
  asides: number
  backupErrors: number
  /** acknowledged snapshots no running holder keeps (allowed only when R or more of their holders failed) */
  unreadable: number
  lost: number
  staleStarts: number
  /** singleton starts behind a snapshot acknowledged by a node that died before the starting node heard of it (not a violation: nothing could restore it; the lineage keeps that copy aside later) */
  behindUnheard: number
}

/** the convergence times (ms) of the changes that converged, and how many never did */
export function convergence (changes: Change[]): Stats & { never: number } {
  return { ...stats(changes.filter(c => c.converged !== null).map(c => c.converged!)), never: changes.filter(c => c.converged === null).length }
}

/** availability (the share of desired replicas served) from the first sample at 99.9% on: mean, lowest, final, and when it got there */
export function availabilityFigures (samples: Sample[]): Summary['availability'] {
  const steady = samples.findIndex(s => s.availability >= 0.999)
  const after = steady < 0 ? samples : samples.slice(steady)
  const values = after.map(s => s.availability)
  return {
    mean: round(values.reduce((a, b) => a + b, 0) / Math.max(1, values.length), 5),
    min: round(Math.min(...values, 1), 5),
    final: round(samples.at(-1)?.availability ?? 0, 5),
    steadyFrom: steady < 0 ? null : samples[steady].t
  }
}

/** how many replicas each change moved, against the minimum it had to */
export function movedFigures (changes: Change[]): Summary['moved'] {
  let moved = 0
  let optimal = 0
  for (const c of changes) {
    if (c.moved === undefined || c.optimal === undefined) continue
    moved += c.moved
    optimal += c.optimal
  }
  return { moved, optimal, ratio: optimal === 0 ? null : round(moved / optimal, 3) }
}

/** the scenario's name, seed and size (nodes, orgs, services), as the summary shows them */
export function scenarioShape (s: Scenario): Pick<Summary, 'scenario' | 'seed' | 'nodes' | 'orgs' | 'services'> {
  return { scenario: s.name, seed: s.seed, nodes: s.nodes, orgs: s.orgs, services: s.services.count }
}

/** the volume figures of a run with volumes (see VolumeFigures) */
export function volumeFigures (scenario: Scenario, watch: VolumeWatch, snapshot: MeshSnapshot, violations: Violation[]): VolumeFigures {
  const fates = snapshot.volumes?.snapshots ?? []
  return {
    services: scenario.services.volumes,
    copies: scenario.backup.holders,
    size: scenario.backup.size,
    throughput: scenario.backup.throughput,
    snapshots: watch.acknowledged.length,
    snapshotMs: stats(watch.snapshotMs),
    restores: watch.restoreMs.length,
    restoreMs: stats(watch.restoreMs),
    asides: watch.counts.asides,
    backupErrors: watch.counts.backupErrors,
    unreadable: fates.filter(f => f.retained && f.holdersUp === 0).length,
    lost: violations.filter(v => v.invariant === 'snapshot-lost').length,
    staleStarts: watch.staleStarts.length,
    behindUnheard: watch.counts.behindUnheard
  }
}
