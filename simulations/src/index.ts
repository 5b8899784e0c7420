/**
 * @packageDocumentation
 *
 * minga's network simulator: the real node core (protocol `State` with
 * `MemoryPersistence`, the scheduler, `NodeCore` with liveness, sync and
 * the reconcile loop) in virtual time, on a modelled network (per-link
 * latency, loss, bandwidth, partitions, gossipsub-like overlays) and a
 * modelled runtime (`MemoryRuntime` with start delays and failures).
 * Deterministic: one seed, one run, one digest.
 *
 * @example
 * ```ts
 * import { loadScenario, runScenario, writeResults } from '@minga/simulations'
 *
 * const scenario = await loadScenario('simulations/scenarios/partition-1000.yaml')
 * const result = await runScenario(scenario, { onProgress: p => console.error(p.phase, p.elapsed) })
 * console.log(result.summary.availability, result.summary.invariants.ok)
 * await writeResults(result, 'sim-out/partition')
 * ```
 */
import { readFile } from 'node:fs/promises'
import { parseScenario } from './scenario/parse.js'
import type { Scenario } from './scenario/types.js'

export { runScenario, type Progress, type RunOptions, type SimResult } from './run.js'
export { fuzz, fuzzScenario, type FuzzOutcome } from './fuzz.js'
export { writeResults } from './output.js'
export { renderReport, type RealFigures } from './report/html.js'
export { parseScenario, resolveScenario, ScenarioError } from './scenario/parse.js'
export type { Action, BackupModel, IngressModel, Scenario, ServiceMix } from './scenario/types.js'
export type { Summary, VolumeFigures } from './measure/summary.js'
export { ingressFigures, ingressLine, type IngressFigures, type RequestEvent } from './measure/ingress.js'
export type { Attempt, AttemptOutcome } from './cluster/ingress.js'
export type { Cluster } from './cluster/cluster.js'
export { LINES_FILE, type SimVolumes } from './cluster/volumes.js'
export { checkAll, checkAgreement, checkDurability, checkPlacement, checkSingletons, checkSnapshots, type MeshSnapshot, type NodeSnapshot, type SnapshotFate, type Violation, type VolumesSnapshot } from './measure/invariants.js'
export { DEFAULT_NETWORK, GOSSIPSUB, type NetworkParams } from './network/model.js'
export { VirtualClock, VirtualClock as Simulator, SIM_EPOCH } from '@minga/node/core'
export { formatDuration } from './scenario/duration.js'

/** a scenario file read and parsed; ScenarioError naming the field, or the file system's error */
export async function loadScenario (path: string): Promise<Scenario> {
  return parseScenario(await readFile(path, 'utf8'), path)
}
