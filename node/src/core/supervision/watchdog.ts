/**
 * What the supervisor decides, sans I/O. The supervisor is a small process
 * beside the daemon (node/src/supervisor/) that outlives it: while a daemon
 * is attached it only watches; when the daemon goes (its bond closes, or it
 * stops pinging) and no new daemon of the same node attaches within the
 * attach grace, it stops every container of this node in this mesh, and
 * keeps any of them from running until a daemon attaches again. So a node's
 * containers never outlive its minga process by more than
 * `supervisorBoundMs` (budget.ts), whatever ended the process.
 *
 * States: `waiting` (started, no daemon yet: not responsible for anything),
 * `attached`, `grace` (the daemon went; a new one may still adopt the
 * containers), `stopping`, `fenced` (all stopped; a container of this node
 * that starts now is stopped at once), `done` (the process may exit).
 *
 * When the engine does not answer, the supervisor signals the containers'
 * processes itself (`ProcessReaper`): it learns their pids while the daemon
 * is attached.
 */
import type { Clock, Timer } from '../clock.js'
import { DEFAULT_SUPERVISOR_BUDGET, type SupervisorBudget } from './budget.js'
import type { AttachResult, ProcessReaper, StopRound, StoppedHow, SupervisedContainer, SupervisedEngine, WatchdogState } from './types.js'

export interface WatchdogInit {
  engine: SupervisedEngine
  reaper: ProcessReaper
  clock: Clock
  budget?: SupervisorBudget
  /** started and never attached to for this long: exit without touching anything (default 30 s) */
  firstAttachMs?: number
  /** fenced with nothing left to do for this long: exit (default 30 s) */
  lingerMs?: number
  /** while fenced, look at the engine this often (default 2 s) */
  pollMs?: number
  /** while attached, refresh the pids this often besides on every start (default 30 s) */
  trackMs?: number
  /** one engine call's deadline (default 5 s) */
  callMs?: number
  log?: (line: string) => void
  /** the process may exit */
  onDone?: () => void
}

const DEFAULTS = { firstAttachMs: 30_000, lingerMs: 30_000, pollMs: 2000, trackMs: 30_000, callMs: 5000 }
/** rounds remembered for the next daemon */
const MAX_ROUNDS = 8
/** a start event is followed by a look at the engine this much later (several starts, one look) */
const TRACK_DEBOUNCE_MS = 200
/** how often a process signalled from here is looked at */
const REAP_POLL_MS = 100

export class Watchdog {
  private current: WatchdogState = 'waiting'
  private readonly budget: SupervisorBudget
  private readonly opts: typeof DEFAULTS
  private lastSeen = 0
  private terminating = false
  private timer?: Timer
  private trackTimer?: Timer
  private periodic?: Timer
  private fencedSince = 0
  private readonly watching = new AbortController()
  /** containers known, with their pids while the daemon is attached */
  private readonly known = new Map<string, SupervisedContainer>()
  /** stopped containers still to remove, and containers whose stop nobody could confirm */
  private readonly leftovers = new Set<string>()
  private readonly unconfirmed = new Set<string>()
  private readonly rounds: StopRound[] = []
  private pending = 0

  constructor (private readonly init: WatchdogInit) {
    this.budget = init.budget ?? DEFAULT_SUPERVISOR_BUDGET
    this.opts = {
      firstAttachMs: init.firstAttachMs ?? DEFAULTS.firstAttachMs,
      lingerMs: init.lingerMs ?? DEFAULTS.lingerMs,
      pollMs: init.pollMs ?? DEFAULTS.pollMs,
      trackMs: init.trackMs ?? DEFAULTS.trackMs,
      callMs: init.callMs ?? DEFAULTS.callMs
    }
  }

  get state (): WatchdogState {
    return this.current
  }

  /** the stop rounds since the last daemon attached, newest last */
  history (): StopRound[] {
    return this.rounds.map(r => ({ ...r, containers: r.containers.map(c => ({ ...c })) }))
  }

