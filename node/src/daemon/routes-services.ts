/** control API: services (ls, ps, deploy, rm, scale) */
import { checkServiceSpec, parseServiceSpec } from '@minga/protocol'
import { BadRequestError } from '../errors.js'
import type { ApiContext, ApiRoutes } from './api-types.js'

/** the services' routes: ls, ps, deploy, configs, rm, scale */
export function serviceRoutes (routes: ApiRoutes, { operations }: ApiContext): void {
  const ops = (): ApiContext['operations'] => operations
  routes.add('GET', '/v1/services', async () => ops().services())
  routes.add('GET', '/v1/services/:org/:name', async ({ params }) => ({ ...ops().serviceRecord(`${params[0]}/${params[1]}`), replicas: ops().ps(`${params[0]}/${params[1]}`) }))
  // a bare name: this org's service of that name, else the one in any org
  routes.add('GET', '/v1/services/:name', async ({ params }) => ({ ...ops().serviceRecord(params[0]), replicas: ops().ps(params[0]) }))
  routes.add('GET', '/v1/ps', async ({ query }) => ops().ps(query.get('service') ?? undefined))
  routes.add('POST', '/v1/deploy', async ({ body }) => {
    if (Array.isArray(body?.specs)) {
      // already translated (e.g. from Compose by the CLI): each must be a complete, normalized spec
      if (body.specs.length > 100) throw new BadRequestError('At most 100 services per deploy')
      return await ops().deploy(body.specs.map((spec: unknown) => checkServiceSpec(spec)))
    }
    if (typeof body?.text !== 'string') throw new BadRequestError('Send the spec file as {"text": "..."} or normalized specs as {"specs": [...]}')
    const specs = parseServiceSpec(body.text, { source: typeof body.source === 'string' ? body.source : undefined, org: ops().org })
    return await ops().deploy(specs)
  })
  routes.add('POST', '/v1/configs', async ({ body }) => {
    if (typeof body?.service !== 'string' || !Array.isArray(body?.chunks)) throw new BadRequestError('Send config content as {"service": "NAME", "chunks": ["<base64>", ...]}')
    return await ops().storeConfigs(body.service, body.chunks)
  })
  routes.add('DELETE', '/v1/projects/:project', async ({ params }) => ({ removed: await ops().removeProject(params[0]) }))
  routes.add('DELETE', '/v1/services/:org/:name', async ({ params }) => {
    await ops().remove(`${params[0]}/${params[1]}`)
    return { removed: `${params[0]}/${params[1]}` }
  })
  routes.add('POST', '/v1/scale', async ({ body }) => {
    await ops().scale(String(body?.service ?? ''), Number(body?.replicas))
    return { service: body.service, replicas: Number(body.replicas) }
  })
}
