/**
 * control API: volumes and their backups
 *
 *   GET  /v1/volumes                  every live node's volumes of this org's services
 *   POST /v1/backup   {service}       a snapshot of the service's volumes now, where it runs
 *   GET  /v1/backups?service=NAME     the repository's snapshots, and the latest of each volume
 *   POST /v1/restore  {service, snapshot?}   choose a snapshot: the node that runs it restores it
 *
 * (`DELETE /v1/services/:org/:name?volumes=1` removes a service with its volumes: routes-services.ts)
 */
import { backupBody, restoreBody } from '../api/bodies.js'
import type { VolumeVerbError } from '../core/volumes/verbs.js'
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, UnavailableError } from '../errors.js'
import type { ApiContext, ApiRoutes } from './api-types.js'

/** the volumes' routes: volumes, backup, backups, restore */
export function volumeRoutes (routes: ApiRoutes, { operations, volumes }: ApiContext): void {
  const verbs = (): NonNullable<ApiContext['volumes']> => {
    if (volumes === undefined) throw new UnavailableError('This node does not back up volumes: restic is not installed here (apt-get install restic, then restart the node), or ask a node that has it')
    return volumes
  }
  /** `org/name` of a service this node sees, from a bare name or org/name */
  const serviceOf = (ref: string): [string, string] => {
    const { spec } = operations.serviceRecord(ref)
    return [spec.org, spec.name]
  }
  routes.add('GET', '/v1/volumes', async () => await mapped(async () => await verbs().volumes(operations.org)))
  routes.add('POST', '/v1/backup', async ({ body }) => {
    const [org, name] = serviceOf(backupBody(body).service)
    const done = await mapped(async () => await verbs().backup(org, name))
    return { service: `${org}/${name}`, ...done }
  })
  routes.add('GET', '/v1/backups', async ({ query }) => {
    const ref = query.get('service')
    if (ref === null || ref.trim() === '') throw new BadRequestError('Name the service: /v1/backups?service=NAME (or ORG/NAME)')
    const [org, name] = serviceOf(ref.trim())
    return await mapped(async () => await verbs().list(org, name))
  })
  routes.add('POST', '/v1/restore', async ({ body }) => {
    const request = restoreBody(body)
    const [org, name] = serviceOf(request.service)
    return { service: `${org}/${name}`, chosen: await mapped(async () => await verbs().restore(org, name, request.snapshot)) }
  })
}

/** a verb's refusal as the API error of its kind */
async function mapped<T> (run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (err) {
    if ((err as Error).name !== 'VolumeVerbError') throw err
    const { code, message } = err as VolumeVerbError
    if (code === 'not-found') throw new NotFoundError(message)
    if (code === 'forbidden') throw new ForbiddenError(message)
    if (code === 'conflict') throw new ConflictError(message)
    throw new UnavailableError(message)
  }
}
