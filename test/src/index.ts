/**
 * @packageDocumentation
 *
 * Helpers for minga's integration tests and benchmarks: a mesh of real
 * node processes driven through the CLI, and polling waits.
 */
export * from './cluster.js'
export * from './minga-cli.js'
export * from './wait.js'
export * from './specs.js'
export * from './checks.js'
export * from './raw-peer.js'
export * from './proc.js'
export * from './follow.js'
export * from './skip.js'
export * from './readme.js'
