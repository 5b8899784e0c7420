/** what a node's report says of its replicas: the notes people see in `minga ps`, and the resources in use */
import { MAX_REPORT_PROBLEMS, MAX_PROBLEM_LENGTH, type ReplicaProblemReport, type Resources, type ServiceId } from '@minga/protocol'
import type { Assignment, DesiredService } from '@minga/scheduler'
import type { RuntimeContainer } from '../../runtime/types.js'
import type { ReplicaNote } from '../components.js'
import { replicaKey } from './replicas.js'

/** the notes of replicas `self` runs or is assigned, at most MAX_REPORT_PROBLEMS, each cut to MAX_PROBLEM_LENGTH characters */
export function problemsForReport (notes: ReplicaNote[], assignment: Assignment, self: string, observed: readonly RuntimeContainer[]): ReplicaProblemReport[] {
  const runs = new Set(observed.map(c => replicaKey(c.service, c.replica)))
  return notes
    .filter(p => assignment.services[p.service]?.[p.replica] === self || runs.has(replicaKey(p.service, p.replica)))
    .slice(0, MAX_REPORT_PROBLEMS)
    .map(p => ({ service: p.service as ServiceId, replica: p.replica, error: p.error.slice(0, MAX_PROBLEM_LENGTH), ...(p.probe === undefined ? {} : { probe: p.probe }) }))
}

/** the resources (cpu in millicores, memory in bytes) of the containers that have not exited, by their services' specs */
export function allocatedBy (services: readonly DesiredService[], observed: readonly RuntimeContainer[]): Resources {
  const byId = new Map(services.map(s => [s.id, s.spec.resources]))
  const total = { cpu: 0, memory: 0 }
  for (const c of observed) {
    if (c.state === 'exited') continue
    const r = byId.get(c.service)
    if (r !== undefined) { total.cpu += r.cpu; total.memory += r.memory }
  }
  return total
}
