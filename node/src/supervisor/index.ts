/**
 * The daemon's one call: bind this node to its supervisor before any
 * container is touched, with its metrics, and say what it stopped while no
 * daemon ran. From then on the node's containers do not outlive this process
 * by more than `supervisorBoundMs` (docs/ARCHITECTURE.md, "One copy means
 * one copy").
 */
import type { Registry } from 'prom-client'
import { DEFAULT_SUPERVISOR_BUDGET } from '../core/supervision/budget.js'
import { SupervisorLink, type SupervisorLinkInit } from './link.js'
import { supervisorMetrics } from './metrics.js'

export { SupervisorLink, type SupervisorLinkInit, type SupervisorNotice, type SupervisorStatus } from './link.js'

export async function superviseNode (init: SupervisorLinkInit & { registry: Registry, testMode?: boolean }): Promise<SupervisorLink> {
  const link = new SupervisorLink({ ...init, ...testBudget(init.testMode) })
  supervisorMetrics(link, init.registry)
  const { pid } = await link.start()
  init.log?.(`supervisor pid ${pid} attached`)
  return link
}

/** test mode only: MINGA_TEST_SUPERVISOR_GRACE_MS gives a restarted node time to attach however slow the host (e2e-adopt) */
function testBudget (testMode = false): Pick<SupervisorLinkInit, 'budget'> {
  const grace = Number(process.env.MINGA_TEST_SUPERVISOR_GRACE_MS)
  return testMode && grace > 0 ? { budget: { ...DEFAULT_SUPERVISOR_BUDGET, attachGraceMs: grace } } : {}
}
