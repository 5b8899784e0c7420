/**
 * The logs protocol, node side: serves the logs of this node's containers
 * to members of the mesh (protocols.logs). A reader opens a session for a
 * service; the node reads each matching container's log into the
 * session's bounded buffer, and the reader pulls batches with a credit.
 *
 * Memory stays bounded however much a container prints:
 *   - history (`since`/`tail`, and the backlog before following) is read
 *     with backpressure: a full buffer pauses the reading, nothing is lost;
 *   - live lines of a followed container that find the buffer full are
 *     dropped and counted, and the reader gets a `dropped` marker in their
 *     place: a reader too slow for a chatty container loses lines, never
 *     the node its memory;
 *   - sessions are limited in number and expire when nobody polls them.
 * Sans I/O: it takes a Mesh, a Clock and a Runtime.
 */
import { randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import {
  cutLine, decodeLogsRequest, encodeLogs, errorMessage, LogsProtocolError, messageOf, protocols,
  type ContainerBatch, type LogsBatchMessage, type LogsOpenRequest, type LogsRequest, type LogsResponse, type State, type WireLine
} from '@minga/protocol'
import type { LogLine, Runtime, RuntimeContainer } from '../../runtime/types.js'
import type { Clock, Timer } from '../clock.js'
import { errorText, nodeLogger, type ComponentLogger, type Logger } from '../logger.js'
import type { Mesh } from '../mesh.js'

export interface LogsLimits {
  /** open sessions on this node, at most */
  sessions: number
  sessionsPerPeer: number
  /** lines and bytes one session holds, at most (shared out among its containers, at least 64 lines / 64 KiB each) */
  bufferLines: number
  bufferBytes: number
  /** a session nobody polled for this long is closed */
  idleMs: number
  /** how often a following session looks for new containers of its service */
  scanMs: number
  /** lines and bytes in one answer, at most */
  batchBytes: number
}

/** the smallest share of the buffer a container gets, however many the session reads */
const MIN_SHARE_LINES = 64
const MIN_SHARE_BYTES = 64 * 1024

export const DEFAULT_LOGS_LIMITS: LogsLimits = {
  sessions: 64,
  sessionsPerPeer: 16,
  bufferLines: 10_000,
  bufferBytes: 4 * 1024 * 1024,
  idleMs: 30_000,
  scanMs: 1000,
  batchBytes: 512 * 1024
}

export interface LogsInit {
  /** this node (`peerId`) */
  identity: { peerId: string }
  /** who may read: members, not removed */
  state: Pick<State, 'meshId' | 'memberOrg' | 'revoked'>
  mesh: Mesh
  clock: Clock
  runtime: Runtime
  /** this node's containers as of the last reconcile pass (no I/O) */
  containers: () => RuntimeContainer[]
  limits?: Partial<LogsLimits>
  /** default: `nodeLogger(identity.peerId)` */
  logger?: ComponentLogger
}

/**
 * Serves this node's containers' logs to members (protocols.logs): sessions opened, polled with a credit, closed or
 * expired (see above). `answer` takes a request from the wire; `request` a checked one (this node's own reader)
 */
export class LogsServer {
  private readonly sessions = new Map<string, Session>()
  private readonly limits: LogsLimits
  private sweeper?: Timer
  readonly stats = { sessionsOpened: 0, linesSent: 0, linesDropped: 0, refused: 0 }

  private readonly log: Logger

  constructor (private readonly init: LogsInit) {
    this.log = (init.logger ?? nodeLogger(init.identity.peerId)).forComponent('logs')
    this.limits = { ...DEFAULT_LOGS_LIMITS, ...init.limits }
  }

  start (): void {
    this.init.mesh.handle(protocols.logs(this.init.state.meshId), async (data, from) => await this.answer(data, from))
    this.sweeper = this.init.clock.every(Math.max(1000, this.limits.idleMs / 6), () => this.sweep())
  }

  stop (): void {
    this.sweeper?.cancel()
    for (const session of this.sessions.values()) session.close()
    this.sessions.clear()
  }

  get openSessions (): number {
    return this.sessions.size
  }

  /** one request from the wire, from the authenticated peer `from` */
  async answer (data: Uint8Array, from: string): Promise<Uint8Array> {
    try {
      return encodeLogs(await this.request(decodeLogsRequest(data), from))
    } catch (err) {
      if (err instanceof LogsProtocolError) this.stats.refused++
      return encodeLogs(errorMessage(err instanceof LogsProtocolError ? err.code : 'internal', messageOf(err)))
    }
  }

  /** a checked request, answered as a message (this node's own reader skips the encoding); throws LogsProtocolError */
  async request (request: LogsRequest, from: string): Promise<LogsResponse> {
    if (request.type === 'logs-open') return await this.open(request, from)
    if (request.type === 'logs-poll') return await this.poll(request.session, from, request.credit, request.wait)
    this.close(request.session, from)
    return { type: 'logs-closed' }
  }

  async open (request: LogsOpenRequest, from: string): Promise<LogsResponse> {
    const { state } = this.init
    if (state.memberOrg(from) === undefined || state.revoked(from) !== undefined) throw new LogsProtocolError('not-member', 'Only members of the mesh may read logs')
    if (this.sessions.size >= this.limits.sessions) throw new LogsProtocolError('busy', `This node serves ${this.limits.sessions} log readers already; try again later`)
    if ([...this.sessions.values()].filter(s => s.from === from).length >= this.limits.sessionsPerPeer) throw new LogsProtocolError('busy', `Your node reads ${this.limits.sessionsPerPeer} logs from this node already; close some first`)
    const session = new Session(randomUUID(), from, request, this.init, this.limits, this.stats, this.log)
    this.sessions.set(session.id, session)
    this.stats.sessionsOpened++
    // a fresh listing for history; a follower then watches the reconciler's view for new containers
    const containers = request.follow ? this.init.containers() : await this.init.runtime.list().catch(() => this.init.containers())
    session.attach(containers)
    return { type: 'logs-opened', session: session.id }
  }

  async poll (id: string, from: string, credit: number, wait: number): Promise<LogsResponse> {
    const session = this.session(id, from)
    const response = await session.take(credit, wait)
    if (response.done) this.close(id, from)
    return response
  }

  close (id: string, from: string): void {
    const session = this.sessions.get(id)
    if (session === undefined || session.from !== from) return
    session.close()
    this.sessions.delete(id)
  }

  private session (id: string, from: string): Session {
    const session = this.sessions.get(id)
    if (session === undefined || session.from !== from) throw new LogsProtocolError('no-session', 'No such logs session on this node (it expired or the node restarted); open a new one')
    session.lastPoll = this.init.clock.now()
    return session
  }

  private sweep (): void {
    const now = this.init.clock.now()
    for (const [id, session] of this.sessions) {
      if (now - session.lastPoll > this.limits.idleMs) {
        session.close()
        this.sessions.delete(id)
      }
    }
  }
}

interface Pump {
  container: RuntimeContainer
  lines: WireLine[]
  ended: boolean
  /** past its backlog, following new lines */
  live: boolean
  /** reported ended to the reader: the pump can go */
  reported: boolean
  dropped: number
  droppedAt: number
  bytes: number
  /** wakes the reading of this container when its share has room again */
  space?: () => void
}

class Session {
  readonly opened: number
  lastPoll: number
  private readonly pumps = new Map<string, Pump>()
  private readonly seen = new Set<string>()
  private readonly controller = new AbortController()
  private scanner?: Timer
  /** lines held, all containers together */
  buffered = 0
  private wakeReader?: () => void

  constructor (
    readonly id: string,
    readonly from: string,
    readonly request: LogsOpenRequest,
    private readonly init: LogsInit,
    private readonly limits: LogsLimits,
    private readonly stats: LogsServer['stats'],
    private readonly log: Logger
  ) {
    this.opened = init.clock.now()
    this.lastPoll = this.opened
    // every container read listens on it: a service with many replicas on this node is not a leak
    setMaxListeners(0, this.controller.signal)
    if (request.follow) this.scanner = init.clock.every(limits.scanMs, () => this.attach(init.containers()))
  }

  attach (containers: RuntimeContainer[]): void {
    if (this.controller.signal.aborted) return
    const { service, replicas } = this.request
    for (const container of containers) {
      if (container.service !== service || this.seen.has(container.id)) continue
      if (replicas !== undefined && !replicas.includes(container.replica)) continue
      this.seen.add(container.id)
      const pump: Pump = { container, lines: [], ended: false, live: false, reported: false, dropped: 0, droppedAt: 0, bytes: 0 }
      this.pumps.set(container.id, pump)
      void this.run(pump)
    }
  }

  close (): void {
    this.scanner?.cancel()
    this.controller.abort()
    this.release()
    this.pumps.clear()
    this.wakeReader?.()
  }

  /**
   * up to `credit` lines in time order across containers: a line goes out
   * only when no container that may still have an older one is pending
   * (one still reading its backlog); a followed container with nothing new
   * holds nobody back. Waits up to `wait` ms while there is nothing to say
   */
  async take (credit: number, wait: number): Promise<LogsBatchMessage> {
    const deadline = this.init.clock.now() + wait
    while (true) {
      // room again: lines dropped while a container's share was full are reported where they were
      for (const pump of this.pumps.values()) if (pump.dropped > 0 && !this.full(pump)) this.flushDropped(pump)
      const remaining = deadline - this.init.clock.now()
      if (this.controller.signal.aborted || remaining <= 0 || this.finished() || this.next() !== undefined || [...this.pumps.values()].some(p => p.ended && p.lines.length === 0)) break
      await new Promise<void>(resolve => {
        const timer = this.init.clock.after(remaining, () => resolve())
        this.wakeReader = () => { timer.cancel(); resolve() }
      })
      this.wakeReader = undefined
    }
    const out = new Map<string, WireLine[]>()
    let sent = 0
    let bytes = 0
    while (sent < credit && bytes < this.limits.batchBytes) {
      const oldest = this.next()
      if (oldest === undefined) break
      const line = oldest.lines.shift()!
      const size = lineBytes(line)
      oldest.bytes -= size
      this.buffered--
      bytes += size
      sent++
      let list = out.get(oldest.container.id)
      if (list === undefined) out.set(oldest.container.id, list = [])
      list.push(line)
      if (!this.full(oldest)) oldest.space?.()
    }
    this.stats.linesSent += sent
    const containers: ContainerBatch[] = []
    for (const pump of this.pumps.values()) {
      const ended = pump.ended && pump.lines.length === 0 && pump.dropped === 0
      containers.push({ id: pump.container.id, replica: pump.container.replica, lines: out.get(pump.container.id) ?? [], more: pump.lines.length > 0, ended })
      if (ended) pump.reported = true
    }
    for (const [id, pump] of this.pumps) if (pump.reported) this.pumps.delete(id)
    const more = [...this.pumps.values()].some(p => p.lines.length > 0 || this.pending(p))
    return { type: 'logs-batch', containers, more, done: this.finished() }
  }

  /** the container whose oldest line goes out next, unless one that may have an older line is pending */
  private next (): Pump | undefined {
    let oldest: Pump | undefined
    for (const pump of this.pumps.values()) {
      if (pump.lines.length === 0) {
        if (this.pending(pump)) return undefined
        continue
      }
      if (oldest === undefined || pump.lines[0][0] < oldest.lines[0][0]) oldest = pump
    }
    return oldest
  }

  /** no line buffered, but more may come from its backlog (a followed container that is idle is not pending) */
  private pending (pump: Pump): boolean {
    return pump.lines.length === 0 && !pump.ended && !(this.request.follow && pump.live)
  }

  /** a one-shot read with every container read to its end */
  private finished (): boolean {
    return !this.request.follow && this.pumps.size === 0
  }

  private async run (pump: Pump): Promise<void> {
    const { runtime, clock } = this.init
    const signal = this.controller.signal
    const { since, tail, follow } = this.request
    const startedAt = clock.now()
    let lastTime: number | undefined
    let atLast: string[] = []
    try {
      // the backlog first, losslessly; then the live lines from where it ended
      for await (const line of runtime.logs(pump.container.id, { since, tail, follow: false, signal })) {
        if (line.time !== lastTime) atLast = []
        lastTime = line.time
        atLast.push(line.text)
        await this.push(pump, line, true)
      }
      if (follow && !signal.aborted) {
        pump.live = true
        this.wakeReader?.()
        for await (const line of runtime.logs(pump.container.id, { since: lastTime ?? Math.max(since ?? 0, startedAt), follow: true, signal })) {
          if (lastTime !== undefined && line.time < lastTime) continue
          if (line.time === lastTime) {
            const at = atLast.indexOf(line.text)
            if (at >= 0) { atLast.splice(at, 1); continue }
          }
          await this.push(pump, line, false)
        }
      }
    } catch (err) {
      // the container is gone, or the session closed: its log ends here
      if (!signal.aborted) this.log.trace('the log of %s ended: %s', pump.container.id, errorText(err))
    } finally {
      pump.ended = true
      this.flushDropped(pump)
      this.wakeReader?.()
    }
  }

  private async push (pump: Pump, line: LogLine, lossless: boolean): Promise<void> {
    const text = cutLine(line.text)
    const wire: WireLine = [line.time, line.stream === 'stderr' ? 1 : 0, text]
    while (this.full(pump)) {
      if (this.controller.signal.aborted) return
      if (!lossless) {
        if (pump.dropped === 0) pump.droppedAt = line.time
        pump.dropped++
        this.stats.linesDropped++
        return
      }
      await new Promise<void>(resolve => { pump.space = resolve })
      pump.space = undefined
    }
    this.flushDropped(pump)
    this.add(pump, wire)
  }

  /** the marker for lines dropped since the last one that fit */
  private flushDropped (pump: Pump): void {
    if (pump.dropped === 0 || this.controller.signal.aborted) return
    this.add(pump, [pump.droppedAt, 2, pump.dropped])
    pump.dropped = 0
  }

  private add (pump: Pump, wire: WireLine): void {
    pump.lines.push(wire)
    pump.bytes += lineBytes(wire)
    this.buffered++
    this.wakeReader?.()
  }

  /**
   * each container has its share of the session's buffer, so one that is
   * still empty can always take its next line: the merge by time never
   * waits on a container that waits for room
   */
  private full (pump: Pump): boolean {
    const shares = Math.max(1, this.pumps.size)
    return pump.lines.length >= Math.max(MIN_SHARE_LINES, Math.floor(this.limits.bufferLines / shares)) ||
      pump.bytes >= Math.max(MIN_SHARE_BYTES, Math.floor(this.limits.bufferBytes / shares))
  }

  private release (): void {
    for (const pump of this.pumps.values()) pump.space?.()
  }
}

function lineBytes (line: WireLine): number {
  return 32 + (typeof line[2] === 'string' ? line[2].length : 0)
}
