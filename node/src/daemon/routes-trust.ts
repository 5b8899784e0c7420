/**
 * control API: trust between organizations — node removal, org removal
 * proposals and votes, the audit trail, and service secrets (values go in,
 * never come out)
 */
import { BadRequestError, NotFoundError } from '../errors.js'
import { auditView } from '../core/audit.js'
import type { ApiRoutes } from './api-server.js'
import type { Daemon } from './daemon.js'

const MAX_REASON = 1024

function text (value: unknown, what: string, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_REASON) throw new BadRequestError(`${what} must be text of 1 to ${MAX_REASON} characters`)
  return value
}

/** removal cannot be undone: a full peer id, or a unique suffix of at least 6 characters (as "minga nodes" shows 8) */
function strictNode (d: Daemon, ref: string): string {
  const members = [...d.core.state.members().keys()]
  if (members.includes(ref)) return ref
  if (ref.length < 6) throw new BadRequestError(`"${ref}" is too short to name a node for removal; give its full id or at least its last 6 characters`)
  const matches = members.filter(id => id.endsWith(ref))
  if (matches.length === 1) return matches[0]
  if (matches.length === 0) throw new NotFoundError(`No member node ends with "${ref}"; "minga nodes" lists them`)
  throw new BadRequestError(`"${ref}" matches ${matches.length} nodes; give more of the id`)
}

export function trustRoutes (routes: ApiRoutes, d: Daemon): void {
  const trust = () => d.core.trust
  const secrets = () => d.core.secrets

  routes.add('POST', '/v1/nodes/remove', async ({ body }) => {
    const peer = strictNode(d, text(body?.node, 'node'))
    return await trust().removeNode(peer, text(body?.reason, 'reason', 'removed by an operator'))
  })

  routes.add('GET', '/v1/proposals', async () => trust().proposals())
  routes.add('POST', '/v1/orgs/remove', async ({ body }) => await trust().proposeOrgRemoval(text(body?.org, 'org'), text(body?.reason, 'reason')))
  routes.add('POST', '/v1/proposals/:id/approve', async ({ params }) => await trust().approve(params[0]))

  routes.add('GET', '/v1/audit', async ({ query }) => {
    const kinds = query.get('kind')?.split(',').filter(Boolean)
    const limit = query.get('limit') === null ? undefined : Number(query.get('limit'))
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) throw new BadRequestError('limit must be a positive whole number')
    return auditView(d.core.state, { kinds, limit })
  })

  routes.add('GET', '/v1/secrets', async ({ query }) => {
    const service = query.get('service')
    if (service === null) return secrets().list()
    const [org, name] = d.operations.resolveService(service)
    return secrets().list(org, name)
  })
  routes.add('POST', '/v1/secrets', async ({ body }) => {
    const [org, service] = d.operations.resolveService(text(body?.service, 'service'))
    if (typeof body?.value !== 'string') throw new BadRequestError('Send the secret as {"service", "name", "value"} (value: a string, or base64 with "encoding": "base64")')
    const value = body.encoding === 'base64' ? Buffer.from(body.value, 'base64') : Buffer.from(body.value, 'utf8')
    const result = await secrets().set(org, service, text(body?.name, 'name'), value, { ifChanged: body.ifChanged === true })
    return { service: `${org}/${service}`, name: body.name, readers: result.readers, ...(result.unchanged === true ? { unchanged: true } : {}) }
  })
  routes.add('DELETE', '/v1/secrets/:org/:service/:name', async ({ params }) => {
    await secrets().remove(params[0], params[1], params[2])
    return { removed: `${params[0]}/${params[1]}/${params[2]}` }
  })
}
