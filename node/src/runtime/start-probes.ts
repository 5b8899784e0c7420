/**
 * minga's own first health probes. Docker runs a container's first health
 * check one full `interval` after it starts (Docker 20.10, which Debian
 * ships, has no `start_interval`), so a replica with a 30 s interval would
 * wait 30 s to be healthy. Both runtimes therefore run the spec's check
 * themselves (`docker exec` of the same command, as the same user, with
 * the same timeout) as soon as the container starts, then every
 * `START_INTERVAL_MS` (doubling up to `START_INTERVAL_MAX_MS`) until one
 * passes, the container stops running, or the engine has a verdict of its
 * own.
 *
 * How the result counts, against Docker's rules (daemon/health.go):
 *   - a pass makes the container healthy, as Docker's first pass does; a
 *     container the engine still reports `starting` is reported healthy,
 *     with the passing probe, from then on
 *   - once the engine has its own verdict (healthy or unhealthy, from its
 *     own checks at `interval`) that verdict wins, as a later Docker check
 *     would overrule an earlier one
 *   - a failure counts for nothing: the engine's own checks, `retries` of
 *     them past the start period, still decide when a replica is unhealthy.
 *     (Counting these faster probes toward `retries` would declare a slow
 *     starter unhealthy long before `interval × retries`, which the spec
 *     promises it.)
 */
import { probeOutput, type HealthProbe, type HealthSpec } from '@minga/protocol'
import type { ContainerHealth, RuntimeContainer, RuntimeEvent } from './types.js'

/** the first probe runs at once; then this long between probes, doubling… */
export const START_INTERVAL_MS = 250
/** …up to this */
export const START_INTERVAL_MAX_MS = 2000

export interface StartProbeHooks {
  /** run the check's command in the container: its exit code (-1: timed out) and output; throws when it cannot run */
  exec: (id: string, cmd: string[], options: { timeoutMs: number, signal: AbortSignal }) => Promise<{ exitCode: number, output: string }>
  /** the engine's own view of the container (not merged with these probes); undefined when it is gone */
  inspect: (id: string) => Promise<{ state: RuntimeContainer['state'], health: ContainerHealth } | undefined>
  /** wait `ms` on the runtime's clock; rejects when `signal` aborts */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>
  /** an early probe passed: the container is healthy now (the runtime tells its event subscribers) */
  onHealthy: (id: string) => void
}

/** the first probes of one runtime's containers (see above); `close()` ends them all */
export class StartProbes {
  private readonly passed = new Map<string, HealthProbe>()
  private readonly watching = new Map<string, AbortController>()

  constructor (private readonly hooks: StartProbeHooks) {}

  /** probe the container now and until it passes; a container already watched or passed is left alone */
  watch (id: string, check: HealthSpec): void {
    if (this.watching.has(id) || this.passed.has(id)) return
    const controller = new AbortController()
    this.watching.set(id, controller)
    void this.run(id, check, controller.signal).finally(() => {
      if (this.watching.get(id) === controller) this.watching.delete(id)
    })
  }

  /** the container is gone: stop probing it and forget its pass */
  forget (id: string): void {
    this.watching.get(id)?.abort()
    this.watching.delete(id)
    this.passed.delete(id)
  }

  /** the container as the node sees it: healthy (with the passing probe) when the engine still says starting and an early probe passed */
  merge (c: RuntimeContainer): RuntimeContainer {
    const probe = this.passed.get(c.id)
    if (probe === undefined || c.health !== 'starting' || c.state !== 'running') return c
    return { ...c, health: 'healthy', probe }
  }

  /** merge a listing, and forget containers no longer in it */
  mergeAll (list: RuntimeContainer[]): RuntimeContainer[] {
    const ids = new Set(list.map(c => c.id))
    for (const id of [...this.passed.keys()]) if (!ids.has(id) && !this.watching.has(id)) this.passed.delete(id)
    return list.map(c => this.merge(c))
  }

  close (): void {
    for (const controller of this.watching.values()) controller.abort()
    this.watching.clear()
  }

  private async run (id: string, check: HealthSpec, signal: AbortSignal): Promise<void> {
    let wait = START_INTERVAL_MS
    while (!signal.aborted) {
      const result = await this.hooks.exec(id, check.cmd, { timeoutMs: check.timeout, signal }).catch(() => undefined)
      if (signal.aborted) return
      if (result?.exitCode === 0) {
        this.passed.set(id, { exitCode: 0, output: probeOutput(result.output) })
        this.hooks.onHealthy(id)
        return
      }
      // a failure counts for nothing (see above); the engine's verdict, once it has one, ends the early probes
      const now = await this.hooks.inspect(id).catch(() => undefined)
      if (now === undefined || now.state !== 'running' || now.health !== 'starting') return
      try { await this.hooks.sleep(wait, signal) } catch { return }
      wait = Math.min(START_INTERVAL_MAX_MS, wait * 2)
    }
  }
}

/**
 * One subscriber's view of the runtime's events: health events that say
 * what the subscriber was last told of that container (an early probe's
 * pass, then the engine's own `healthy`) are dropped
 */
export function dedupedHealth (push: (event: RuntimeEvent) => void): (event: RuntimeEvent) => void {
  const told = new Map<string, ContainerHealth>()
  return (event) => {
    if (event.type === 'health') {
      if (told.get(event.id) === event.health) return
      told.set(event.id, event.health)
    } else if (event.type === 'remove' || event.type === 'start') {
      told.delete(event.id)
    }
    push(event)
  }
}
