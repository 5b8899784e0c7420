/**
 * Virtual time, the simulator's engine and the core tests' clock: whole
 * milliseconds since the epoch, an event queue, and the `Clock` the node
 * core runs on. A test runs the core on it exactly: a 3 s timeout is 3 s
 * of virtual time, however loaded the machine.
 *
 * The core is asynchronous (state merges, the runtime), so between two
 * instants of virtual time the engine lets every pending promise settle:
 * before the clock moves forward it yields one macrotask
 * (`setImmediate`), and Node runs the whole microtask queue, chains
 * included, first. Events of the same millisecond run back to back. Nothing
 * else (no timer, no I/O) feeds the process, so the interleaving, and with
 * it the run, is a function of the seed alone.
 */
import type { Clock, Timer, WorkStep } from './clock.js'
import type { CpuModel } from './cpu-model.js'
import { cancelEvent, EventQueue, type SimEvent } from './event-queue.js'

/** 2026-01-01T00:00:00Z: virtual time starts here */
export const SIM_EPOCH = 1_767_225_600_000

export interface RunProgress {
  /** virtual ms since the start */
  elapsed: number
  events: number
  wallMs: number
}

export interface RunOptions {
  onProgress?: (progress: RunProgress) => void
  /** wall ms between progress calls; default 1000 */
  progressEvery?: number
}

const drain = async (): Promise<void> => { await new Promise<void>(resolve => setImmediate(resolve)) }

/** a virtual clock with its event queue; `run(until)` plays the events up to then */
export class VirtualClock implements Clock {
  readonly queue = new EventQueue()
  readonly epoch: number
  private time: number
  /** events run so far */
  events = 0
  /** macrotask yields so far (one per distinct instant) */
  drains = 0
  private readonly wallStart = performance.now()

  constructor (epoch = SIM_EPOCH) {
    this.epoch = epoch
    this.time = epoch
  }

  now (): number {
    return this.time
  }

  /** virtual ms since the start */
  get elapsed (): number {
    return this.time - this.epoch
  }

  /** run `fn` at virtual time `time` (never in the past) */
  at (time: number, fn: () => void): SimEvent {
    return this.queue.push(Math.max(this.time, Math.ceil(time)), fn)
  }

  after (ms: number, fn: () => void): Timer {
    const event = this.at(this.time + Math.max(0, ms), fn)
    return { cancel: () => { cancelEvent(event) } }
  }

  every (ms: number, fn: () => void): Timer {
    const period = Math.max(1, ms)
    let event: SimEvent
    let cancelled = false
    const tick = (): void => {
      if (cancelled) return
      event = this.at(this.time + period, tick)
      fn()
    }
    event = this.at(this.time + period, tick)
    return { cancel: () => { cancelled = true; cancelEvent(event) } }
  }

  async sleep (ms: number, signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) { reject(signal.reason); return }
      const onAbort = (): void => { cancelEvent(event); reject(signal?.reason) }
      const event = this.at(this.time + Math.max(0, ms), () => { signal?.removeEventListener('abort', onAbort); resolve() })
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** run events until virtual time `until` (absolute ms); pending promises settle before each step forward */
  async run (until: number, options: RunOptions = {}): Promise<void> {
    const every = options.progressEvery ?? 1000
    let lastReport = performance.now()
    let sinceCheck = 0
    for (;;) {
      let next = this.queue.peekTime()
      if (next > this.time) {
        await drain()
        this.drains++
        next = this.queue.peekTime()
        if (next > until) break
        if (next > this.time) this.time = next
      }
      const event = this.queue.pop()!
      this.events++
      event.fn()
      if (++sinceCheck >= 4096 && options.onProgress !== undefined) {
        sinceCheck = 0
        const wall = performance.now()
        if (wall - lastReport >= every) {
          lastReport = wall
          options.onProgress({ elapsed: this.elapsed, events: this.events, wallMs: wall - this.wallStart })
        }
      }
    }
    if (until > this.time) this.time = until
    await drain()
  }
}

