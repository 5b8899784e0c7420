/**
 * The daemon's end of the bond (bond.ts): at start it attaches to the
 * node's supervisor, starting one if none answers, before it touches any
 * container; it pings it every `pingMs`; and when the supervisor goes
 * (killed, crashed, silent for `hangMs`) it starts a new one at once and
 * attaches again, so the node is never long without one. A planned stop
 * says `stopping` and closes the bond: the supervisor then stops the
 * node's containers after the attach grace, unless minga is back by then.
 *
 * The supervisor runs in a session of its own (`detached`), so a signal to
 * the daemon's process group (Ctrl-C in a terminal) does not reach it.
 *
 * @example
 * ```ts
 * const link = new SupervisorLink({ dataDir, meshId, nodeId, engine: '/var/run/docker.sock', log: console.log })
 * const { rounds } = await link.start()   // what the supervisor stopped while no daemon ran
 * …
 * await link.stop()
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, openSync } from 'node:fs'
import { readFile, unlink } from 'node:fs/promises'
import { createConnection, type Socket } from 'node:net'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_SUPERVISOR_BUDGET, type SupervisorBudget } from '../core/supervision/budget.js'
import type { StopRound } from '../core/supervision/types.js'
import { SupervisorError } from '../errors.js'
import { BOND_VERSION, readBond, sendBond, type AttachedMessage, type BondMessage } from './bond.js'
import { describeRound, takeSavedRounds } from './rounds.js'
import type { SupervisorConfig } from './main.js'

export interface SupervisorLinkInit {
  dataDir: string
  meshId: string
  nodeId: string
  /** the engine's label (engineAddress(...).label): its socket path or tcp:// address */
  engine: string
  budget?: SupervisorBudget
  log?: (line: string) => void
  /** tests: how long an unattached supervisor waits before it stops anything, and lingers after */
  supervisor?: Pick<SupervisorConfig, 'firstAttachMs' | 'lingerMs'>
}

/** what the operator should hear of: a stop round of the supervisor, a supervisor replaced or missing */
export type SupervisorNotice = (text: string) => void

export interface SupervisorStatus {
  attached: boolean
  /** the supervisor's pid while attached */
  pid?: number
  /** supervisors started again because the last one went away */
  restarts: number
  /** ms since epoch: since when no supervisor is attached (absent while one is) */
  unattachedSince?: number
}

/** a freshly started supervisor must answer on its socket by then */
const SPAWN_TIMEOUT_MS = 30_000
/** an attach must be answered by then, else the supervisor is hung */
const ATTACH_TIMEOUT_MS = 10_000
const CONNECT_POLL_MS = 50
/** waits between attempts to get a supervisor back: at once, then slower */
const RESTORE_BACKOFF_MS = [0, 500, 1000, 2000, 5000]
/** a moment without a supervisor (one being replaced) is not yet a problem for `minga status` */
const PROBLEM_AFTER_MS = 2000
/** what the supervisor says in its log when it fails, shown to the operator */
const LOG_TAIL_BYTES = 2000

export class SupervisorLink {
  readonly socketPath: string
  readonly pidPath: string
  /** the stop rounds of supervisors that exited before a daemon attached (rounds.ts) */
  readonly roundsPath: string
  readonly logPath: string
  readonly budget: SupervisorBudget
  private socket?: Socket
  private pid?: number
  private restarts = 0
  /** a supervisor went away: the next bond is a restart (counted when it binds, so status never shows the new pid uncounted) */
  private replacing = false
  private stopping = false
  private lastPong = 0
  private ticker?: NodeJS.Timeout
  private unattachedSince?: number = Date.now()
  /** notices before anyone listens (the rounds told at the first attach), and the listener */
  private readonly notices: string[] = []
  private listener?: SupervisorNotice

  constructor (private readonly init: SupervisorLinkInit) {
    this.budget = init.budget ?? DEFAULT_SUPERVISOR_BUDGET
    // one supervisor per node and engine: a daemon moved to another engine (or a data dir given to a new node) leaves the old one to stop what ran there
    const tag = createHash('sha256').update(`${init.meshId}/${init.nodeId}/${init.engine}`).digest('hex').slice(0, 8)
    // absolute: the supervisor runs in another working directory
    const dir = resolve(init.dataDir)
    this.socketPath = join(dir, `supervisor-${tag}.sock`)
    this.pidPath = join(dir, `supervisor-${tag}.pid`)
    this.roundsPath = join(dir, `supervisor-${tag}.rounds.json`)
    this.logPath = join(dir, 'supervisor.log')
  }

  status (): SupervisorStatus {
    return {
      attached: this.socket !== undefined,
      ...(this.pid === undefined ? {} : { pid: this.pid }),
      restarts: this.restarts,
      ...(this.unattachedSince === undefined ? {} : { unattachedSince: this.unattachedSince })
    }
  }

