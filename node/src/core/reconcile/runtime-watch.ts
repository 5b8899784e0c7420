/**
 * The reconcile loop's ear on the container engine: every runtime event
 * (a container died, its health changed) asks for a pass, and becomes an
 * event of its own where it is news: a crash (`replica-crash`) unless this
 * node stopped the container itself, a health change (`replica-healthy`,
 * `replica-unhealthy`). When the event stream breaks (the engine restarted
 * or is unreachable) the periodic pass goes on, and the watch starts again
 * after a second.
 */
import type { RuntimeContainer, Runtime } from '../../runtime/types.js'
import type { CoreComponents } from '../components.js'
import { errorText } from '../logger.js'
import { replicaKey } from './replicas.js'

/** wait this long before watching the runtime's events again after the stream broke */
const WATCH_RETRY_MS = 1000

export interface RuntimeWatchHooks {
  /** true once the loop stopped: the watch ends */
  stopped: () => boolean
  /** the container of an event among those the loop observes */
  find: (id: string) => RuntimeContainer | undefined
  /** this node stopped that container itself: its exit is a stop, not a crash */
  ownStop: (id: string) => boolean
  /** something changed: a pass is due */
  changed: () => void
  /** the controller of the current watch, to abort it when the loop stops */
  watching: (controller: AbortController) => void
}

/** watch `runtime`'s events until `hooks.stopped()`; never rejects */
export async function watchRuntime (components: Pick<CoreComponents, 'identity' | 'clock' | 'events' | 'logger'> & { runtime: Runtime }, hooks: RuntimeWatchHooks): Promise<void> {
  const { runtime, clock, events, identity } = components
  const log = components.logger.forComponent('reconcile')
  while (!hooks.stopped()) {
    const watcher = new AbortController()
    hooks.watching(watcher)
    try {
      for await (const event of runtime.events({ signal: watcher.signal })) {
        const c = hooks.find(event.id)
        const subject = c === undefined ? event.id : replicaKey(c.service, c.replica)
        // a container that exits because this node stopped it did not crash: its stop is an event of its own
        if (event.type === 'die' && c !== undefined && !hooks.ownStop(event.id)) {
          events.emit({ time: clock.now(), node: identity.peerId, kind: 'replica-crash', subject, reason: `exited with code ${event.exitCode}` })
        }
        if (event.type === 'health' && event.health !== 'starting') {
          const healthy = event.health === 'healthy'
          events.emit({ time: clock.now(), node: identity.peerId, kind: healthy ? 'replica-healthy' : 'replica-unhealthy', subject, reason: `health check ${healthy ? 'passes' : 'fails'}` })
        }
        hooks.changed()
      }
    } catch (err) {
      if (!hooks.stopped()) log.error('the runtime\'s event stream broke: %s', errorText(err))
    }
    // the stream ended (engine restarted or unreachable): the periodic pass goes on, and we watch again
    if (hooks.stopped()) return
    hooks.changed()
    await clock.sleep(WATCH_RETRY_MS, watcher.signal).catch(() => {})
  }
}
