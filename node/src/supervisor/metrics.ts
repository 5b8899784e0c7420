/**
 * The supervisor's series in the node's registry: whether the daemon is
 * bound to its supervisor right now, how often it had to start a new one,
 * and the bound the mesh's singleton fence relies on.
 */
/* eslint-disable no-new -- prom-client's metrics register themselves in `registers` */
import { Gauge, type Registry } from 'prom-client'
import { supervisorBoundMs } from '../core/supervision/budget.js'
import { counterFrom } from '../metrics/counter-from.js'
import type { SupervisorLink } from './link.js'

export function supervisorMetrics (link: SupervisorLink, registry: Registry): void {
  const registers = [registry]
  new Gauge({
    name: 'minga_supervisor_attached',
    help: '1 while this node is bound to its supervisor (which stops its containers if minga dies); 0 while a new one is being started',
    registers,
    collect () { this.set(link.status().attached ? 1 : 0) }
  })
  new Gauge({
    name: 'minga_supervisor_bound_seconds',
    help: 'How long this node\'s containers may outlive minga at most; the mesh\'s singleton fence relies on it',
    registers,
    collect () { this.set(supervisorBoundMs(link.budget) / 1000) }
  })
  counterFrom(registry, 'minga_supervisor_restarts_total', 'Supervisors started again because the last one went away', () => [[{}, link.status().restarts]])
}