  start (): void {
    this.timer = this.init.clock.after(this.opts.firstAttachMs, () => {
      if (this.current !== 'waiting') return
      this.log(`no minga daemon attached within ${this.opts.firstAttachMs} ms; exiting without touching any container`)
      this.finish()
    })
    void this.watchStarts()
  }

  /** a daemon of this node attaches; refused while another one is attached */
  attach (): AttachResult {
    const { current } = this
    if (current === 'attached') return { ok: false, error: 'Another minga daemon of this node is attached to this supervisor; stop it first (one daemon per data dir)' }
    if (current === 'done') return { ok: false, error: 'This supervisor is exiting; start minga again to get a new one' }
    this.timer?.cancel()
    this.current = 'attached'
    this.lastSeen = this.init.clock.now()
    if (current === 'grace') this.log('a minga daemon attached within the grace: it adopts the running containers')
    else if (current === 'stopping' || current === 'fenced') this.log('a minga daemon attached: the fence ends, the daemon decides what runs')
    const rounds = this.rounds.splice(0)
    this.trackSoon(0)
    this.periodic?.cancel()
    this.periodic = this.init.clock.every(this.opts.trackMs, () => this.trackSoon(0))
    return { ok: true, rounds }
  }

  /** the attached daemon is alive (a ping) */
  heard (): void {
    if (this.current === 'attached') this.lastSeen = this.init.clock.now()
  }

  /**
   * The attached daemon went: its bond closed (`planned`: it said it was
   * stopping first). Its containers stop after the attach grace unless a new
   * daemon attaches; at once when the service manager is stopping us too
   */
  detached (planned: boolean): void {
    if (this.current !== 'attached') return
    this.periodic?.cancel()
    const reason = planned ? 'minga stopped' : 'the minga daemon went away (killed, crashed or out of memory)'
    if (this.terminating) { void this.condemn(`${reason}, and the service manager stops the supervisor too`); return }
    this.current = 'grace'
    this.log(`${reason}; its containers stop in ${this.budget.attachGraceMs} ms unless a new daemon attaches`)
    this.timer = this.init.clock.after(this.budget.attachGraceMs, () => { if (this.current === 'grace') void this.condemn(reason) })
  }

  /**
   * Called on a tick, after the bond's pending input has been read: true when
   * the attached daemon has been silent longer than `hangMs` (the caller
   * drops its bond); its containers then stop at once
   */
  check (): boolean {
    if (this.current !== 'attached') return false
    const silent = this.init.clock.now() - this.lastSeen
    if (silent <= this.budget.hangMs) return false
    this.periodic?.cancel()
    void this.condemn(`the minga daemon did not ping for ${silent} ms (hung or stopped)`)
    return true
  }

  /** the service manager stops the supervisor (SIGTERM): finish the job without lingering; wait while a daemon is attached */
  terminate (): void {
    this.terminating = true
    if (this.current === 'waiting') {
      this.finish()
    } else if (this.current === 'grace') {
      this.timer?.cancel()
      void this.condemn('minga stopped, and the service manager stops the supervisor too')
    } else if (this.current === 'fenced') {
      this.maybeFinish()
    }
  }

  /** end now, whatever the state (the host itself went away); `onDone` is not called */
  stop (): void {
    this.finish(false)
  }

