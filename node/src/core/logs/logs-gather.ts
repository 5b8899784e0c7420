/**
 * `minga logs`, the reader's side: finds the nodes that run a service's
 * replicas (their heartbeats and the assignment), opens a logs session on
 * each (this node's own server directly), pulls batches with a credit, and
 * merges the lines of every container by time, labelled with node and
 * replica.
 *
 * Ordering: every node sends its containers' lines in time order (logs.ts),
 * and the reader merges the nodes' streams, so a one-shot read comes out
 * exactly in time order. While following, a node or container with nothing
 * new holds nobody back, and nothing is held longer than `holdMs`: live
 * lines come about in order, in time. Buffers are bounded at both ends
 * (the node's session, `budgetPerNode` here), and neither end can wait on
 * the other for room while holding the line the other needs.
 *
 * Following survives moves and failures: every `resolveMs` the reader looks
 * again where the replicas run and opens sessions on new owners; a node
 * that fails is retried while it is alive, and a session that is gone
 * (node restarted) is opened again from the last line seen, with lines
 * already delivered skipped.
 */
import { nameOf, messageOf, decodeLogsResponse, encodeLogs, protocols, type ContainerBatch, type LogsRequest, type LogsResponse } from '@minga/protocol'
import { linkSignals } from '../../runtime/signals.js'
import type { Clock } from '../clock.js'
import type { LiveSet, NodeReports, ReconcileView } from '../components.js'
import type { Mesh } from '../mesh.js'
import type { LogsServer } from './logs-server.js'

export type LogItem =
  | { type: 'line', time: number, node: string, replica: number, container: string, stream: 'stdout' | 'stderr', text: string }
  | { type: 'dropped', time: number, node: string, replica: number, container: string, count: number }
  | { type: 'notice', time: number, node?: string, text: string }

export interface GatherLogsOptions {
  /** `org/name` */
  service: string
  follow?: boolean
  /** ms since epoch */
  since?: number
  tail?: number
  replicas?: number[]
  signal?: AbortSignal
}

export interface LogsGatherInit {
  self: string
  meshId: string
  mesh: Mesh
  clock: Clock
  server: LogsServer
  /** nodes that run or are assigned replicas of the service, dead ones excluded */
  locate: (service: string, replicas?: number[]) => Promise<string[]>
  alive: (peer: string) => boolean
  /** lines buffered per node before its reader stops pulling */
  budgetPerNode?: number
  holdMs?: number
  resolveMs?: number
  /** how long a node that has not answered yet holds back a follower's output */
  openGraceMs?: number
}

interface Mark { lastTime: number, atLast: string[], replay: string[] }

const REQUEST_MARGIN_MS = 10_000
const RETRY_MAX_MS = 5000

export async function * gatherLogs (init: LogsGatherInit, options: GatherLogsOptions): AsyncGenerator<LogItem> {
  const gather = new LogsGather(init, options)
  try {
    yield * gather.items()
  } finally {
    gather.close()
  }
}

class LogsGather {
  readonly readers = new Map<string, NodeReader>()
  readonly marks = new Map<string, Mark>()
  readonly notices: LogItem[] = []
  readonly controller = new AbortController()
  readonly followStart: number
  readonly budget: number
  readonly holdMs: number
  private wakeUp?: () => void
  private unlink: () => void

  constructor (readonly init: LogsGatherInit, readonly options: GatherLogsOptions) {
    this.followStart = init.clock.now()
    this.budget = init.budgetPerNode ?? 2000
    this.holdMs = init.holdMs ?? 1000
    const linked = linkSignals([options.signal])
    linked.signal.addEventListener('abort', () => { this.controller.abort(); this.wake() }, { once: true })
    this.unlink = linked.dispose
  }

  async * items (): AsyncGenerator<LogItem> {
    const { clock } = this.init
    await this.resolve()
    if (this.readers.size === 0) this.notice(undefined, `No node reports a replica of ${this.options.service}${this.options.follow === true ? '; waiting for one to start' : ''}`)
    const resolver = this.options.follow === true ? clock.every(this.init.resolveMs ?? 1000, () => { void this.resolve() }) : undefined
    try {
      while (!this.controller.signal.aborted) {
        const notice = this.notices.shift()
        if (notice !== undefined) { yield notice; continue }
        const next = this.pick()
        if (next === 'end') return
        if (next !== undefined) { yield next; continue }
        await this.changed(this.options.follow === true ? this.holdMs : undefined)
      }
    } finally {
      resolver?.cancel()
    }
  }

  close (): void {
    this.controller.abort()
    this.unlink()
    for (const reader of this.readers.values()) reader.closeRemote()
  }

  wake (): void {
    const wake = this.wakeUp
    this.wakeUp = undefined
    wake?.()
  }

