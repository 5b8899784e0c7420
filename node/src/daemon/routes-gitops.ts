/** control API: change sets (apply, diff), records and config content (export), git sources */
import { checkServiceSpec } from '@minga/protocol'
import { applyBody, sourceBody } from '../api/bodies-gitops.js'
import type { ApiContext, ApiRoutes } from './api-types.js'
import { requestDuration } from './duration.js'

/** the routes of `minga export`, `diff`, `apply` and `sources` */
export function gitopsRoutes (routes: ApiRoutes, { operations, sources }: ApiContext): void {
  routes.add('POST', '/v1/apply', async ({ body }) => {
    const apply = applyBody(body)
    const specs = apply.specs.map(spec => checkServiceSpec(spec))
    const secrets = apply.secrets?.map(s => ({ service: s.service, name: s.name, value: new Uint8Array(Buffer.from(s.value, 'base64')) }))
    const prune = apply.prune !== true ? undefined : apply.source === undefined ? { scope: 'org' as const } : { scope: 'source' as const, name: apply.source.name }
    return await operations.apply({ specs, secrets, prune, source: apply.source, provided: apply.provided }, { dryRun: apply.dryRun === true })
  })
  routes.add('GET', '/v1/records', async ({ query }) => operations.records(query.get('org') ?? undefined))
  routes.add('GET', '/v1/configs/:org/:name', async ({ params }) => ({ files: operations.configFiles(`${params[0]}/${params[1]}`) }))
  routes.add('GET', '/v1/sources', async () => sources.list())
  routes.add('POST', '/v1/sources', async ({ body }) => {
    const { name, interval, signers, ...rest } = sourceBody(body)
    return await sources.set(name, { ...rest, interval: requestDuration(interval, '--watch', { min: 5000, max: 86_400_000 }), ...(signers === undefined ? {} : { signers }) })
  })
  routes.add('DELETE', '/v1/sources/:name', async ({ params }) => {
    await sources.remove(params[0])
    return { removed: params[0] }
  })
}
