/**
 * The memory runtime's model of one host's container engine: images,
 * containers with labels, their programs (memory-program.ts), health
 * checks, logs and lifecycle events. Several MemoryRuntimes (nodes) may
 * share one engine, as several minga nodes may share one Docker engine.
 *
 * Time comes from `now` and `delay`, so the simulator can run it on a
 * virtual clock; randomness (start failures) from `random`.
 */
import { isHostModePort, probeOutput, type HealthProbe, type PortSpec, type Resources } from '@minga/protocol'
import { AsyncQueue } from './async-queue.js'
import { MEMORY_LOG_LINES, STANDBY_START_SHARE } from './constants.js'
import { ImageNotFoundError, RuntimeStartError } from './errors.js'
import { healthProbe, parseProgram, programOf } from './memory-program.js'
import { linkSignals } from './signals.js'
import { LABELS } from './types.js'
import type { ContainerFile, ContainerHealth, ContainerState, ImageProgress, LogLine, LogOptions, ReplicaSpec, RuntimeContainer, RuntimeEvent } from './types.js'

export type Delay = (ms: number, signal?: AbortSignal) => Promise<void>

export interface MemoryEngineInit {
  /** ms since epoch; default Date.now */
  now?: () => number
  /** resolves after ms, rejects when the signal aborts; default unref'd timers */
  delay?: Delay
  /** how long create + start (`docker run`) takes; default 0 */
  startDelayMs?: number
  /**
   * how long the start alone of a created container (a warm standby: `docker start`, the image present)
   * takes; its create took the rest of `startDelayMs`. Default `startDelayMs` × STANDBY_START_SHARE
   * (constants.ts, measured on Docker)
   */
  standbyStartDelayMs?: number
  /** how long pulling an image from `registry` takes; default 0 */
  pullDelayMs?: number
  /** probability that a start fails with RuntimeStartError; default 0 */
  failureRate?: number
  /** default Math.random */
  random?: () => number
  /** what the host offers; default 4 cores, 8 GiB */
  capacity?: Resources
  /** images on the host; absent means every image is present */
  images?: Iterable<string>
  /** images that a pull finds; others fail like Docker's ImageNotFound */
  registry?: Iterable<string>
  maxLogLines?: number
}

export interface MemoryContainer {
  readonly id: string
  readonly labels: Readonly<Record<string, string>>
  /** what it was made from; a created container started by `launch` takes the starter's (same hash, its files) */
  replica: ReplicaSpec
  state: ContainerState
  health: ContainerHealth
  exitCode?: number
  startedAt?: number
  readonly logs: LogLine[]
  readonly followers: Set<AsyncQueue<LogLine>>
  /** aborts the container's program and health check */
  readonly life: AbortController
  /** set by setHealth: the modelled check no longer decides */
  healthPinned: boolean
  /** the last modelled health check */
  probe?: HealthProbe
  /** files written into it before it started, by path */
  files: ReadonlyMap<string, ContainerFile>
}

export type EngineListener = (container: MemoryContainer, event: RuntimeEvent) => void

