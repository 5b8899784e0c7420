/**
 * Logging in the core: js-libp2p's component logger (@libp2p/logger, on the
 * `debug` module), so one switch shows minga's and libp2p's lines together.
 * Every service takes `logger` in its components and keeps
 * `logger.forComponent('sync')`; a failure it absorbs (a bad message from a
 * peer, a failed round that the next one retries) goes to `log.error`, what
 * it does to `log` and `log.trace`. Nothing is printed unless asked:
 *
 *   DEBUG='minga:*' minga up          # everything this node does
 *   DEBUG='minga:*:error' minga up    # only what failed
 *   DEBUG='minga:*,libp2p:*' minga up # with libp2p's own lines
 *
 * Components are named `minga:<node>:<component>`, the node by the last 8
 * characters of its peer id, as `minga nodes` shows it.
 */
import { prefixLogger } from '@libp2p/logger'
import type { ComponentLogger, Logger } from '@libp2p/interface'

export type { ComponentLogger, Logger }

/** the loggers of one node: `minga:<last 8 of its peer id>:<component>` */
export function nodeLogger (peerId: string): ComponentLogger {
  return namedLogger(`minga:${peerId.slice(-8)}`)
}

/** loggers named `<prefix>:<component>`, each made once */
export function namedLogger (prefix: string): ComponentLogger {
  return cachedLogger(prefixLogger(prefix))
}

/** one logger per component name, made once: thousands of simulated nodes share them */
export function cachedLogger (base: ComponentLogger): ComponentLogger {
  const made = new Map<string, Logger>()
  return {
    forComponent (name: string): Logger {
      let log = made.get(name)
      if (log === undefined) made.set(name, log = base.forComponent(name))
      return log
    }
  }
}

/** an error's message for a log line, whatever was thrown (protocol's messageOf) */
export { messageOf as errorText } from '@minga/protocol'
