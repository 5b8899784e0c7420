// The real side of simulations/scenarios/deploy-kill-10.yaml, as sim-vs-real and cpu-costs both run it: node processes
// of three orgs on 127.0.0.1 on the in-memory runtime (its containers take the scenario's start delay), and the
// scenario's deploy: four acme services of 2, 3, 2 and 3 replicas posted at once to one node's API.
import { fileURLToPath } from 'node:url'
import { startCluster } from '../../test/dist/src/index.js'
import { loadScenario } from '../../simulations/dist/src/index.js'

/** replicas of the deploy's services acme/cmp-0 … acme/cmp-3 */
export const SERVICES = [2, 3, 2, 3]

/** the scenario, read from its file */
export async function deployKill10 () {
  return await loadScenario(fileURLToPath(new URL('../../simulations/scenarios/deploy-kill-10.yaml', import.meta.url)))
}

/** `nodes` real node processes of acme, beta and gamma in turn, whose pretend containers start in the scenario's time */
export async function startMesh (scenario, nodes = scenario.nodes) {
  process.env.MINGA_MEMORY_START_MS = String(scenario.runtime.startDelay.median)
  const orgs = ['acme', 'beta', 'gamma']
  return await startCluster({ nodes: Array.from({ length: nodes }, (_, i) => orgs[i % 3]), upArgs: ['--cpu', '4', '--memory', '8Gi'], concurrency: 4, timeoutMs: 120_000 })
}

/** the spec of service `name` with `replicas` replicas, as `POST /v1/deploy` takes it */
export function deploySpec (name, replicas) {
  return { text: `name: ${name}\nimage: minga/busybox:1\nreplicas: ${replicas}\nresources: { cpu: 100m, memory: 64Mi }\n` }
}

/** the scenario's deploy through `api` (an apiClient of one node): every service posted at once */
export async function deployAll (api) {
  await Promise.all(SERVICES.map(async (replicas, i) => await api.post('/v1/deploy', deploySpec(`cmp-${i}`, replicas))))
}