  private async condemn (reason: string): Promise<void> {
    const { clock, engine } = this.init
    this.timer?.cancel()
    this.current = 'stopping'
    const round: StopRound = { reason, lastSeen: this.lastSeen, began: clock.now(), containers: [] }
    this.rounds.push(round)
    if (this.rounds.length > MAX_ROUNDS) this.rounds.shift()
    this.pending++
    try {
      let listed: SupervisedContainer[]
      let engineSilent = false
      try {
        listed = await this.call(async signal => await engine.list({ signal }))
        this.remember(listed)
      } catch (err) {
        this.log(`the engine does not answer (${message(err)}); stopping the ${this.known.size} container(s) known from before by their processes`)
        listed = [...this.known.values()]
        engineSilent = true
      }
      const running = listed.filter(c => c.running)
      round.containers = running.map(c => ({ id: c.id, service: c.service, replica: c.replica }))
      this.log(`${reason}: stopping ${running.length} container(s)${running.length === 0 ? '' : ': ' + running.map(c => `${c.service}#${c.replica}`).join(', ')}`)
      await Promise.all(round.containers.map(async c => { c.how = await this.stopOne(c.id, round.began, engineSilent) }))
      for (const c of listed) this.leftovers.add(c.id)
      round.ended = clock.now()
      const unconfirmed = round.containers.filter(c => c.how === 'unconfirmed').length
      this.log(`stopped ${round.containers.length - unconfirmed} of ${round.containers.length} container(s) in ${round.ended - round.began} ms${unconfirmed === 0 ? '' : `; ${unconfirmed} could not be confirmed (engine silent, process not visible): retrying`}`)
    } finally {
      this.pending--
    }
    if (this.current !== 'stopping') return
    this.current = 'fenced'
    this.fencedSince = clock.now()
    this.periodic?.cancel()
    this.periodic = clock.every(this.opts.pollMs, () => { void this.sweep() })
    void this.sweep()
  }

  /**
   * Stop one container within the budget: through the engine; when the
   * engine is silent or fails, the stop signal to its process from here and
   * SIGKILL at the end of the grace; when the engine is only slow, SIGKILL
   * from here halfway through the kill margin
   */
  private async stopOne (id: string, began: number, engineSilent: boolean): Promise<StoppedHow> {
    const { clock, engine, reaper } = this.init
    const { stopGraceMs, killMarginMs } = this.budget
    const deadline = began + stopGraceMs + killMarginMs / 2
    if (!engineSilent) {
      const viaEngine = this.call(async signal => await engine.stop(id, stopGraceMs, { signal }), deadline - clock.now()).then(() => true, () => false)
      const first = await Promise.race([viaEngine, clock.sleep(Math.max(0, deadline - clock.now())).then(() => 'late' as const)])
      if (first === true) { this.unconfirmed.delete(id); reaper.forget(id); return 'engine' }
      if (first === 'late') return await this.reap(id, began + stopGraceMs + killMarginMs)
    }
    reaper.signal(id, 'SIGTERM')
    while (reaper.alive(id) === true && clock.now() < began + stopGraceMs) await clock.sleep(REAP_POLL_MS)
    return await this.reap(id, began + stopGraceMs + killMarginMs)
  }

  /** SIGKILL from here, and wait (until `until`) to see the process end */
  private async reap (id: string, until: number): Promise<StoppedHow> {
    const { clock, reaper } = this.init
    if (reaper.alive(id) === true) reaper.signal(id, 'SIGKILL')
    while (reaper.alive(id) === true && clock.now() < until) await clock.sleep(REAP_POLL_MS)
    if (reaper.alive(id) === false) { this.unconfirmed.delete(id); return 'process' }
    this.unconfirmed.add(id)
    return 'unconfirmed'
  }

  /** while fenced: stop what runs, remove what stopped, confirm what could not be; exit once done and the linger is over */
  private async sweep (): Promise<void> {
    if (this.current !== 'fenced' || this.pending > 0) return
    const { engine } = this.init
    this.pending++
    try {
      const listed = await this.call(async signal => await engine.list({ signal }))
      this.remember(listed)
      for (const c of listed) {
        if (this.current !== 'fenced') return
        if (c.running) {
          this.log(`${c.service}#${c.replica} runs while this node has no daemon: stopping it`)
          await this.call(async signal => await engine.stop(c.id, 0, { signal }))
        }
        this.unconfirmed.delete(c.id)
        await this.call(async signal => await engine.remove(c.id, { signal }))
        this.leftovers.delete(c.id)
        this.init.reaper.forget(c.id)
      }
      const present = new Set(listed.map(c => c.id))
      for (const id of [...this.leftovers, ...this.unconfirmed]) {
        if (!present.has(id)) { this.leftovers.delete(id); this.unconfirmed.delete(id) }
      }
    } catch (err) {
      if (this.unconfirmed.size > 0) this.log(`the engine does not answer (${message(err)}); ${this.unconfirmed.size} container(s) not yet confirmed stopped: their processes are checked`)
      // the engine does not answer: a process we can see is proof enough
      for (const id of [...this.unconfirmed]) {
        if (this.init.reaper.alive(id) === true) this.init.reaper.signal(id, 'SIGKILL')
        if (this.init.reaper.alive(id) === false) this.unconfirmed.delete(id)
      }
    } finally {
      this.pending--
    }
    this.maybeFinish()
  }

  private maybeFinish (): void {
    if (this.current !== 'fenced' || this.pending > 0) return
    // a container we cannot confirm stopped keeps us here (retrying) whatever else happens
    if (this.unconfirmed.size > 0) return
    const lingered = this.init.clock.now() - this.fencedSince >= this.opts.lingerMs
    if ((this.terminating && this.leftovers.size === 0) || (lingered && this.leftovers.size === 0)) {
      this.log(this.terminating ? 'every container of this node is stopped; exiting as asked' : `no daemon attached for ${this.opts.lingerMs} ms after the stop; exiting`)
      this.finish()
    }
  }

  private finish (notify = true): void {
    this.current = 'done'
    this.timer?.cancel()
    this.trackTimer?.cancel()
    this.periodic?.cancel()
    this.watching.abort()
    if (notify) this.init.onDone?.()
  }

  /** learn the pids of what runs, while a daemon is attached */
  private trackSoon (ms: number): void {
    if (this.trackTimer !== undefined) return
    this.trackTimer = this.init.clock.after(ms, () => {
      this.trackTimer = undefined
      if (this.current !== 'attached') return
      this.call(async signal => await this.init.engine.list({ signal })).then(listed => this.remember(listed), () => {})
    })
  }

  private remember (listed: SupervisedContainer[]): void {
    const { reaper } = this.init
    const present = new Set(listed.map(c => c.id))
    for (const id of this.known.keys()) {
      if (!present.has(id)) { this.known.delete(id); if (!this.unconfirmed.has(id)) reaper.forget(id) }
    }
    for (const c of listed) {
      const before = this.known.get(c.id)
      // a stopped container keeps the pid it ran with: the engine's answer may be late, the process is the proof
      this.known.set(c.id, { ...c, pid: c.pid ?? before?.pid })
      if (c.running && c.pid !== undefined && c.pid > 0 && before?.pid !== c.pid) reaper.track(c.id, c.pid)
    }
  }

  /** every start of a container of this node: tracked while attached, stopped at once while it should not run */
  private async watchStarts (): Promise<void> {
    const { engine, clock } = this.init
    const { signal } = this.watching
    while (!signal.aborted) {
      try {
        for await (const id of engine.starts({ signal })) {
          if (this.current === 'attached') this.trackSoon(TRACK_DEBOUNCE_MS)
          else if (this.current === 'stopping' || this.current === 'fenced') {
            this.log(`container ${id.slice(0, 12)} of this node started with no daemon attached: stopping it at once`)
            void this.call(async s => await engine.stop(id, 0, { signal: s })).catch((err: unknown) => { this.log(`could not stop container ${id.slice(0, 12)} (${message(err)}); the next sweep retries`) })
          }
        }
      } catch (err) {
        // the engine restarted or does not answer: watch again in a second
        if (!signal.aborted) this.log(`lost the engine's events (${message(err)}); watching again`)
      }
      await clock.sleep(1000, signal).catch(() => {})
    }
  }

  /** an engine call under a deadline (default: the call deadline) */
  private async call<T> (fn: (signal: AbortSignal) => Promise<T>, ms = this.opts.callMs): Promise<T> {
    const controller = new AbortController()
    const timer = this.init.clock.after(Math.max(0, ms), () => controller.abort(new Error(`no answer within ${Math.round(ms)} ms`)))
    try {
      return await Promise.race([fn(controller.signal), new Promise<never>((_resolve, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }))])
    } finally {
      timer.cancel()
    }
  }

  private log (line: string): void {
    this.init.log?.(line)
  }
}

function message (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
