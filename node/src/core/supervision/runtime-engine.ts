/**
 * The supervisor's engine over a minga `Runtime`: the in-memory twin of the
 * Docker binding (node/src/supervisor/docker-engine.ts), for the simulator
 * and unit tests, where a node's "daemon" can die while its host's
 * containers run on. The runtime already sees only its own node's
 * containers; it knows no pids, so the watchdog's fallback never applies.
 */
import type { Runtime } from '../../runtime/types.js'
import type { ProcessReaper, SupervisedEngine } from './types.js'

/** the reaper of a world without processes (the in-memory runtime): nothing tracked, nothing signalled */
export const NO_REAPER: ProcessReaper = { track: () => false, alive: () => undefined, signal: () => {}, forget: () => {} }

export function runtimeEngine (runtime: Runtime): SupervisedEngine {
  return {
    async list (options = {}) {
      return (await runtime.list(options)).map(c => ({ id: c.id, service: c.service, replica: c.replica, running: c.state === 'running' || c.state === 'starting' }))
    },
    async stop (id, graceMs, options = {}) {
      // a runtime's stop removes the container too; the watchdog's remove afterwards finds it gone
      await runtime.stop(id, { ...options, graceMs })
    },
    async remove (id, options = {}) {
      await runtime.stop(id, { ...options, graceMs: 0 })
    },
    async * starts ({ signal }) {
      for await (const event of runtime.events({ signal })) if (event.type === 'start') yield event.id
    }
  }
}