  /** what `minga status` should say: nothing while a supervisor is attached, or after a moment without one */
  problems (now = Date.now()): string[] {
    if (this.stopping || this.unattachedSince === undefined || now - this.unattachedSince < PROBLEM_AFTER_MS) return []
    return [`This node has had no supervisor since ${new Date(this.unattachedSince).toISOString()}: if minga dies now, its containers run on beside their new copies elsewhere; see ${this.logPath}`]
  }

  /** hear the notices so far (what the supervisor stopped while no daemon ran) and every later one */
  onNotice (listener: SupervisorNotice): void {
    this.listener = listener
    for (const text of this.notices.splice(0)) listener(text)
  }

  private notify (text: string): void {
    this.init.log?.(text)
    if (this.listener === undefined) this.notices.push(text)
    else this.listener(text)
  }

  /** attach (starting a supervisor if none answers); resolves with what it stopped while no daemon ran */
  async start (): Promise<{ pid: number, rounds: StopRound[] }> {
    this.stopping = false
    const attached = await this.attach()
    const pongEvery = Math.max(100, Math.min(500, this.budget.pingMs / 2))
    let sinceLastPing = 0
    let lastTick = Date.now()
    this.ticker = setInterval(() => {
      const now = Date.now()
      // this process itself was stalled (a long GC, SIGSTOP, a starved host): the supervisor's silence meanwhile is not its fault
      if (now - lastTick > 2 * pongEvery) this.lastPong = now
      lastTick = now
      sinceLastPing += pongEvery
      if (sinceLastPing >= this.budget.pingMs && this.socket !== undefined) { sinceLastPing = 0; sendBond(this.socket, { type: 'ping' }) }
      // after the poll phase: a pong that arrived while this process was busy counts
      setImmediate(() => this.checkSilence())
    }, pongEvery)
    this.ticker.unref()
    return attached
  }

  /** a planned stop: say so and close the bond; the supervisor stops the containers after its grace unless minga comes back */
  async stop (): Promise<void> {
    this.stopping = true
    clearInterval(this.ticker)
    const socket = this.socket
    if (socket === undefined) return
    sendBond(socket, { type: 'stopping' })
    await new Promise<void>(resolve => {
      socket.once('close', () => resolve())
      socket.end()
      setTimeout(() => { socket.destroy(); resolve() }, 1000).unref()
    })
  }

  private async attach (): Promise<{ pid: number, rounds: StopRound[] }> {
    let socket = await this.connect()
    if (socket === undefined) socket = await this.spawnAndConnect()
    let reply: AttachedMessage
    try {
      reply = await this.handshake(socket)
    } catch (err) {
      if (!(err instanceof ReplaceSupervisorError)) throw err
      this.init.log?.(`the supervisor on ${this.socketPath} ${err.message}; replacing it`)
      await this.killRecorded()
      reply = await this.handshake(await this.spawnAndConnect())
    }
    // an earlier supervisor's rounds first: it lingered with no daemon and exited
    const rounds = [...await takeSavedRounds(this.roundsPath), ...reply.rounds]
    for (const round of rounds) this.notify(describeRound(round))
    return { pid: reply.pid, rounds }
  }

  /** send attach; resolve on `attached` (the bond is then live), reject on `refused`, a closed socket or silence */
  private async handshake (socket: Socket): Promise<AttachedMessage> {
    const { meshId, nodeId, engine } = this.init
    return await new Promise((resolve, reject) => {
      let settled = false
      const timer = setTimeout(() => { settle(); socket.destroy(); reject(new ReplaceSupervisorError('does not answer')) }, ATTACH_TIMEOUT_MS)
      const settle = (): void => { settled = true; clearTimeout(timer) }
      socket.on('error', () => {})
      readBond(socket, (message: BondMessage) => {
        if (!settled && message.type === 'attached') {
          settle()
          this.bind(socket, message.pid)
          resolve(message)
        } else if (!settled && message.type === 'refused') {
          settle()
          socket.destroy()
          // an older or newer supervisor (minga was upgraded) gives way to this daemon's own
          reject(message.code === 'busy' ? new SupervisorError(`The supervisor refused this daemon: ${message.error}`) : new ReplaceSupervisorError(`refused this daemon (${message.error})`))
        } else if (message.type === 'pong') this.lastPong = Date.now()
      })
      socket.once('close', () => { if (!settled) { settle(); reject(new SupervisorError(`The supervisor closed the bond before answering; see ${this.logPath}`)) } })
      sendBond(socket, { type: 'attach', v: BOND_VERSION, meshId, nodeId, engine, pid: process.pid })
    })
  }

