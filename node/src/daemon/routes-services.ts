/** control API: services (ls, ps, deploy, rm, scale) */
import { checkServiceSpec, parseServiceSpec } from '@minga/protocol'
import { configsBody, deployBody, scaleBody } from '../api/bodies.js'
import { BadRequestError } from '../errors.js'
import type { ApiContext, ApiRoutes } from './api-types.js'

/** the services' routes: ls, ps, deploy, configs, rm, scale */
export function serviceRoutes (routes: ApiRoutes, { operations }: ApiContext): void {
  const ops = (): ApiContext['operations'] => operations
  routes.add('GET', '/v1/services', async () => ops().services())
  routes.add('GET', '/v1/services/:org/:name', async ({ params }) => ({ ...ops().serviceRecord(`${params[0]}/${params[1]}`), replicas: await ops().ps(`${params[0]}/${params[1]}`) }))
  // a bare name: this org's service of that name, else the one in any org
  routes.add('GET', '/v1/services/:name', async ({ params }) => ({ ...ops().serviceRecord(params[0]), replicas: await ops().ps(params[0]) }))
  routes.add('GET', '/v1/ps', async ({ query }) => ops().ps(query.get('service') ?? undefined))
  routes.add('POST', '/v1/deploy', async ({ body }) => {
    const deploy = deployBody(body)
    // already translated (e.g. from Compose by the CLI): each must be a complete, normalized spec
    if ('specs' in deploy) return await ops().deploy(deploy.specs.map(spec => checkServiceSpec(spec)))
    const specs = parseServiceSpec(deploy.text, { source: deploy.source, org: ops().org })
    return await ops().deploy(specs)
  })
  routes.add('POST', '/v1/configs', async ({ body }) => {
    const configs = configsBody(body)
    return await ops().storeConfigs(configs.service, configs.chunks)
  })
  // ?volumes=1: with its volumes and their backups (minga rm --volumes)
  routes.add('DELETE', '/v1/projects/:project', async ({ params, query }) => ({ removed: await ops().removeProject(params[0], { volumes: withVolumes(query) }) }))
  routes.add('DELETE', '/v1/services/:org/:name', async ({ params, query }) => {
    const volumes = withVolumes(query)
    await ops().remove(`${params[0]}/${params[1]}`, { volumes })
    return { removed: `${params[0]}/${params[1]}`, ...(volumes ? { volumes: true as const } : {}) }
  })
  routes.add('POST', '/v1/scale', async ({ body }) => {
    const scale = scaleBody(body)
    await ops().scale(scale.service, scale.replicas)
    return scale
  })
}

function withVolumes (query: URLSearchParams): boolean {
  const value = query.get('volumes')
  if (value === null || value === '0' || value === 'false') return false
  if (value === '1' || value === 'true') return true
  throw new BadRequestError(`volumes is 1 or 0, not "${value}"`)
}
