import { fileURLToPath } from 'node:url'
import { loadScenario, type Scenario } from '../src/index.js'

export const SCENARIOS = fileURLToPath(new URL('../../scenarios/', import.meta.url))

export async function scenario (name: string, patch: Partial<Scenario> = {}): Promise<Scenario> {
  return { ...await loadScenario(`${SCENARIOS}${name}.yaml`), ...patch }
}

/**
 * steady-1000 shrunk to `nodes` warm nodes in 6 orgs running `services` services (3 of them singletons), with no
 * settling and no timeline; `patch` overrides the rest (duration, timing)
 */
export async function warmMesh (services: number, patch: Partial<Scenario> = {}, nodes = 60): Promise<Scenario> {
  const base = await scenario('steady-1000')
  return { ...base, nodes, orgs: 6, warm: true, services: { ...base.services, count: services, singletons: 3 }, settle: 0, timeline: [], ...patch }
}