  private bind (socket: Socket, pid: number): void {
    this.socket = socket
    this.pid = pid
    if (this.replacing) { this.replacing = false; this.restarts++ }
    this.lastPong = Date.now()
    this.unattachedSince = undefined
    socket.once('close', () => {
      if (this.socket === socket) { this.socket = undefined; this.pid = undefined; this.unattachedSince = Date.now() }
      if (!this.stopping) void this.restore(`the supervisor (pid ${pid}) went away`)
    })
  }

  /** the supervisor did not answer pings for `hangMs`: end it, and the bond's close brings a new one */
  private checkSilence (): void {
    if (this.socket === undefined || this.stopping) return
    if (Date.now() - this.lastPong <= this.budget.hangMs) return
    this.init.log?.(`the supervisor (pid ${this.pid}) did not answer for ${this.budget.hangMs} ms; replacing it`)
    if (this.pid !== undefined) signalIfThere(this.pid)
    this.socket.destroy()
  }

  private async restore (why: string): Promise<void> {
    this.replacing = true
    for (let attempt = 0; !this.stopping; attempt++) {
      const wait = RESTORE_BACKOFF_MS[Math.min(attempt, RESTORE_BACKOFF_MS.length - 1)]
      if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
      if (this.stopping) return
      try {
        const { pid } = await this.attach()
        this.notify(`${why}; supervisor pid ${pid} attached in its place`)
        return
      } catch (err) {
        // the first failure may be the old one still closing; say it from the second on
        if (attempt > 0) this.notify(`${why} and none could be started (${err instanceof Error ? err.message : String(err)}); retrying. Until one runs, containers of this node would outlive a crash of minga`)
      }
    }
  }

  /** a connected socket, or undefined when nothing answers (a stale socket file is removed) */
  private async connect (): Promise<Socket | undefined> {
    return await new Promise(resolve => {
      const socket = createConnection(this.socketPath)
      socket.once('connect', () => { socket.removeAllListeners('error'); resolve(socket) })
      socket.once('error', () => resolve(undefined))
    })
  }

  private async spawnAndConnect (): Promise<Socket> {
    const child = this.spawn()
    let exited: string | undefined
    child.once('exit', (code, signal) => { exited = String(code ?? signal) })
    child.once('error', (err) => { exited = err.message })
    const deadline = Date.now() + SPAWN_TIMEOUT_MS
    while (Date.now() < deadline) {
      const socket = await this.connect()
      if (socket !== undefined) { child.unref(); return socket }
      // exit 0: another supervisor won the socket; connect to it
      if (exited !== undefined && exited !== '0') throw new SupervisorError(`The supervisor exited (${exited}) as it started: ${await this.logTail()}; see ${this.logPath}`)
      await new Promise(resolve => setTimeout(resolve, CONNECT_POLL_MS))
    }
    child.kill('SIGKILL')
    throw new SupervisorError(`The supervisor did not answer on ${this.socketPath} within ${SPAWN_TIMEOUT_MS / 1000} s; see ${this.logPath}`)
  }

  private spawn (): ChildProcess {
    const { dataDir, meshId, nodeId, engine, supervisor } = this.init
    const config: SupervisorConfig = { socketPath: this.socketPath, pidPath: this.pidPath, roundsPath: this.roundsPath, meshId, nodeId, engine, budget: this.budget, ...supervisor }
    const main = fileURLToPath(new URL('./main.js', import.meta.url))
    const log = openSync(this.logPath, 'a', 0o600)
    try {
      // its own session (detached): a signal to the daemon's process group does not reach it
      return spawn(process.execPath, [main, JSON.stringify(config)], { detached: true, stdio: ['ignore', log, log], cwd: resolve(dataDir) })
    } finally {
      closeSync(log)
    }
  }

  /** a hung supervisor, named by its pid file: SIGKILL, if that pid is still a supervisor */
  private async killRecorded (): Promise<void> {
    const pid = Number((await readFile(this.pidPath, 'utf8').catch(() => '')).trim())
    if (Number.isSafeInteger(pid) && pid > 1) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
      if (cmdline.includes('supervisor') && cmdline.includes(this.socketPath)) signalIfThere(pid)
    }
    await unlink(this.socketPath).catch(() => {})
  }

  private async logTail (): Promise<string> {
    const text = await readFile(this.logPath, 'utf8').catch(() => '')
    return text.slice(-LOG_TAIL_BYTES).trim().split('\n').slice(-3).join(' / ')
  }
}

/** SIGKILL a process that may have ended already (ESRCH is what we wanted) */
function signalIfThere (pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

/** a supervisor that must make way for a new one: hung, or of another version */
class ReplaceSupervisorError extends Error {}
