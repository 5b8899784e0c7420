/**
 * What `minga ps` and `minga status` say is wrong with a replica, as it
 * stands now. A note must be true when it is shown: a failure to start is
 * the replica's note only while no copy of it with the current spec runs or
 * starts here; a crash or a failed health check, until a copy of the
 * current spec serves (the back-off record that times the retries lives on,
 * out of sight); and a copy that runs but fails its health check says so
 * with the last probe's exit code and output.
 */
import type { HealthProbe } from '@minga/protocol'
import type { RuntimeContainer } from '../../runtime/types.js'
import type { ReplicaNote } from '../components.js'
import type { ReplicaProblem } from './replica-backoff.js'
import { replicaKey } from './replicas.js'

export type { ReplicaNote } from '../components.js'

export interface NotesInput {
  /** the back-off records: failed starts and crashes */
  failures: readonly ReplicaProblem[]
  /** this node's containers */
  containers: readonly RuntimeContainer[]
  /** the current container hash of a desired service; undefined for one that is not desired */
  hashOf: (service: string) => string | undefined
  now: number
}

/** one note per replica at most, the health check's first: it is what is wrong right now */
export function replicaNotes ({ failures, containers, hashOf, now }: NotesInput): ReplicaNote[] {
  const notes = new Map<string, ReplicaNote>()
  /** a current copy runs or starts: a failure to start is past */
  const started = new Set<string>()
  /** a current copy serves: any failure is past */
  const serving = new Set<string>()
  for (const c of containers) {
    const hash = hashOf(c.service)
    if (hash === undefined) continue
    const key = replicaKey(c.service, c.replica)
    if (c.state === 'running' && c.health === 'unhealthy') {
      notes.set(key, { service: c.service, replica: c.replica, error: healthNote(c.probe), at: c.startedAt ?? now, ...(c.probe === undefined ? {} : { probe: c.probe }) })
    } else if (c.hash === hash && (c.state === 'running' || c.state === 'starting')) {
      started.add(key)
      if (c.state === 'running' && c.health !== 'starting') serving.add(key)
    }
  }
  for (const failure of failures) {
    const key = replicaKey(failure.service, failure.replica)
    if (notes.has(key) || serving.has(key) || (failure.ran !== true && started.has(key))) continue
    notes.set(key, { service: failure.service, replica: failure.replica, error: failure.error, at: failure.at, ...(failure.probe === undefined ? {} : { probe: failure.probe }) })
  }
  return [...notes.values()]
}

/** why a copy that ran is restarted: `exited with code 1`, or the health check's note */
export function runNote (c: RuntimeContainer, fallback: string): string {
  if (c.state === 'exited') return `exited${c.exitCode === undefined ? '' : ` with code ${c.exitCode}`}`
  if (c.health === 'unhealthy') return healthNote(c.probe)
  return fallback
}

/** `failing its health check: exit 3, "database not ready"` */
export function healthNote (probe: HealthProbe | undefined): string {
  if (probe === undefined) return 'failing its health check'
  const exit = probe.exitCode === -1 ? 'the check timed out' : `exit ${probe.exitCode}`
  return `failing its health check: ${exit}${probe.output === '' ? '' : `, ${JSON.stringify(probe.output)}`}`
}
