/**
 * control API: builds from git (`minga build`, `build ls`, `build logs`).
 * A build call answers when the build is over, passed or failed (a failure
 * is an answer, not an error: its log says why); it goes on if the client
 * goes away, and `minga build ls` shows its result.
 */
import { buildBody } from '../api/bodies-builds.js'
import { BadRequestError } from '../errors.js'
import type { ApiContext, ApiRoutes } from './api-types.js'

/** the build routes; without builds (the in-memory runtime) each says so */
export function buildRoutes (routes: ApiRoutes, { builds }: ApiContext): void {
  const ops = (): NonNullable<ApiContext['builds']> => {
    if (builds === undefined) throw new BadRequestError('This node builds no images (it runs the in-memory runtime); use a node that runs Docker')
    return builds
  }
  routes.add('POST', '/v1/builds', async ({ body }) => {
    const b = buildBody(body)
    const source = b.source.startsWith('/') ? { dir: b.source } : { url: b.source }
    return await ops().build({ source, tag: b.tag, ref: b.ref, context: b.context, file: b.file, args: b.args, target: b.target, test: b.test, private: b.private, on: b.on })
  })
  routes.add('GET', '/v1/builds', async () => ops().list())
  routes.add('GET', '/v1/builds/:id', async ({ params }) => ops().get(params[0]))
  routes.add('GET', '/v1/build-logs/:id', async ({ params }) => {
    const view = ops().get(params[0])
    const chunks: Buffer[] = []
    for await (const chunk of ops().logs(params[0])) chunks.push(Buffer.from(chunk))
    return { id: view.id, status: view.status, log: Buffer.concat(chunks).toString('utf8') }
  })
}
