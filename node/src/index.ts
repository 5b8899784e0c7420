/**
 * @packageDocumentation
 *
 * The minga node: the sans-I/O core (liveness, sync, admission, reconcile),
 * its bindings to libp2p and Docker, the daemon and its control API.
 *
 * @example
 * ```ts
 * import { Daemon } from '@minga/node'
 * const daemon = new Daemon({ dataDir: '/var/lib/minga' })
 * await daemon.start()
 * ```
 */
import './polyfill.js'

export * from './errors.js'
export * from './core/clock.js'
export * from './core/mesh.js'
export * from './core/timing.js'
export * from './core/events.js'
export * from './core/liveness.js'
export * from './core/membership/index.js'
export * from './core/sync.js'
export * from './core/admission.js'
export * from './core/reconciler.js'
export * from './core/placement-cache.js'
export * from './core/view.js'
export * from './core/views.js'
export * from './core/operations.js'
export * from './core/core.js'
export * from './core/trust.js'
export * from './core/secrets.js'
export * from './core/audit.js'
export * from './core/logs-wire.js'
export * from './core/logs.js'
export * from './core/logs-gather.js'
export * from './core/mesh-events.js'
export * from './core/event-watch.js'
export * from './core/clock-offset.js'
export * from './metrics/index.js'
export * from './dashboard/snapshot.js'
export * from './dashboard/page.js'
export * from './runtime/index.js'
export * from './daemon/data-dir.js'
export * from './daemon/daemon.js'
export * from './daemon/setup.js'
export * from './daemon/duration.js'
export * from './daemon/http-server.js'