const defaultDelay: Delay = async (ms, signal) => {
  await new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) { reject(signal.reason); return }
    const onAbort = (): void => { clearTimeout(timer); reject(signal?.reason) }
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    timer.unref()
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * A modelled container engine: containers run small programs (memory-program.ts) on the given clock (`now`, `delay`),
 * with start delays, failure rates and health checks; several MemoryRuntimes may share one (a host's engine)
 */
export class MemoryEngine {
  readonly now: () => number
  readonly delay: Delay
  readonly capacity: Resources
  private readonly startDelayMs: number
  private readonly standbyStartDelayMs: number
  private readonly pullDelayMs: number
  private readonly failureRate: number
  private readonly random: () => number
  private readonly images?: Set<string>
  private readonly registry: Set<string>
  private readonly maxLogLines: number
  private readonly containers = new Map<string, MemoryContainer>()
  private readonly listeners = new Set<EngineListener>()
  private nextId = 1

  constructor (init: MemoryEngineInit = {}) {
    this.now = init.now ?? Date.now
    this.delay = init.delay ?? defaultDelay
    this.capacity = init.capacity ?? { cpu: 4000, memory: 8 * 1024 ** 3 }
    this.startDelayMs = init.startDelayMs ?? 0
    this.standbyStartDelayMs = Math.min(this.startDelayMs, init.standbyStartDelayMs ?? Math.round(this.startDelayMs * STANDBY_START_SHARE))
    this.pullDelayMs = init.pullDelayMs ?? 0
    this.failureRate = init.failureRate ?? 0
    this.random = init.random ?? Math.random
    this.images = init.images === undefined ? undefined : new Set(init.images)
    this.registry = new Set(init.registry ?? [])
    this.maxLogLines = init.maxLogLines ?? MEMORY_LOG_LINES
  }

  get (id: string): MemoryContainer | undefined { return this.containers.get(id) }
  all (): MemoryContainer[] { return [...this.containers.values()] }

  hasImage (image: string): boolean { return this.images === undefined || this.images.has(image) }
  /** like `docker load`: the image (a reference or an id) is now on the host */
  addImage (image: string): void { this.images?.add(image) }
  /** like `docker rmi` */
  removeImage (image: string): void { this.images?.delete(image) }

  subscribe (listener: EngineListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** create and start a container (`docker run`) */
  async run (replica: ReplicaSpec, labels: Record<string, string>, options: { signal?: AbortSignal, onProgress?: (p: ImageProgress) => void } = {}): Promise<MemoryContainer> {
    // no await unless it pulls: the start's delay begins in the caller's tick, as the virtual clock's tests expect
    const pulling = this.ensureImage(replica, options)
    if (pulling !== undefined) await pulling
    this.checkPorts(replica)
    return await this.launch(this.add(replica, labels), options)
  }

  /**
   * create a container, not started (`docker create`): it holds no port and runs nothing until `launch`.
   * Takes the create's share of `startDelayMs` (what `standbyStartDelayMs` leaves of it)
   */
  async create (replica: ReplicaSpec, labels: Record<string, string>, options: { signal?: AbortSignal } = {}): Promise<MemoryContainer> {
    const pulling = this.ensureImage(replica, options)
    if (pulling !== undefined) await pulling
    const createMs = this.startDelayMs - this.standbyStartDelayMs
    if (createMs > 0) await this.delay(createMs, options.signal)
    const c = this.add(replica, labels)
    c.state = 'created'
    return c
  }

  /**
   * start a container: a created one (`docker start`: `standbyStartDelayMs`, no image check), or one `add`ed
   * by run (create + start: `startDelayMs`)
   */
  async launch (c: MemoryContainer, options: { signal?: AbortSignal, replica?: ReplicaSpec } = {}): Promise<MemoryContainer> {
    const startMs = c.state === 'created' ? this.standbyStartDelayMs : this.startDelayMs
    if (c.state === 'created') {
      c.replica = options.replica ?? c.replica
      this.checkPorts(c.replica)
      c.state = 'starting'
      c.files = new Map((c.replica.files ?? []).map(f => [f.path, f]))
    }
    const { replica } = c
    // the start ends early when the caller aborts or the container is stopped meanwhile
    const linked = linkSignals([options.signal, c.life.signal])
    try {
      if (startMs > 0) await this.delay(startMs, linked.signal)
      options.signal?.throwIfAborted()
      if (c.life.signal.aborted) throw new RuntimeStartError(`Replica ${replica.service}#${replica.replica} was stopped while it started`)
      if (this.failureRate > 0 && this.random() < this.failureRate) {
        throw new RuntimeStartError(`Replica ${replica.service}#${replica.replica} could not start (simulated failure); the node will retry`)
      }
    } catch (err) {
      if (this.containers.get(c.id) === c) {
        this.containers.delete(c.id)
        this.emit(c, { type: 'remove', id: c.id })
      }
      if (c.life.signal.aborted && !(options.signal?.aborted ?? false)) {
        throw new RuntimeStartError(`Replica ${replica.service}#${replica.replica} was stopped while it started`)
      }
      throw err
    } finally {
      linked.dispose()
    }
    c.state = 'running'
    c.startedAt = this.now()
    c.health = replica.spec.health === undefined ? 'none' : 'starting'
    this.emit(c, { type: 'start', id: c.id })
    void this.checkHealth(c)
    void this.runProgram(c)
    return c
  }

  private add (replica: ReplicaSpec, labels: Record<string, string>): MemoryContainer {
    const c: MemoryContainer = {
      id: (this.nextId++).toString(16).padStart(12, '0'),
      labels: { ...labels },
      replica,
      state: 'starting',
      health: 'none',
      logs: [],
      followers: new Set(),
      life: new AbortController(),
      healthPinned: false,
      files: new Map((replica.files ?? []).map(f => [f.path, f]))
    }
    this.containers.set(c.id, c)
    return c
  }

  /** the image is here, or the pull that brings it (undefined when it is here); throws when it is pinned and missing */
  private ensureImage (replica: ReplicaSpec, options: { signal?: AbortSignal, onProgress?: (p: ImageProgress) => void }): Promise<void> | undefined {
    const { image, imageDigest } = replica.spec
    options.signal?.throwIfAborted()
    // a pinned image runs only as those bytes: the images room loads it, a pull by tag could bring others
    if (imageDigest !== undefined && !this.hasImage(imageDigest)) throw new ImageNotFoundError(`${image} (${imageDigest.slice(0, 19)})`, 'no node of the mesh could give it, and the registry\'s may differ')
    if (imageDigest === undefined && !this.hasImage(image)) return this.pull(image, options)
    return undefined
  }

  /** stop (the program gets SIGTERM: exit 143) and remove; a container still starting is just dropped */
  remove (id: string): void {
    const c = this.containers.get(id)
    if (c === undefined) return
    if (c.state === 'starting') c.life.abort()
    else this.exit(c, 143)
    for (const follower of c.followers) follower.end()
    this.containers.delete(id)
    this.emit(c, { type: 'remove', id })
  }

  /** the container's process ends with this exit code */
  exit (c: MemoryContainer, exitCode: number): void {
    if (c.state !== 'running') return
    c.state = 'exited'
    c.exitCode = exitCode
    c.life.abort()
    for (const follower of c.followers) follower.end()
    this.emit(c, { type: 'die', id: c.id, exitCode })
  }

  log (c: MemoryContainer, text: string, stream: LogLine['stream'] = 'stdout'): void {
    const line: LogLine = { time: this.now(), stream, text }
    c.logs.push(line)
    if (c.logs.length > this.maxLogLines) c.logs.shift()
    for (const follower of c.followers) follower.push(line)
  }

  setHealth (c: MemoryContainer, health: ContainerHealth, pin = true): void {
    c.healthPinned ||= pin
    if (c.health === health) return
    c.health = health
    this.emit(c, { type: 'health', id: c.id, health })
  }

  logsOf (c: MemoryContainer, options: LogOptions): AsyncQueue<LogLine> {
    const since = options.since ?? -Infinity
    const queue: AsyncQueue<LogLine> = new AsyncQueue({ signal: options.signal, onClose: () => c.followers.delete(queue) })
    let lines = c.logs.filter(l => l.time >= since)
    if (options.tail !== undefined) lines = options.tail <= 0 ? [] : lines.slice(-options.tail)
    for (const line of lines) queue.push(line)
    if (options.follow === true && c.state !== 'exited' && !queue.done) c.followers.add(queue)
    else queue.end()
    return queue
  }

  snapshot (c: MemoryContainer): RuntimeContainer {
    const hasCheck = c.replica.spec.health !== undefined
    return {
      id: c.id,
      service: c.replica.service,
      replica: c.replica.replica,
      hash: c.replica.hash,
      image: c.replica.spec.image,
      state: c.state,
      health: c.state === 'exited' ? (hasCheck ? 'unhealthy' : 'none') : c.health,
      ...(c.exitCode === undefined ? {} : { exitCode: c.exitCode }),
      ...(c.startedAt === undefined ? {} : { startedAt: c.startedAt }),
      ...(c.probe === undefined ? {} : { probe: { ...c.probe } }),
      // a modelled address on the node's service network (198.18.0.0/15, the benchmarking range): the routing mesh's model reads it
      ...(c.state === 'running' ? { address: modelledAddress(c.id) } : {}),
      ...(c.state === 'created' && c.labels[LABELS.standby] === '1' ? { standby: true as const } : {})
    }
  }

  private emit (c: MemoryContainer, event: RuntimeEvent): void {
    for (const listener of this.listeners) listener(c, event)
  }

  private async pull (image: string, options: { signal?: AbortSignal, onProgress?: (p: ImageProgress) => void }): Promise<void> {
    if (!this.registry.has(image)) throw new ImageNotFoundError(image, 'no registry has it')
    options.onProgress?.({ image, status: 'Pulling' })
    if (this.pullDelayMs > 0) await this.delay(this.pullDelayMs, options.signal)
    this.images?.add(image)
    options.onProgress?.({ image, status: 'Pulled' })
  }

  private checkPorts (replica: ReplicaSpec): void {
    for (const port of replica.spec.ports) {
      // ports of mode ingress are the node's forwarder's, not the container's (as with Docker on the node's service network)
      if (!isHostModePort(port)) continue
      // an unbound port holds every address of the host
      const clash = (p: PortSpec): boolean => isHostModePort(p) && p.host === port.host && p.protocol === port.protocol && (p.hostIp === undefined || port.hostIp === undefined || p.hostIp === port.hostIp)
      const holder = this.all().find(c => c.state !== 'exited' && c.state !== 'created' && c.replica.spec.ports.some(clash))
      if (holder !== undefined) {
        throw new RuntimeStartError(`Port ${port.host}/${port.protocol} is already taken on this host by ${holder.replica.service}#${holder.replica.replica}; stop it or publish another port`)
      }
    }
  }

  private async runProgram (c: MemoryContainer): Promise<void> {
    let status = 0
    for (const step of parseProgram(programOf(c.replica.spec))) {
      if (c.life.signal.aborted) return
      switch (step.op) {
        case 'echo': this.log(c, step.text, step.stream); status = 0; break
        case 'cat': status = this.cat(c, step.path); break
        case 'id': this.log(c, idOf(c.replica.spec.user, step.which)); status = 0; break
        case 'status': status = step.code; break
        case 'exit': this.exit(c, step.code); return
        case 'serve': return
        case 'sleep':
          try { await this.delay(step.ms, c.life.signal) } catch { return }
          break
      }
    }
    if (!c.life.signal.aborted) this.exit(c, status)
  }

  /** `cat FILE`: its lines, or busybox's complaint and status 1 */
  private cat (c: MemoryContainer, path: string): number {
    const file = c.files.get(path)
    if (file === undefined) {
      this.log(c, `cat: can't open '${path}': No such file or directory`, 'stderr')
      return 1
    }
    const text = Buffer.from(file.content).toString('utf8')
    for (const line of text.replace(/\n$/, '').split('\n')) this.log(c, line)
    return 0
  }

  /** one modelled check, as Docker would conclude it: see healthProbe */
  private async checkHealth (c: MemoryContainer): Promise<void> {
    const check = c.replica.spec.health
    if (check === undefined) return
    const probe = healthProbe(check.cmd)
    const passes = probe.exitCode === 0
    const interval = Math.max(1, check.interval)
    const wait = passes ? interval : interval * (Math.floor(check.startPeriod / interval) + Math.max(1, check.retries))
    try { await this.delay(wait, c.life.signal) } catch { return }
    if (c.life.signal.aborted || c.healthPinned || c.state !== 'running') return
    c.probe = { exitCode: probe.exitCode, output: probeOutput(probe.output) }
    this.setHealth(c, passes ? 'healthy' : 'unhealthy', false)
  }
}

/** what `id -u` / `id -g` print for `user:`: root when unset, group 0 when only a user is given (the test image has no /etc/passwd entries to look names up in) */
function idOf (user: string | undefined, which: 'u' | 'g'): string {
  const [uid, gid] = (user ?? '0').split(':')
  return which === 'u' ? uid : (gid ?? '0')
}

/** a container's modelled address, from its id (a hex counter) */
function modelledAddress (id: string): string {
  const n = parseInt(id, 16)
  return `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 0xff}.${n & 0xff}`
}
