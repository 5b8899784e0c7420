import { fileURLToPath } from 'node:url'
import { loadScenario, type Scenario } from '../src/index.js'

export const SCENARIOS = fileURLToPath(new URL('../../scenarios/', import.meta.url))

export async function scenario (name: string, patch: Partial<Scenario> = {}): Promise<Scenario> {
  return { ...await loadScenario(`${SCENARIOS}${name}.yaml`), ...patch }
}
