/** control API: the mesh (status, nodes, events, invites, cordons, test-mode partitions) */
import { DURATION_RULES } from '@minga/protocol'
import { BadRequestError } from '../errors.js'
import type { ApiRoutes } from './api-server.js'
import type { Daemon } from './daemon.js'
import { requestDuration } from './duration.js'

export function meshRoutes (routes: ApiRoutes, d: Daemon, testMode: boolean): void {
  const ops = () => d.operations
  routes.add('GET', '/v1/status', async () => ops().status())
  routes.add('GET', '/v1/nodes', async () => ops().nodes())
  routes.add('GET', '/v1/events', async ({ query }) => d.core.events.recent({ since: Number(query.get('since') ?? 0), limit: 1000 }))
  routes.add('POST', '/v1/invite', async ({ body }) => {
    const ttlMs = requestDuration(body?.ttl ?? '24h', 'ttl', DURATION_RULES.inviteTtl)
    return await ops().invite({ org: body?.org, newOrg: body?.newOrg === true, ttlMs, uses: Number(body?.uses ?? 1), bootstrap: d.bootstrapAddrs(), psk: await d.psk() })
  })
  routes.add('POST', '/v1/cordon', async ({ body }) => ({ node: await ops().cordon(String(body?.node ?? ''), String(body?.reason ?? 'cordoned by an operator')) }))
  routes.add('POST', '/v1/uncordon', async ({ body }) => ({ node: await ops().uncordon(String(body?.node ?? '')) }))
  if (testMode) {
    routes.add('POST', '/v1/test/partition', async ({ body }) => {
      if (!Array.isArray(body?.blocked)) throw new BadRequestError('Send {"blocked": [peer ids]}')
      await d.partition(body.blocked.map(String))
      return { blocked: body.blocked }
    })
  }
}
