/**
 * Replicas as this node reports and compares them: the `service#replica`
 * key that names one everywhere (events, notes, back-off records), what a
 * container's state says in a report, and when a copy counts as serving.
 */
import type { DesiredService } from '@minga/scheduler'
import type { ReplicaReport, ReplicaState, ServiceId } from '@minga/protocol'
import type { RuntimeContainer } from '../../runtime/types.js'

/** `org/name#3`: one replica of a service, wherever it runs */
export function replicaKey (service: string, replica: number): string {
  return `${service}#${replica}`
}

const REPORTED_STATE: Record<RuntimeContainer['state'], ReplicaState> = { created: 'pending', starting: 'starting', running: 'running', exited: 'failed' }

/** a copy serves: it runs, and its health check passes or it has none */
export function isHealthy (c: RuntimeContainer): boolean {
  return c.state === 'running' && (c.health === 'healthy' || c.health === 'none')
}

/** this node's containers as its report shows them */
export function replicaReports (containers: readonly RuntimeContainer[]): ReplicaReport[] {
  return containers.map(c => ({ service: c.service as ServiceId, replica: c.replica, hash: c.hash, state: REPORTED_STATE[c.state], healthy: isHealthy(c) }))
}

const servicesByIdCache = new WeakMap<DesiredService[], Map<string, DesiredService>>()

/** the services by id, indexed once per list (the list of a placement is reused until the state changes) */
export function servicesById (services: DesiredService[]): Map<string, DesiredService> {
  let index = servicesByIdCache.get(services)
  if (index === undefined) servicesByIdCache.set(services, index = new Map(services.map(s => [s.id, s])))
  return index
}
