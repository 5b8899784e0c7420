/**
 * Fixtures for the supervisor's unit tests: a clock that moves only when a
 * test says so, an engine whose answers the test controls (it can hang, fail
 * or take its stop grace), and a reaper that kills fake processes.
 */
import type { Clock, Timer } from '../src/core/clock.js'
import type { ProcessReaper, SupervisedContainer, SupervisedEngine } from '../src/core/supervision/watchdog.js'

interface Pending { at: number, seq: number, fn: () => void, every?: number, cancelled: boolean }

/** virtual time: `advance(ms)` runs what falls due in order, letting promises settle between timers */
export class ManualClock implements Clock {
  private time = 1_000_000
  private seq = 0
  private readonly timers: Pending[] = []

  now (): number { return this.time }

  after (ms: number, fn: () => void): Timer {
    const t: Pending = { at: this.time + Math.max(0, ms), seq: this.seq++, fn, cancelled: false }
    this.timers.push(t)
    return { cancel: () => { t.cancelled = true } }
  }

  every (ms: number, fn: () => void): Timer {
    const t: Pending = { at: this.time + ms, seq: this.seq++, fn, every: ms, cancelled: false }
    this.timers.push(t)
    return { cancel: () => { t.cancelled = true } }
  }

  async sleep (ms: number, signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) { reject(signal.reason); return }
      const timer = this.after(ms, resolve)
      signal?.addEventListener('abort', () => { timer.cancel(); reject(signal.reason) }, { once: true })
    })
  }

  async advance (ms: number): Promise<void> {
    const end = this.time + ms
    await settle()
    while (true) {
      const due = this.timers.filter(t => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0]
      if (due === undefined) break
      this.time = due.at
      if (due.every === undefined) due.cancelled = true
      else due.at += due.every
      due.fn()
      await settle()
    }
    this.time = end
    await settle()
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
