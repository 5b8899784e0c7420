/**
 * @packageDocumentation
 *
 * The `minga` CLI: its control-API client and output helpers, for tools that script a node.
 */
export * from './client.js'
export * from './errors.js'
export * from './format.js'