  notice (node: string | undefined, text: string): void {
    this.notices.push({ type: 'notice', time: this.init.clock.now(), ...(node === undefined ? {} : { node }), text })
    this.wake()
  }

  /** start readers on nodes that run replicas and have none */
  private async resolve (): Promise<void> {
    let peers: string[]
    try {
      peers = await this.init.locate(this.options.service, this.options.replicas)
    } catch {
      // nobody located this time: the next look may find them
      return
    }
    if (this.controller.signal.aborted) return
    for (const peer of peers) {
      if (this.readers.has(peer)) continue
      const reader = new NodeReader(this, peer)
      this.readers.set(peer, reader)
      if (this.options.follow === true && this.readers.size > 1 && this.init.clock.now() - this.followStart > 2000) this.notice(peer, `${short(peer)} now runs a replica of ${this.options.service}; following it`)
      void reader.run()
    }
  }

  /**
   * the oldest line any node has sent, once no node that may still send an
   * older one is pending: each node sends its lines in time order, so this
   * is a merge of sorted streams. A follower does not wait on a node that
   * has nothing new, nor on any node longer than `holdMs`
   */
  private pick (): LogItem | undefined | 'end' {
    const now = this.init.clock.now()
    const follow = this.options.follow === true
    let blocked = false
    let oldest: NodeReader | undefined
    for (const reader of this.readers.values()) {
      const head = reader.buffer[0]
      if (head !== undefined) {
        if (oldest === undefined || head.item.time < oldest.buffer[0].item.time) oldest = reader
      } else if (reader.state === 'opening') {
        if (!(follow && now - reader.startedAt > (this.init.openGraceMs ?? 3000))) blocked = true
      } else if (reader.state === 'open' && (!follow || reader.more)) {
        blocked = true
      }
    }
    if (oldest === undefined) {
      if (!follow && !blocked && [...this.readers.values()].every(r => r.state === 'done' || r.state === 'failed')) return 'end'
      return undefined
    }
    if (blocked && !(follow && now - oldest.buffer[0].at > this.holdMs)) return undefined
    return oldest.take()
  }

  private async changed (timeoutMs?: number): Promise<void> {
    await new Promise<void>(resolve => {
      const timer = timeoutMs === undefined ? undefined : this.init.clock.after(timeoutMs, () => { this.wakeUp = undefined; resolve() })
      this.wakeUp = () => { timer?.cancel(); resolve() }
    })
  }
}

class NodeReader {
  state: 'opening' | 'open' | 'failed' | 'done' = 'opening'
  readonly startedAt: number
  /** its lines in the order the node sent them (time order), not yet passed on */
  readonly buffer: Array<{ item: LogItem, at: number }> = []
  /** the node said it holds more lines, or still reads a backlog */
  more = true
  private session?: string
  private room?: () => void
  private opens = 0

  constructor (private readonly gather: LogsGather, readonly peer: string) {
    this.startedAt = gather.init.clock.now()
  }

  async run (): Promise<void> {
    const { init, options, controller } = this.gather
    const follow = options.follow === true
    let retryMs = 1000
    while (!controller.signal.aborted) {
      try {
        const opened = await this.call(this.openRequest())
        if (opened.type !== 'logs-opened') throw new Error('unexpected answer to logs-open')
        this.session = opened.session
        if (this.state === 'failed') this.gather.notice(this.peer, `${short(this.peer)}: reading logs again`)
        retryMs = 1000
        while (!controller.signal.aborted) {
          await this.waitForRoom()
          const batch = await this.call({ type: 'logs-poll', session: opened.session, credit: Math.max(1, this.gather.budget - this.buffer.length), wait: follow ? 1000 : 2000 })
          if (batch.type !== 'logs-batch') throw new Error('unexpected answer to logs-poll')
          this.state = 'open'
          this.more = batch.more !== false
          this.deliver(batch.containers)
          if (batch.done) { this.finish('done'); return }
        }
      } catch (err) {
        if (controller.signal.aborted) return
        this.session = undefined
        const why = nameOf(err) === 'LogsProtocolError' ? messageOf(err) : `unreachable (${messageOf(err)})`
        if (this.state !== 'failed') this.gather.notice(this.peer, `${short(this.peer)}: ${why}${follow ? '; following its replicas where they move' : '; its lines are missing'}`)
        this.finish('failed')
        if (!follow) return
        // retry while the node is alive; a dead one is retried once it is back
        do {
          await init.clock.sleep(retryMs, controller.signal).catch(() => {})
          retryMs = Math.min(RETRY_MAX_MS, retryMs * 2)
        } while (!controller.signal.aborted && !init.alive(this.peer))
      }
    }
  }

  /** its oldest line, leaving the merge */
  take (): LogItem {
    const { item } = this.buffer.shift()!
    if (this.buffer.length < this.gather.budget / 2) {
      const room = this.room
      this.room = undefined
      room?.()
    }
    return item
  }

