/**
 * control API: trust between organizations — node removal, org removal
 * proposals and votes, the audit trail, and service secrets (values go in,
 * never come out)
 */
import { BadRequestError } from '../errors.js'
import type { ApiContext, ApiRoutes } from './api-types.js'

const MAX_REASON = 1024

function text (value: unknown, what: string, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_REASON) throw new BadRequestError(`${what} must be text of 1 to ${MAX_REASON} characters`)
  return value
}

/** trust between organizations: node removal, org removal proposals and votes, the audit trail, secrets */
export function trustRoutes (routes: ApiRoutes, context: ApiContext): void {
  const { operations: ops } = context
  const trust = (): ApiContext['trust'] => context.trust
  const secrets = (): ApiContext['secrets'] => context.secrets

  routes.add('POST', '/v1/nodes/remove', async ({ body }) => {
    const peer = ops.resolveNodeStrictly(text(body?.node, 'node'))
    return await trust().removeNode(peer, text(body?.reason, 'reason', 'removed by an operator'))
  })

  routes.add('GET', '/v1/proposals', async () => trust().proposals())
  routes.add('POST', '/v1/orgs/remove', async ({ body }) => await trust().proposeOrgRemoval(text(body?.org, 'org'), text(body?.reason, 'reason')))
  routes.add('POST', '/v1/proposals/:id/approve', async ({ params }) => await trust().approve(params[0]))

  routes.add('GET', '/v1/audit', async ({ query }) => {
    const kinds = query.get('kind')?.split(',').filter(Boolean)
    const limit = query.get('limit') === null ? undefined : Number(query.get('limit'))
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) throw new BadRequestError('limit must be a positive whole number')
    return ops.audit({ kinds, limit })
  })

  routes.add('GET', '/v1/secrets', async ({ query }) => {
    const service = query.get('service')
    if (service === null) return secrets().list()
    const [org, name] = ops.resolveService(service)
    return secrets().list(org, name)
  })
  routes.add('POST', '/v1/secrets', async ({ body }) => {
    const [org, service] = ops.resolveService(text(body?.service, 'service'))
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
