/** control API: images carried by the mesh (push, ls, scan) and the org's scan gate (policy) */
import type { ServerResponse } from 'node:http'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { isAbsolute } from 'node:path'
import { imagePushBody, imageScanBody, policyBody, scannerDbBody } from '../api/bodies.js'
import { BadRequestError } from '../errors.js'
import type { ApiContext, ApiRoutes } from './api-types.js'
import { requestDuration } from './duration.js'

/** the image routes; without images (the in-memory runtime) each says so */
export function imageRoutes (routes: ApiRoutes, { images }: ApiContext): void {
  const ops = (): NonNullable<ApiContext['images']> => {
    if (images === undefined) throw new BadRequestError('This node carries no images (it runs the in-memory runtime); use a node that runs Docker')
    return images
  }
  routes.add('GET', '/v1/images', async () => await ops().list())
  routes.add('GET', '/v1/images/outdated', async () => ops().outdated())
  routes.add('GET', '/v1/images/holders', async ({ query, res }) => {
    const digest = query.get('digest') ?? ''
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new BadRequestError('Say which image: /v1/images/holders?digest=sha256:<64 hex>')
    return { digest, ...await ops().holders(digest, { signal: abortedWith(res) }) }
  })
  routes.add('POST', '/v1/images/push', async ({ body, res }) => {
    const push = imagePushBody(body)
    return await ops().push(push.image, { private: push.private, signal: abortedWith(res) })
  })
  routes.add('POST', '/v1/images/scan', async ({ body, res }) => await ops().scan(imageScanBody(body).image, { signal: abortedWith(res) }))
  routes.add('GET', '/v1/policy', async () => ({ org: ops().org, policy: ops().policy() ?? null }))
  routes.add('POST', '/v1/policy', async ({ body }) => {
    const policy = policyBody(body)
    const maxDbAge = policy.maxDbAge === undefined ? undefined : requestDuration(policy.maxDbAge, 'maxDbAge', { min: 60_000, max: 365 * 86_400_000 })
    return await ops().setPolicy({ block: policy.block, maxDbAge, scanner: policy.scanner })
  })
  routes.add('POST', '/v1/scanner-db', async ({ body }) => {
    const given = scannerDbBody(body)
    if (!isAbsolute(given.path)) throw new BadRequestError(`The database file must be an absolute path on this node, not "${given.path.slice(0, 200)}"`)
    const built = Date.parse(given.built)
    const info = await stat(given.path).catch(() => undefined)
    if (info?.isFile() !== true) throw new BadRequestError(`No file ${given.path.slice(0, 200)} on this node; give the database file's path`)
    const result = await ops().pushScannerDb(createReadStream(given.path), { built, scanner: given.scanner })
    return { org: result.org, scanner: result.scanner, index: result.index, size: result.size, built: result.built }
  })
}

/** a signal that aborts when the client goes away before its answer */
function abortedWith (res: ServerResponse): AbortSignal {
  const controller = new AbortController()
  res.once('close', () => { if (!res.writableEnded) controller.abort() })
  return controller.signal
}
