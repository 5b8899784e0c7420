/**
 * Container runtimes: the Runtime interface, the Docker adapter and the
 * in-memory model, with their errors.
 *
 * @example
 * ```ts
 * const runtime = process.env.MINGA_RUNTIME === 'memory'
 *   ? new MemoryRuntime({ meshId, nodeId })
 *   : new DockerRuntime({ meshId, nodeId })
 * const container = await runtime.start({ service: 'acme/web', replica: 0, hash, spec })
 * ```
 */
export * from './types.js'
export * from './errors.js'
export { DockerRuntime, type DockerRuntimeInit } from './docker.js'
export { MemoryRuntime, type MemoryRuntimeInit } from './memory.js'
export { MemoryEngine, type MemoryEngineInit, type Delay } from './memory-engine.js'
export { containerName, volumeName } from './docker-spec.js'
