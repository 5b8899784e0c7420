/**
 * Service names across the mesh, as a container asks for them: pure.
 *
 * - `db`: the service `db` of the caller's own organization; inside a
 *   Compose project, the project's `db` (`PROJECT-db`) first.
 * - `db.riverside`: the service `db` of organization riverside, when the
 *   caller's organization is riverside or riverside's `db` lists it in
 *   `expose` (`*`: every organization).
 *
 * A name resolves only to a service the caller may reach. A one-label name
 * that does not is unknown (NXDOMAIN); a two-label name that does not may
 * be a name of the outside world (`example.com`) and is left to the
 * upstream resolvers, so an organization named like a top-level domain
 * shadows nothing and a refused name looks like any unknown one.
 */
import type { ServiceSpec } from '@minga/protocol'

export interface Caller {
  org: string
  /** the Compose project of the calling service */
  project?: string
}

export type NameAnswer =
  | { kind: 'service', service: string }
  /** a one-label name that is no service the caller may reach */
  | { kind: 'unknown' }
  /** not a name of the mesh: ask the upstream resolvers */
  | { kind: 'outside' }

/** may a container of organization `callerOrg` reach `target`? */
export function mayReach (callerOrg: string, target: Pick<ServiceSpec, 'org' | 'expose'>): boolean {
  return target.org === callerOrg || (target.expose ?? []).some(org => org === callerOrg || org === '*')
}

/**
 * @param name - the queried name, any case, with or without the final dot
 * @param lookup - the spec of `org/name`, if that service exists
 */
export function resolveName (name: string, caller: Caller, lookup: (id: string) => Pick<ServiceSpec, 'org' | 'expose'> | undefined): NameAnswer {
  const labels = name.toLowerCase().replace(/\.$/, '').split('.')
  if (labels.length === 1) {
    const [service] = labels
    const candidates = [...(caller.project === undefined ? [] : [`${caller.org}/${caller.project}-${service}`]), `${caller.org}/${service}`]
    const found = candidates.find(id => lookup(id) !== undefined)
    return found === undefined ? { kind: 'unknown' } : { kind: 'service', service: found }
  }
  if (labels.length === 2) {
    const [service, org] = labels
    const id = `${org}/${service}`
    const target = lookup(id)
    if (target !== undefined && mayReach(caller.org, target)) return { kind: 'service', service: id }
  }
  return { kind: 'outside' }
}