/**
 * One node's view of the clock: the same time, but its timers die with the
 * process. After `kill()` no timer of this incarnation fires again and its
 * sleeps never end, as in a process that was killed. While the node's CPU is
 * stalled (`stall`) or busy with a step it pays for (a `CpuModel`: `io` of a
 * step, `work`), its timers and what arrives for it wait; when it resumes,
 * the step it paid for runs, then the late timers, then what arrived (an
 * event loop runs due timers before it reads its sockets: the order that
 * makes a stalled node time out probes whose acks are already waiting).
 */
export class NodeClock implements Clock {
  private dead = false
  private stalledUntil = -Infinity
  private readonly paid: Array<() => void> = []
  private readonly lateTimers: Array<() => void> = []
  private readonly lateIo: Array<() => void> = []
  /** with a CPU model: resolves once the node's CPU has done `step` (Clock.work); without one, steps are free and this is absent */
  readonly work?: (step: WorkStep) => Promise<void>

  /** gives back the machine's share this process takes in the background (`CpuModel.idle`) */
  private readonly release?: () => void

  constructor (private readonly sim: VirtualClock, private readonly cpu?: CpuModel) {
    if (cpu !== undefined) this.work = async (step) => { await new Promise<void>(resolve => { this.io(resolve, step) }) }
    if ((cpu?.idle ?? 0) > 0) this.release = cpu!.cores.occupy(cpu!.idle!)
  }

  get alive (): boolean {
    return !this.dead
  }

  get stalled (): boolean {
    return this.sim.now() < this.stalledUntil
  }

  kill (): void {
    this.dead = true
    this.release?.()
  }

  /** the node's CPU stalls for `ms` */
  stall (ms: number): void {
    this.stalledUntil = Math.max(this.stalledUntil, this.sim.now() + ms)
    this.sim.at(this.stalledUntil, this.resume)
  }

  /**
   * Something arrived for this node: handle it now, or when its stall ends.
   * With a CPU model, `step` (what handling it costs) is charged first and
   * `fn` runs once the node's CPU has done it.
   */
  io (fn: () => void, step?: WorkStep): void {
    if (this.dead) return
    if (this.stalled) { this.lateIo.push(() => { this.io(fn, step) }); return }
    const cost = step === undefined || this.cpu === undefined ? 0 : this.cpu.costs[step] ?? 0
    if (cost <= 0) { fn(); return }
    this.stalledUntil = this.cpu!.cores.reserve(this.sim.now(), cost)
    this.paid.push(fn)
    this.sim.at(this.stalledUntil, this.resume)
  }

  private readonly resume = (): void => {
    if (this.stalled) return
    for (const fn of this.paid.splice(0)) if (!this.dead) fn()
    for (const fn of this.lateTimers.splice(0)) if (!this.dead) fn()
    for (const fn of this.lateIo.splice(0)) if (!this.dead) fn()
  }

  now (): number {
    return this.sim.now()
  }

  after (ms: number, fn: () => void): Timer {
    let cancelled = false
    const timer = this.sim.after(ms, () => {
      if (this.dead || cancelled) return
      if (this.stalled) this.lateTimers.push(() => { if (!cancelled) fn() })
      else fn()
    })
    return { cancel: () => { cancelled = true; timer.cancel() } }
  }

  /** a tick due while the node is stalled or busy runs once when it resumes (as setInterval's does), not once per period missed */
  every (ms: number, fn: () => void): Timer {
    let cancelled = false
    let late = false
    const timer = this.sim.every(ms, () => {
      if (this.dead) { timer.cancel(); return }
      if (!this.stalled) { fn(); return }
      if (late) return
      late = true
      this.lateTimers.push(() => { late = false; if (!cancelled) fn() })
    })
    return { cancel: () => { cancelled = true; timer.cancel() } }
  }

  async sleep (ms: number, signal?: AbortSignal): Promise<void> {
    await this.sim.sleep(ms, signal)
    if (this.dead) await new Promise<never>(() => {})
  }
}
