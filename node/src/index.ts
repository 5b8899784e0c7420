/**
 * @packageDocumentation
 *
 * The minga node: the daemon (data dir, LevelDB, libp2p, the door, a
 * container runtime, the core, the control API, metrics and the dashboard)
 * and, re-exported, the sans-I/O core (`@minga/node/core`). The CLI uses
 * only `@minga/node/setup`; the simulator only `@minga/node/core`.
 *
 * @example
 * ```ts
 * import { Daemon } from '@minga/node'
 * const daemon = new Daemon({ dataDir: '/var/lib/minga' })
 * await daemon.start()
 * ```
 */
import './polyfill.js'

export * from './core/index.js'
export { Daemon, VERSION, type DaemonOptions } from './daemon/daemon.js'
export { DataDir, defaultDataDir, type MeshFile } from './daemon/data-dir.js'
export { initMesh, joinMesh, type JoinOptions } from './daemon/setup.js'
export { ApiServer, type ApiContext, type ApiRoutes, type Handler, type NodeControl } from './daemon/api-server.js'
export { DEFAULT_HTTP_ADDRESS, HttpServer, parseHttpAddress, type HttpAddress, type HttpServerInit } from './daemon/http-server.js'
export { requestDuration } from './daemon/duration.js'
export { dashboardPage } from './dashboard/page.js'
export { DashboardData, type DashboardOperations, type DashboardSnapshot } from './dashboard/snapshot.js'
export { nodeMetrics, type MetricsComponents, type NodeMetricsOptions } from './metrics/metrics.js'
export { libp2pMetrics } from './metrics/libp2p.js'
export { LevelPersistence, type LevelPersistenceInit } from './store/level-persistence.js'
export { DockerRuntime, type DockerRuntimeInit } from './runtime/docker.js'
export { containerName, volumeName } from './runtime/docker-spec.js'
export { Libp2pMesh, MAX_FRAME_BYTES, type MeshLibp2p } from './host/libp2p-mesh.js'
export { defaults, type HostConfigInit } from './host/libp2p-config.js'
export { MemberGater } from './host/gater.js'
