/**
 * The versions of a service's secrets, folded into its desired container
 * hash (reconcile/desired.ts): a new or changed secret rolls the service's
 * replicas like a spec change does, and a re-seal (same version) does not.
 */
import { createHash } from 'node:crypto'
import type { State } from '@minga/protocol'

/**
 * `org/service` → the versions of its secrets, for services that have any:
 * mixed into the service's desired hash (view.ts), so a new or changed
 * secret rolls its replicas like a spec change, and a re-seal does not
 */
export function secretVersions (state: State): Map<string, string> {
  // every reconcile pass asks; the state changes far less often
  const digest = state.digest()
  const cached = versionsCache.get(state)
  if (cached?.digest === digest) return cached.versions
  const out = new Map<string, string>()
  for (const entry of state.records('secret').sort((a, b) => a.key < b.key ? -1 : 1)) {
    const [, org, service, name] = entry.key.split('/')
    const id = `${org}/${service}`
    out.set(id, `${out.get(id) ?? ''}${name}@${entry.value.version};`)
  }
  versionsCache.set(state, { digest, versions: out })
  return out
}

const versionsCache = new WeakMap<State, { digest: string, versions: Map<string, string> }>()

/** a container hash with the service's secret versions folded in (same length, still hex) */
export function withSecrets (hash: string, versions: string | undefined): string {
  return versions === undefined ? hash : createHash('sha256').update(`${hash}\0${versions}`).digest('hex').slice(0, hash.length)
}
