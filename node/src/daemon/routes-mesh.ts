/** control API: the mesh (status, nodes, events, invites, cordons, test-mode partitions) */
import { DURATION_RULES } from '@minga/protocol'
import { BadRequestError } from '../errors.js'
import type { ApiContext, ApiRoutes } from './api-types.js'
import { requestDuration } from './duration.js'

/** the mesh's routes: status, nodes, events, invites, cordons (and partitions in test mode) */
export function meshRoutes (routes: ApiRoutes, { operations: ops, node }: ApiContext, testMode: boolean): void {
  routes.add('GET', '/v1/status', async () => ops.status())
  routes.add('GET', '/v1/nodes', async () => ops.nodes())
  routes.add('GET', '/v1/events', async ({ query }) => ops.recentEvents({ since: Number(query.get('since') ?? 0), limit: 1000 }))
  routes.add('POST', '/v1/invite', async ({ body }) => {
    const ttlMs = requestDuration(body?.ttl ?? '24h', 'ttl', DURATION_RULES.inviteTtl)
    return await ops.invite({ org: body?.org, newOrg: body?.newOrg === true, ttlMs, uses: Number(body?.uses ?? 1), bootstrap: node.bootstrapAddrs(), psk: await node.psk() })
  })
  routes.add('POST', '/v1/cordon', async ({ body }) => ({ node: await ops.cordon(String(body?.node ?? ''), String(body?.reason ?? 'cordoned by an operator')) }))
  routes.add('POST', '/v1/uncordon', async ({ body }) => ({ node: await ops.uncordon(String(body?.node ?? '')) }))
  if (testMode) {
    routes.add('POST', '/v1/test/partition', async ({ body }) => {
      if (!Array.isArray(body?.blocked)) throw new BadRequestError('Send {"blocked": [peer ids]}')
      await node.partition(body.blocked.map(String))
      return { blocked: body.blocked }
    })
  }
}