  closeRemote (): void {
    const session = this.session
    this.session = undefined
    this.room?.()
    if (session === undefined || this.state === 'done') return
    void this.call({ type: 'logs-close', session }, 2000).catch(() => {})
  }

  private openRequest (): LogsRequest {
    const { options, marks, followStart } = this.gather
    const first = this.opens++ === 0
    let since = options.since
    if (!first) {
      // again after a failure: from the last line seen of its containers that were still going
      const times = [...marks.entries()].filter(([key]) => key.startsWith(this.peer + '/')).map(([, m]) => m.lastTime)
      since = times.length > 0 ? Math.min(...times) : Math.max(options.since ?? 0, followStart)
      for (const [key, mark] of marks) if (key.startsWith(this.peer + '/')) mark.replay = [...mark.atLast]
    }
    return {
      type: 'logs-open',
      service: options.service,
      follow: options.follow === true,
      ...(since === undefined ? {} : { since }),
      ...(first && options.tail !== undefined ? { tail: options.tail } : {}),
      ...(options.replicas === undefined ? {} : { replicas: options.replicas })
    }
  }

  private deliver (containers: ContainerBatch[]): void {
    const { marks, init } = this.gather
    const now = init.clock.now()
    const fresh: LogItem[] = []
    for (const c of containers) {
      const key = `${this.peer}/${c.id}`
      let mark = marks.get(key)
      for (const [time, kind, value] of c.lines) {
        // lines already passed on, sent again by a session opened after a failure
        if (mark !== undefined && time < mark.lastTime) continue
        if (mark !== undefined && time === mark.lastTime) {
          const at = kind === 2 ? -1 : mark.replay.indexOf(value as string)
          if (at >= 0) { mark.replay.splice(at, 1); continue }
        }
        if (mark === undefined) marks.set(key, mark = { lastTime: time, atLast: [], replay: [] })
        if (time !== mark.lastTime) { mark.lastTime = time; mark.atLast = []; mark.replay = [] }
        if (kind !== 2) mark.atLast.push(value as string)
        fresh.push(kind === 2
          ? { type: 'dropped', time, node: this.peer, replica: c.replica, container: c.id, count: value as number }
          : { type: 'line', time, node: this.peer, replica: c.replica, container: c.id, stream: kind === 1 ? 'stderr' : 'stdout', text: value as string })
      }
    }
    // the node sent them in time order, grouped by container: restore that order (stable, so a container's own order stays)
    fresh.sort((a, b) => a.time - b.time)
    for (const item of fresh) this.buffer.push({ item, at: now })
    this.gather.wake()
  }

  private finish (state: 'done' | 'failed'): void {
    this.state = state
    this.more = false
    this.gather.wake()
  }

  private async waitForRoom (): Promise<void> {
    if (this.buffer.length < this.gather.budget) return
    await new Promise<void>(resolve => { this.room = resolve })
  }

  private async call (request: LogsRequest, timeoutMs?: number): Promise<LogsResponse> {
    const { init, controller } = this.gather
    if (this.peer === init.self) return await init.server.request(request, init.self)
    const data = encodeLogs(request)
    const wait = request.type === 'logs-poll' ? request.wait : 0
    const linked = linkSignals(request.type === 'logs-close' ? [] : [controller.signal], timeoutMs ?? wait + REQUEST_MARGIN_MS)
    try {
      return decodeLogsResponse(await init.mesh.request(this.peer, protocols.logs(init.meshId), data, { signal: linked.signal }))
    } finally {
      linked.dispose()
    }
  }
}

function short (peer: string): string {
  return peer.slice(-8)
}

/** what `replicaHolders` reads: this node's containers and the assignment, the live nodes' reports */
export interface ReplicaHolderComponents {
  self: string
  reconciler: Pick<ReconcileView, 'containers' | 'currentAssignment'>
  liveness: Pick<LiveSet, 'status'>
  reports: Pick<NodeReports, 'gather'>
}

/** nodes that run (by their reports, or this node's own containers) or are assigned replicas of `service`, dead ones excluded */
export async function replicaHolders (core: ReplicaHolderComponents, service: string, replicas?: number[]): Promise<string[]> {
  const wanted = (replica: number): boolean => replicas === undefined || replicas.includes(replica)
  const out = new Set<string>()
  if (core.reconciler.containers().some(c => c.service === service && wanted(c.replica))) out.add(core.self)
  for (const [peer, report] of await core.reports.gather()) {
    if (peer === core.self || core.liveness.status(peer) === 'dead') continue
    if (report.replicas.some(r => r.service === service && wanted(r.replica))) out.add(peer)
  }
  const assigned = core.reconciler.currentAssignment().services[service] ?? []
  assigned.forEach((node, replica) => {
    if (node !== null && wanted(replica) && core.liveness.status(node) !== 'dead') out.add(node)
  })
  return [...out]
}
