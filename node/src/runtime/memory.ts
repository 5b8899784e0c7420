/**
 * The in-memory runtime: the Runtime of one node, over a MemoryEngine (the
 * modelled host). Unit tests and the simulator use it; it passes the same
 * conformance suite as Docker (test/runtime-suite.ts).
 *
 * What containers do is modelled, not run:
 *   - the command is a tiny `sh` (memory-program.ts): `sh -c 'echo hi; sleep 1; exit 3'`
 *     prints, waits in the runtime's time and exits like the real thing; no
 *     command is a server that runs until stopped
 *   - a health check passes unless its command is `false` or a script that
 *     ends non-zero; the engine turns it `healthy` one interval after start, or
 *     `unhealthy` after `retries` failed checks past the start period, as
 *     Docker does; minga's first probes (start-probes.ts) report a passing
 *     one healthy as soon as it starts, as on Docker
 *   - a start takes `startDelayMs` (create + start); a warm standby's create (`prepare`) takes
 *     the create's share of it and its start only the start's (`standbyStartDelayMs`, by default
 *     STANDBY_START_SHARE of `startDelayMs`, as measured on Docker)
 *   - test hooks: `crash(id, exitCode)`, `emitLog(id, text, stream)`,
 *     `setHealth(id, health)` (which then sticks)
 *
 * @example
 * ```ts
 * const engine = new MemoryEngine({ now: clock.now, delay: clock.sleep, startDelayMs: 400 }) // a standby's start: 252 ms of it
 * const a = new MemoryRuntime({ meshId, nodeId: 'a', engine })
 * const c = await a.start(replica)
 * a.crash(c.id, 137)
 * ```
 */
import type { Resources } from '@minga/protocol'
import { AsyncQueue } from './async-queue.js'
import { ContainerNotFoundError } from './errors.js'
import { MemoryEngine, type MemoryContainer, type MemoryEngineInit } from './memory-engine.js'
import { healthProbe } from './memory-program.js'
import { linkSignals } from './signals.js'
import { dedupedHealth, StartProbes } from './start-probes.js'
import { LABELS } from './types.js'
import type { AbortOptions, ContainerHealth, ImageProgress, LogLine, LogOptions, ReplicaSpec, Runtime, RuntimeContainer, RuntimeEvent } from './types.js'

export interface MemoryRuntimeInit extends MemoryEngineInit {
  meshId?: string
  nodeId?: string
  /** share a host with other nodes; when given, the engine options above are ignored */
  engine?: MemoryEngine
}

/**
 * The Runtime in memory, over a MemoryEngine (its own or a shared one): for the simulator and unit tests; passes the runtime conformance suite
 */
export class MemoryRuntime implements Runtime {
  readonly engine: MemoryEngine
  readonly meshId: string
  readonly nodeId: string
  private readonly closing = new AbortController()
  /** minga's own first health probes, as the Docker runtime runs them */
  private readonly probes: StartProbes
  private readonly subscribers = new Set<(event: RuntimeEvent) => void>()

  constructor (init: MemoryRuntimeInit = {}) {
    this.engine = init.engine ?? new MemoryEngine(init)
    this.meshId = init.meshId ?? 'mesh'
    this.nodeId = init.nodeId ?? 'node'
    this.probes = new StartProbes({
      exec: async (id, cmd) => await this.exec(id, cmd),
      inspect: async (id) => { const c = this.find(id); return c === undefined ? undefined : this.engine.snapshot(c) },
      sleep: async (ms, signal) => { await this.engine.delay(ms, signal) },
      onHealthy: (id) => { for (const tell of this.subscribers) tell({ type: 'health', id, health: 'healthy' }) }
    })
  }

  async list (): Promise<RuntimeContainer[]> {
    return this.probes.mergeAll(this.own().map(c => this.engine.snapshot(c)))
  }

  async start (replica: ReplicaSpec, options: AbortOptions & { onProgress?: (p: ImageProgress) => void } = {}): Promise<RuntimeContainer> {
    const same = this.sameAs(replica)
    let c: MemoryContainer
    if (same !== undefined && same.state === 'created' && same.labels[LABELS.standby] === '1') {
      // a warm standby: started as it is, with this start's files
      c = await this.engine.launch(same, { ...options, replica })
    } else if (same !== undefined && same.state !== 'exited') {
      return this.probes.merge(this.engine.snapshot(same))
    } else {
      if (same !== undefined) this.engine.remove(same.id)
      c = await this.engine.run(replica, this.labelsOf(replica), options)
    }
    if (replica.spec.health !== undefined && c.state === 'running') this.probes.watch(c.id, replica.spec.health)
    return this.probes.merge(this.engine.snapshot(c))
  }

