/**
 * Fixtures for the supervisor's unit tests: the virtual clock, an engine whose answers the test controls (it can hang, fail
 * or take its stop grace), and a reaper that kills fake processes.
 */
import { VirtualClock } from '../src/core/virtual-clock.js'
import type { ProcessReaper, SupervisedContainer, SupervisedEngine } from '../src/core/supervision/types.js'

/** the core's virtual clock, moved by the test: `advance(ms)` plays what falls due, promises settling between instants */
export class ManualClock extends VirtualClock {
  constructor () { super(1_000_000) }

  async advance (ms: number): Promise<void> {
    await this.run(this.now() + ms)
  }
}

/** lets pending promise callbacks (and a few rounds of their follow-ups) run */
export async function settle (): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve))
}

export interface FakeContainer extends SupervisedContainer {
  /** ms a stop takes after the stop signal: the program's own shutdown; beyond the grace it is killed */
  stopsAfterMs: number
  removed?: boolean
  /** virtual time it stopped, and how */
  stoppedAt?: number
  stoppedBy?: 'engine' | 'process'
}

/** an engine the test drives: `mode` 'up' answers, 'down' refuses at once, 'hung' never answers, 'slow-stop' answers all but stops */
export class FakeEngine implements SupervisedEngine {
  mode: 'up' | 'down' | 'hung' | 'slow-stop' = 'up'
  readonly containers = new Map<string, FakeContainer>()
  readonly calls: string[] = []
  private readonly listeners = new Set<(id: string) => void>()

  constructor (private readonly clock: ManualClock) {}

  add (id: string, options: Partial<FakeContainer> = {}): FakeContainer {
    const c: FakeContainer = { id, service: 'acme/db', replica: 0, running: true, pid: 1000 + this.containers.size, stopsAfterMs: 100, ...options }
    this.containers.set(id, c)
    return c
  }

  /** a container starts (e.g. a start request the dead daemon sent just before it died) */
  start (id: string, options: Partial<FakeContainer> = {}): FakeContainer {
    const c = this.add(id, options)
    for (const listener of this.listeners) listener(id)
    return c
  }

  running (): FakeContainer[] {
    return [...this.containers.values()].filter(c => c.running)
  }

  async list (): Promise<SupervisedContainer[]> {
    await this.answer('list')
    return [...this.containers.values()].filter(c => c.removed !== true).map(c => ({ id: c.id, service: c.service, replica: c.replica, running: c.running, ...(c.running ? { pid: c.pid } : {}) }))
  }

  async stop (id: string, graceMs: number): Promise<void> {
    await this.answer(`stop ${id} ${graceMs}`)
    if (this.mode === 'slow-stop') await new Promise(() => {})
    const c = this.containers.get(id)
    if (c === undefined || !c.running) return
    await this.clock.sleep(Math.min(c.stopsAfterMs, graceMs))
    if (c.running) { c.running = false; c.stoppedAt = this.clock.now(); c.stoppedBy = 'engine' }
  }

  async remove (id: string): Promise<void> {
    await this.answer(`remove ${id}`)
    const c = this.containers.get(id)
    if (c !== undefined) { c.running = false; c.removed = true }
  }

  async * starts (options: { signal: AbortSignal }): AsyncIterable<string> {
    const queue: string[] = []
    let wake: (() => void) | undefined
    const listener = (id: string): void => { queue.push(id); wake?.() }
    this.listeners.add(listener)
    try {
      while (!options.signal.aborted) {
        if (queue.length > 0) { yield queue.shift()!; continue }
        await new Promise<void>(resolve => { wake = resolve; options.signal.addEventListener('abort', () => resolve(), { once: true }) })
      }
    } finally {
      this.listeners.delete(listener)
    }
  }

  private async answer (call: string): Promise<void> {
    this.calls.push(call)
    if (this.mode === 'down') throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
    if (this.mode === 'hung') await new Promise(() => {})
  }
}

/** kills the fake engine's containers as if by their pids; `visible` false: another PID namespace */
export class FakeReaper implements ProcessReaper {
  visible = true
  readonly signals: string[] = []
  private readonly tracked = new Map<string, number>()

  constructor (private readonly engine: FakeEngine, private readonly clock: ManualClock) {}

  track (id: string, pid: number): boolean {
    if (!this.visible) return false
    this.tracked.set(id, pid)
    return true
  }

  alive (id: string): boolean | undefined {
    if (!this.tracked.has(id)) return undefined
    return this.engine.containers.get(id)?.running === true
  }

  signal (id: string, signal: 'SIGTERM' | 'SIGKILL'): void {
    const c = this.engine.containers.get(id)
    if (c === undefined || !c.running || !this.tracked.has(id)) return
    this.signals.push(`${signal} ${id}`)
    const end = (): void => { if (c.running) { c.running = false; c.stoppedAt = this.clock.now(); c.stoppedBy = 'process' } }
    if (signal === 'SIGKILL') end()
    else this.clock.after(c.stopsAfterMs, end)
  }

  forget (id: string): void {
    this.tracked.delete(id)
  }
}
