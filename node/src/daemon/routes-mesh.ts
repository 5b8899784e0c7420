/** control API: the mesh (status, nodes, events, invites, cordons, test-mode partitions) */
import { DURATION_RULES } from '@minga/protocol'
import type { ApiContext, ApiRoutes } from './api-types.js'
import { cordonBody, inviteBody, partitionBody, uncordonBody } from '../api/bodies.js'
import { requestDuration } from './duration.js'

/** the mesh's routes: status, nodes, events, invites, cordons (and partitions in test mode) */
export function meshRoutes (routes: ApiRoutes, { operations: ops, node }: ApiContext, testMode: boolean): void {
  routes.add('GET', '/v1/status', async () => {
    const status = await ops.status()
    const own = node.problems()
    return own.length === 0 ? status : { ...status, problems: [...own, ...status.problems], healthy: false }
  })
  routes.add('GET', '/v1/nodes', async () => ops.nodes())
  routes.add('GET', '/v1/events', async ({ query }) => ops.recentEvents({ since: Number(query.get('since') ?? 0), limit: 1000 }))
  routes.add('POST', '/v1/invite', async ({ body }) => {
    const invite = inviteBody(body)
    const ttlMs = requestDuration(invite.ttl ?? '24h', 'ttl', DURATION_RULES.inviteTtl)
    return await ops.invite({ org: invite.org, newOrg: invite.newOrg === true, ttlMs, uses: invite.uses ?? 1, bootstrap: node.bootstrapAddrs(), psk: await node.psk() })
  })
  routes.add('POST', '/v1/cordon', async ({ body }) => {
    const cordon = cordonBody(body)
    return { node: await ops.cordon(cordon.node, cordon.reason ?? 'cordoned by an operator') }
  })
  routes.add('POST', '/v1/uncordon', async ({ body }) => ({ node: await ops.uncordon(uncordonBody(body).node) }))
  if (testMode) {
    routes.add('POST', '/v1/test/partition', async ({ body }) => {
      const { blocked } = partitionBody(body)
      await node.partition(blocked)
      return { blocked }
    })
  }
}
