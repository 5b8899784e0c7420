/**
 * control API: trust between organizations — node removal, org removal
 * proposals and votes, the audit trail, and service secrets (values go in,
 * never come out)
 */
import { nodeRemoveBody, orgRemoveBody, secretBody } from '../api/bodies.js'
import { BadRequestError } from '../errors.js'
import type { ApiContext, ApiRoutes } from './api-types.js'

/** trust between organizations: node removal, org removal proposals and votes, the audit trail, secrets */
export function trustRoutes (routes: ApiRoutes, context: ApiContext): void {
  const { operations: ops } = context
  const trust = (): ApiContext['trust'] => context.trust
  const secrets = (): ApiContext['secrets'] => context.secrets

  routes.add('POST', '/v1/nodes/remove', async ({ body }) => {
    const removal = nodeRemoveBody(body)
    return await trust().removeNode(ops.resolveNodeStrictly(removal.node), removal.reason ?? 'removed by an operator')
  })

  routes.add('GET', '/v1/proposals', async () => trust().proposals())
  routes.add('POST', '/v1/recovery-key', async () => await ops.createRecoveryKey())
  routes.add('POST', '/v1/orgs/remove', async ({ body }) => {
    const removal = orgRemoveBody(body)
    return await trust().proposeOrgRemoval(removal.org, removal.reason)
  })
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
    const secret = secretBody(body)
    const [org, service] = ops.resolveService(secret.service)
    const value = Buffer.from(secret.value, secret.encoding === 'base64' ? 'base64' : 'utf8')
    const result = await secrets().set(org, service, secret.name, value, { ifChanged: secret.ifChanged === true })
    return { service: `${org}/${service}`, name: secret.name, readers: result.readers, ...(result.unchanged === true ? { unchanged: true } : {}) }
  })
  routes.add('DELETE', '/v1/secrets/:org/:service/:name', async ({ params }) => {
    await secrets().remove(params[0], params[1], params[2])
    return { removed: `${params[0]}/${params[1]}/${params[2]}` }
  })
}
