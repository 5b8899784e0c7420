/**
 * @packageDocumentation
 *
 * `@minga/node/api`: the control API's contract (routes, bodies, answers),
 * for its clients: the `minga` CLI and tools that script a node. Loads
 * nothing of the daemon; the body checkers need only `@minga/protocol`.
 *
 * @example
 * ```ts
 * import type { GetRoutes } from '@minga/node/api'
 * const status: GetRoutes['/v1/status'] = await api.get('/v1/status')
 * ```
 */
export type * from './contract.js'
export * from './bodies.js'
export { buildBody } from './bodies-builds.js'
