/**
 * Fuzzing: a base scenario's mesh under random faults, one seed per run.
 * The seed fixes everything (the timeline drawn here and the run itself),
 * so a run that breaks an invariant replays exactly from its seed.
 */
import { Prng } from './engine/prng.js'
import { runScenario, type RunOptions, type SimResult } from './run.js'
import type { Action, Scenario } from './scenario/types.js'

/** the base scenario with seed `seed` and a random timeline of faults and changes */
export function fuzzScenario (base: Scenario, seed: number): Scenario {
  const random = new Prng(seed, 'fuzz')
  const duration = base.duration
  const timeline: Action[] = []
  const count = 2 + random.int(5)
  const at = (): number => Math.round(10_000 + random.next() * (duration - 40_000))
  for (let i = 0; i < count; i++) {
    switch (random.int(7)) {
      case 0: timeline.push({ at: at(), kind: 'kill', nodes: 1 + random.int(Math.max(1, Math.floor(base.nodes / 5))), silent: random.next() < 0.3, restartAfter: random.next() < 0.6 ? 5_000 + random.int(60_000) : undefined }); break
      case 1: { const a = at(); timeline.push({ at: a, kind: 'partition', duration: Math.min(duration - a, 10_000 + random.int(60_000)), share: 0.2 + random.next() * 0.3 }); break }
      case 2: timeline.push({ at: at(), kind: 'org-loss', org: random.int(base.orgs) }); break
      case 3: timeline.push({ at: at(), kind: 'deploy', services: 1 + random.int(10), over: random.int(10_000) }); break
      case 4: timeline.push({ at: at(), kind: 'rolling-update', services: 1 + random.int(10), over: random.int(20_000) }); break
      case 5: timeline.push({ at: at(), kind: 'cordon', nodes: 1 }); break
      default: timeline.push({ at: at(), kind: 'churn', until: duration - 30_000, mtbf: 60_000 + random.int(600_000), repair: 5_000 + random.int(60_000) })
    }
  }
  timeline.sort((a, b) => a.at - b.at)
  return {
    ...base,
    name: `${base.name}-fuzz`,
    description: `${base.description} Fuzzed with seed ${seed}: ${timeline.map(a => `${a.kind} at ${Math.round(a.at / 1000)} s`).join(', ')}.`,
    seed,
    network: { ...base.network, loss: random.next() < 0.5 ? base.network.loss : random.next() * 0.05 },
    runtime: { ...base.runtime, failureRate: random.next() < 0.5 ? base.runtime.failureRate : random.next() * 0.1 },
    timeline
  }
}

export interface FuzzOutcome { seed: number, ok: boolean, violations: string[], result: SimResult }

/** run `count` seeds from `firstSeed`; `onRun` hears each outcome as it ends */
export async function fuzz (base: Scenario, count: number, options: RunOptions & { firstSeed?: number, onRun?: (outcome: FuzzOutcome) => void } = {}): Promise<FuzzOutcome[]> {
  const outcomes: FuzzOutcome[] = []
  const first = options.firstSeed ?? 1
  for (let seed = first; seed < first + count; seed++) {
    const result = await runScenario(fuzzScenario(base, seed), options)
    const violations = result.summary.invariants.violations.map(v => `${v.invariant}: ${v.detail}`)
    if (result.summary.coreErrors.length > 0) violations.push(`core exception: ${result.summary.coreErrors[0].split('\n')[0]}`)
    const outcome = { seed, ok: violations.length === 0, violations, result }
    options.onRun?.(outcome)
    outcomes.push(outcome)
  }
  return outcomes
}
