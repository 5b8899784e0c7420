import { fileURLToPath } from 'node:url'
import type { Cluster } from '../src/cluster/cluster.js'
import { loadScenario, runScenario, type Scenario } from '../src/index.js'

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

/** what the probes of a run came to, summed over its nodes, and its connections per node at the end */
export interface ProbeFigures { probes: number, indirect: number, failed: number, connectionsPerNode: number }

/**
 * 60 warm nodes in eu and sa, 95 ms apart one way, each keeping at most 10 connections (past the limit, as 1,000 nodes
 * are at 200), run for `duration` ms with `loss` of transmissions lost: their probes' figures
 */
export async function acrossContinents (duration: number, loss: number): Promise<ProbeFigures> {
  const base = await warmMesh(20, { duration }, 60)
  const network = { ...base.network, regions: ['eu', 'sa'], regionPairs: { 'eu-sa': { median: 95, sigma: 0 } }, loss, maxConnections: 10 }
  let cluster: Cluster | undefined
  await runScenario({ ...base, network }, { onCluster: (c) => { cluster = c } })
  const sum: ProbeFigures = { probes: 0, indirect: 0, failed: 0, connectionsPerNode: 0 }
  cluster!.nodes.forEach((node, v) => {
    const figures = node.current!.core.membership.figures()
    sum.probes += figures.probes
    sum.indirect += figures.indirect
    sum.failed += figures.failed
    sum.connectionsPerNode += cluster!.net.connections(v).length / cluster!.nodes.length
  })
  return sum
}