  async prepare (replica: ReplicaSpec, options: AbortOptions = {}): Promise<RuntimeContainer> {
    const same = this.sameAs(replica)
    if (same !== undefined && same.state !== 'exited') return this.probes.merge(this.engine.snapshot(same))
    if (same !== undefined) this.engine.remove(same.id)
    const created = await this.engine.create(replica, { ...this.labelsOf(replica), [LABELS.standby]: '1' }, options)
    // a start of the replica while the create took its time: as with Docker's name clash, that copy is the one
    const meanwhile = this.own().find(c => c !== created && c.state !== 'exited' && this.isOf(c, replica))
    if (meanwhile === undefined) return this.engine.snapshot(created)
    this.engine.remove(created.id)
    return this.probes.merge(this.engine.snapshot(meanwhile))
  }

  private sameAs (replica: ReplicaSpec): MemoryContainer | undefined {
    return this.own().find(c => this.isOf(c, replica))
  }

  private isOf (c: MemoryContainer, replica: ReplicaSpec): boolean {
    return c.replica.service === replica.service && c.replica.replica === replica.replica && c.replica.hash === replica.hash
  }

  private labelsOf (replica: ReplicaSpec): Record<string, string> {
    return {
      [LABELS.mesh]: this.meshId,
      [LABELS.node]: this.nodeId,
      [LABELS.service]: replica.service,
      [LABELS.replica]: String(replica.replica),
      [LABELS.hash]: replica.hash
    }
  }

  async stop (id: string): Promise<void> {
    if (this.find(id) === undefined) return
    this.probes.forget(id)
    this.engine.remove(id)
  }

  async * logs (id: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    const c = this.find(id)
    if (c === undefined) throw new ContainerNotFoundError(id)
    const linked = linkSignals([options.signal, this.closing.signal])
    try {
      yield * this.engine.logsOf(c, { ...options, signal: linked.signal })
    } finally {
      linked.dispose()
    }
  }

  events (options: AbortOptions = {}): AsyncIterable<RuntimeEvent> {
    const linked = linkSignals([options.signal, this.closing.signal])
    let unsubscribe = (): void => {}
    const queue = new AsyncQueue<RuntimeEvent>({ signal: linked.signal, onClose: () => { unsubscribe(); linked.dispose() } })
    if (!queue.done) {
      // an early probe's pass, then the engine's own `healthy`, is one health event
      const tell = dedupedHealth(event => queue.push(event))
      this.subscribers.add(tell)
      const off = this.engine.subscribe((c, event) => { if (this.owns(c)) tell(event) })
      unsubscribe = () => { off(); this.subscribers.delete(tell) }
    } else {
      linked.dispose()
    }
    return queue
  }

  async capacity (): Promise<Resources> {
    return { ...this.engine.capacity }
  }

  /** a command in a running container, as the model runs health checks (memory-program.ts's healthProbe) */
  readonly exec = async (id: string, cmd: string[]): Promise<{ exitCode: number, output: string }> => {
    const c = this.mustFind(id)
    if (c.state !== 'running') throw new ContainerNotFoundError(id)
    return healthProbe(cmd)
  }

  async close (): Promise<void> {
    this.closing.abort()
    this.probes.close()
  }

  /** test hook: the container's process dies with this exit code */
  crash (id: string, exitCode = 1): void {
    this.engine.exit(this.mustFind(id), exitCode)
  }

  /** test hook: the container prints a line */
  emitLog (id: string, text: string, stream: LogLine['stream'] = 'stdout'): void {
    this.engine.log(this.mustFind(id), text, stream)
  }

  /** test hook: the container's health check now reports this, until set again */
  setHealth (id: string, health: ContainerHealth): void {
    this.engine.setHealth(this.mustFind(id), health)
  }

  private own (): MemoryContainer[] {
    return this.engine.all().filter(c => this.owns(c))
  }

  private owns (c: MemoryContainer): boolean {
    return c.labels[LABELS.mesh] === this.meshId && c.labels[LABELS.node] === this.nodeId
  }

  private find (id: string): MemoryContainer | undefined {
    const c = this.engine.get(id)
    return c !== undefined && this.owns(c) ? c : undefined
  }

  private mustFind (id: string): MemoryContainer {
    const c = this.find(id)
    if (c === undefined) throw new ContainerNotFoundError(id)
    return c
  }
}
