/**
 * The Docker runtime: one node's containers on a Docker engine, through
 * dockerode. Containers carry the mesh, node, service, replica and hash
 * labels (docker-spec.ts) and this runtime only ever sees its own.
 *
 * @example
 * ```ts
 * const runtime = new DockerRuntime({ meshId, nodeId, socketPath: '/tmp/minga-docker/a/docker.sock' })
 * const c = await runtime.start(replica, { onProgress: p => console.log(p.status) })
 * for await (const line of runtime.logs(c.id, { follow: true, signal })) console.log(line.text)
 * ```
 */
import { setTimeout as sleepFor } from 'node:timers/promises'
import { logger } from '@libp2p/logger'
import { errorText } from '../core/logger.js'
import type { Resources } from '@minga/protocol'
import Docker from 'dockerode'
import { AsyncQueue } from './async-queue.js'
import { CALL_TIMEOUT_MS, PULL_TIMEOUT_MS, STOP_GRACE_MS } from './constants.js'
import { tarOf } from './docker-files.js'
import { execIn } from './docker-exec.js'
import { ensureImage } from './docker-images.js'
import { containerName, createBody, networkModeFor, ownerFilters } from './docker-spec.js'
import { ensureNetwork, type ServiceNetworkSpec } from './docker-network.js'
import type { Owner } from './docker-spec.js'
import { demuxLogs, eventAttributes, jsonLines, toRuntimeEvent } from './docker-streams.js'
import { dial, dockerMessage, engineAddress, engineCall, engineError, isStandby, ownedBy, statusCode, toRuntimeContainer, unavailable } from './docker-util.js'
import type { CallContext } from './docker-util.js'
import { ContainerNotFoundError, ImageNotFoundError, RuntimeStartError, RuntimeUnavailableError } from './errors.js'
import { linkSignals, rejectOnAbort } from './signals.js'
import { dedupedHealth, StartProbes } from './start-probes.js'
import { LABELS } from './types.js'
import type { AbortOptions, ImageProgress, LogLine, LogOptions, ReplicaSpec, Runtime, RuntimeContainer, RuntimeEvent } from './types.js'

const log = logger('minga:docker')

export interface DockerRuntimeInit {
  meshId: string
  nodeId: string
  /** a unix socket path (or `unix://…`, `tcp://host:port`); default DOCKER_HOST, then /var/run/docker.sock */
  socketPath?: string
  pullTimeoutMs?: number
  /** deadline of each engine call; default 15 s */
  callTimeoutMs?: number
  /**
   * run Docker's init (tini) as PID 1 of every container: it forwards SIGTERM
   * (a shell script then stops at once instead of after the grace period) and
   * reaps zombies; but images that must be PID 1 (s6-overlay) break, and a
   * command that does not exist becomes an exit with code 127 instead of a
   * RuntimeStartError. Default false, as in Docker and Kubernetes
   */
  init?: boolean
  /**
   * the node's service network: created on the engine if missing, every
   * replica joins it (instead of Docker's bridge, or none), and ports of mode
   * ingress are left to the node's forwarder. Absent: Docker's bridge, or
   * `none`/`host` on an engine without one
   */
  network?: ServiceNetworkSpec
}

type StreamBody = NodeJS.ReadableStream & { destroy: () => void }

const EVENT_ACTIONS = ['start', 'die', 'health_status', 'destroy']

/**
 * The Runtime on a Docker engine through dockerode (see above); passes the runtime conformance suite.
 * Engine calls time out after `callTimeoutMs`; an engine that does not answer is RuntimeUnavailableError
 */
export class DockerRuntime implements Runtime {
  readonly address: string
  private readonly docker: Docker
  private readonly owner: Owner
  private readonly pullTimeoutMs: number
  private readonly callTimeoutMs: number
  private readonly init: boolean
  private readonly closing = new AbortController()
  private readonly ctx: CallContext
  private bridge?: Promise<boolean>
  private readonly network?: ServiceNetworkSpec
  private networkReady?: Promise<void>
  /** minga's own first health probes (start-probes.ts) */
  private readonly probes: StartProbes
  /** the event subscribers, told of early probes' passes */
  private readonly subscribers = new Set<(event: RuntimeEvent) => void>()

  constructor (init: DockerRuntimeInit) {
    const address = engineAddress(init.socketPath)
    this.docker = new Docker(address.options)
    this.address = address.label
    this.owner = { meshId: init.meshId, nodeId: init.nodeId }
    this.pullTimeoutMs = init.pullTimeoutMs ?? PULL_TIMEOUT_MS
    this.callTimeoutMs = init.callTimeoutMs ?? CALL_TIMEOUT_MS
    this.init = init.init ?? false
    this.network = init.network
    this.ctx = { address: this.address, closing: this.closing.signal }
    this.probes = new StartProbes({
      exec: async (id, cmd, { timeoutMs, signal }) => await this.call(async s => await execIn(this.docker, id, cmd, { timeoutMs, signal: s }), { signal, timeoutMs: timeoutMs + this.callTimeoutMs }),
      inspect: async (id) => { const info = await this.inspect(id); return info === undefined ? undefined : toRuntimeContainer(info) },
      sleep: async (ms, signal) => { await sleepFor(ms, undefined, { signal }) },
      onHealthy: (id) => { for (const tell of this.subscribers) tell({ type: 'health', id, health: 'healthy' }) }
    })
  }

  async list (options: AbortOptions = {}): Promise<RuntimeContainer[]> {
    const summaries = await this.call(async signal => await this.docker.listContainers({ all: true, filters: { label: ownerFilters(this.owner) }, abortSignal: signal }), options)
    const infos = await Promise.all(summaries.map(async s => await this.inspect(s.Id, options.signal)))
    return this.probes.mergeAll(infos.flatMap(info => info === undefined ? [] : [toRuntimeContainer(info, this.network?.name)]))
  }

  async start (replica: ReplicaSpec, options: AbortOptions & { onProgress?: (p: ImageProgress) => void } = {}): Promise<RuntimeContainer> {
    const { signal } = options
    // a warm standby of this replica and hash (prepare) is started as it is: no image check, no create
    const standby = await this.inspect(containerName(replica, this.owner), signal)
    const created = standby !== undefined && isStandby(standby) && standby.Config.Labels[LABELS.hash] === replica.hash
      ? { id: standby.Id, running: false as const }
      : await this.createFor(replica, { signal, onProgress: options.onProgress })
    if (created.running) return this.probes.merge(toRuntimeContainer(created.info, this.network?.name))
    try {
      const container = this.docker.getContainer(created.id)
      if (replica.files !== undefined && replica.files.length > 0) {
        const archive = await tarOf(replica.files)
        await this.call(async s => await container.putArchive(archive, { path: '/', abortSignal: s }), { signal })
      }
      await this.call(async s => await container.start({ abortSignal: s }), { signal })
    } catch (err) {
      await this.removeQuietly(created.id)
      if (signal?.aborted === true || err instanceof RuntimeUnavailableError) throw err
      throw new RuntimeStartError(`Replica ${replica.service}#${replica.replica} could not start: ${dockerMessage(err)}`)
    }
    const info = await this.inspect(created.id, signal)
    if (info === undefined) throw new RuntimeStartError(`Replica ${replica.service}#${replica.replica} was removed as it started; the node will retry`)
    const started = toRuntimeContainer(info, this.network?.name)
    if (replica.spec.health !== undefined && started.state === 'running') this.probes.watch(started.id, replica.spec.health)
    return this.probes.merge(started)
  }

  async prepare (replica: ReplicaSpec, options: AbortOptions = {}): Promise<RuntimeContainer> {
    const created = await this.createFor(replica, { signal: options.signal, standby: true })
    const info = created.running ? created.info : await this.inspect(created.id, options.signal)
    if (info === undefined) throw new RuntimeStartError(`The standby of ${replica.service}#${replica.replica} was removed as it was created; the node will retry`)
    return this.probes.merge(toRuntimeContainer(info, this.network?.name))
  }

  /** the replica's container, created (or found: a standby, or a copy that runs) after its image and network are there */
  private async createFor (replica: ReplicaSpec, options: { signal?: AbortSignal, onProgress?: (p: ImageProgress) => void, standby?: boolean }): Promise<{ id: string, running: false } | { running: true, info: Docker.ContainerInspectInfo }> {
    const { signal } = options
    const image = await ensureImage(this.docker, this.ctx, replica.spec.image, { digest: replica.spec.imageDigest, signal, onProgress: options.onProgress, pullTimeoutMs: this.pullTimeoutMs })
    if (this.network !== undefined) await this.ensureNetwork(signal)
    const networkMode = this.network === undefined ? networkModeFor(replica, await this.hasBridge(signal)) : undefined
    const name = containerName(replica, this.owner)
    const body = createBody(replica, this.owner, { networkMode, network: this.network, init: this.init, image, standby: options.standby })
    return await this.create(name, body, replica, signal)
  }

  async stop (id: string, options: AbortOptions & { graceMs?: number } = {}): Promise<void> {
    const info = await this.inspect(id, options.signal)
    if (info === undefined) return
    this.probes.forget(info.Id)
    const container = this.docker.getContainer(info.Id)
    const graceMs = options.graceMs ?? STOP_GRACE_MS
    if (info.State.Running) {
      await this.tolerate([304, 404], async () => {
        await this.call(async s => await container.stop({ t: Math.ceil(graceMs / 1000), abortSignal: s }), { signal: options.signal, timeoutMs: graceMs + this.callTimeoutMs })
      })
    }
    await this.tolerate([404, 409], async () => {
      await this.call(async s => await container.remove({ force: true, v: true, abortSignal: s } as Docker.ContainerRemoveOptions), options)
    })
  }

  async * logs (id: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    const info = await this.inspect(id, options.signal)
    if (info === undefined) throw new ContainerNotFoundError(id)
    const since = options.since ?? -Infinity
    const query: Record<string, unknown> = { stdout: true, stderr: true, timestamps: true, follow: options.follow === true }
    if (options.since !== undefined) query.since = (Math.floor(options.since) / 1000).toFixed(3)
    if (options.tail !== undefined) query.tail = String(Math.max(0, Math.floor(options.tail)))
    const { stream, signal, close } = await this.openStream(`/containers/${info.Id}/logs?`, query, options.signal)
    try {
      for await (const line of demuxLogs(stream as AsyncIterable<Uint8Array>)) {
        if (line.time >= since) yield line
      }
    } catch (err) {
      if (!signal.aborted) throw engineError(err, this.ctx, options.signal)
    } finally {
      close()
    }
  }

  events (options: AbortOptions = {}): AsyncIterable<RuntimeEvent> {
    // subscribe now, not when iteration starts, and ask for events since now:
    // a start right after this call is never missed
    const stop = new AbortController()
    const queue = new AsyncQueue<RuntimeEvent>({ signal: options.signal, onClose: () => { stop.abort(); this.subscribers.delete(tell) } })
    // an early probe's pass, then the engine's own `healthy`, is one health event
    const tell = dedupedHealth(event => queue.push(event))
    if (!queue.done) {
      this.subscribers.add(tell)
      void this.pumpEvents(tell, queue, stop.signal, Date.now())
    }
    return queue
  }

  async capacity (): Promise<Resources> {
    const info = await this.call(async signal => await dial<{ NCPU: number, MemTotal: number }>(this.docker, { path: '/info', statusCodes: { 200: true, 500: 'server error' } }, signal))
    return { cpu: info.NCPU * 1000, memory: info.MemTotal }
  }

  /** `docker exec` of a command in a running container of this node (docker-exec.ts) */
  readonly exec = async (id: string, cmd: string[], options: AbortOptions & { timeoutMs: number }): Promise<{ exitCode: number, output: string }> => {
    if (await this.inspect(id, options.signal) === undefined) throw new ContainerNotFoundError(id)
    return await execIn(this.docker, id, cmd, options)
  }

  async close (): Promise<void> {
    this.closing.abort()
    this.probes.close()
  }

  private async pumpEvents (tell: (event: RuntimeEvent) => void, queue: AsyncQueue<RuntimeEvent>, stop: AbortSignal, since: number): Promise<void> {
    const filters = { type: ['container'], label: ownerFilters(this.owner), event: EVENT_ACTIONS }
    let opened: Awaited<ReturnType<DockerRuntime['openStream']>> | undefined
    try {
      opened = await this.openStream('/events?', { filters, since: (since / 1000).toFixed(3) }, stop)
      for await (const value of jsonLines(opened.stream as AsyncIterable<Uint8Array>)) {
        const event = toRuntimeEvent(value)
        if (event !== undefined && ownedBy(eventAttributes(value), this.owner)) tell(event)
      }
      if (!opened.signal.aborted) queue.end(unavailable(this.address, 'the event stream ended'))
    } catch (err) {
      if (!stop.aborted && !this.closing.signal.aborted && opened?.signal.aborted !== true) queue.end(engineError(err, this.ctx))
    } finally {
      opened?.close()
      queue.end()
    }
  }

  /**
   * GET a streaming endpoint. The deadline covers the answer's headers, not
   * the stream; `close` ends the stream and detaches from the signals
   */
  private async openStream (path: string, query: Record<string, unknown>, callerSignal?: AbortSignal): Promise<{ stream: StreamBody, signal: AbortSignal, close: () => void }> {
    const linked = linkSignals([callerSignal, this.closing.signal])
    const deadline = linkSignals([linked.signal], this.callTimeoutMs)
    try {
      const statusCodes = { 200: true, 400: 'bad parameter', 404: 'no such container', 500: 'server error' } as const
      const stream = await Promise.race([
        dial<StreamBody>(this.docker, { path, options: query, isStream: true, statusCodes }, deadline.signal),
        rejectOnAbort(deadline.signal)
      ])
      const onAbort = (): void => { stream.destroy() }
      linked.signal.addEventListener('abort', onAbort, { once: true })
      const close = (): void => { linked.signal.removeEventListener('abort', onAbort); linked.dispose(); stream.destroy() }
      return { stream, signal: linked.signal, close }
    } catch (err) {
      linked.dispose()
      throw engineError(err, this.ctx, callerSignal, deadline.timedOut ? this.callTimeoutMs : undefined)
    } finally {
      deadline.dispose()
    }
  }

  /**
   * create the container; a container of the same name left by an earlier
   * run of this node is reused when it runs or is a warm standby of the
   * same hash (created, never started), otherwise removed first
   */
  private async create (name: string, body: Docker.ContainerCreateOptions, replica: ReplicaSpec, signal?: AbortSignal): Promise<{ id: string, running: false } | { running: true, info: Docker.ContainerInspectInfo }> {
    for (let attempt = 0; ; attempt++) {
      try {
        const container = await this.call(async s => await this.docker.createContainer({ _query: { name }, _body: body, abortSignal: s } as Docker.ContainerCreateOptions), { signal })
        return { id: container.id, running: false }
      } catch (err) {
        const status = statusCode(err)
        if (status === 404) throw new ImageNotFoundError(replica.spec.image, dockerMessage(err))
        if (status !== 409 || attempt > 0) {
          // an aborted create may still have happened on the engine
          await this.removeQuietly(name)
          if (signal?.aborted === true || status === undefined) throw err
          throw new RuntimeStartError(`Replica ${replica.service}#${replica.replica} could not be created: ${dockerMessage(err)}`)
        }
        const existing = await this.call(async s => await this.docker.getContainer(name).inspect({ abortSignal: s }), { signal })
          .catch((inspectError: unknown) => { if (statusCode(inspectError) === 404) return undefined; throw inspectError })
        if (existing !== undefined && !ownedBy(existing.Config.Labels, this.owner)) {
          throw new RuntimeStartError(`A container named ${name} exists that this node did not create; remove it with "docker rm -f ${name}"`)
        }
        if (existing?.State.Running === true && existing.Config.Labels[LABELS.hash] === replica.hash) return { running: true, info: existing }
        // a standby never removes what a start made meanwhile (the start may be under way): it is that container
        if (existing !== undefined && body.Labels?.[LABELS.standby] === '1') return existing.State.Running ? { running: true, info: existing } : { id: existing.Id, running: false }
        if (existing !== undefined && isStandby(existing) && existing.Config.Labels[LABELS.hash] === replica.hash) return { id: existing.Id, running: false }
        await this.removeQuietly(name)
      }
    }
  }

  /**
   * the service network exists on the engine (created once, checked on each
   * start of the runtime); the node's DNS server and forwarder bind its gateway
   */
  async ensureNetwork (signal?: AbortSignal): Promise<void> {
    const network = this.network
    if (network === undefined) return
    this.networkReady ??= this.call(async s => await ensureNetwork(this.docker, network, this.owner, s), { signal })
    await this.networkReady.catch((err: unknown) => { this.networkReady = undefined; throw err })
  }

  private async hasBridge (signal?: AbortSignal): Promise<boolean> {
    const request = { path: '/networks/bridge', statusCodes: { 200: true, 404: 'no such network', 500: 'server error' } } as const
    this.bridge ??= this.call(async s => await dial(this.docker, request, s), { signal })
      .then(() => true, (err: unknown) => { if (statusCode(err) === 404) return false; throw err })
    return await this.bridge.catch((err: unknown) => { this.bridge = undefined; throw err })
  }

  /** inspect a container of this node; undefined when it is gone or not ours */
  private async inspect (id: string, signal?: AbortSignal): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      const info = await this.call(async s => await this.docker.getContainer(id).inspect({ abortSignal: s }), { signal })
      return ownedBy(info.Config.Labels, this.owner) ? info : undefined
    } catch (err) {
      if (statusCode(err) === 404) return undefined
      throw err
    }
  }

  /** remove a container of this node, if it is there, whatever the caller's signal says */
  private async removeQuietly (idOrName: string): Promise<void> {
    try {
      const info = await this.inspect(idOrName)
      if (info !== undefined) await this.call(async s => await this.docker.getContainer(info.Id).remove({ force: true, v: true, abortSignal: s } as Docker.ContainerRemoveOptions))
    } catch (err) {
      // quietly: the start that follows says what is wrong, if anything is
      log('removing %s failed: %s', idOrName, errorText(err))
    }
  }

  private async tolerate (codes: number[], action: () => Promise<void>): Promise<void> {
    try { await action() } catch (err) { if (!codes.includes(statusCode(err) ?? 0)) throw err }
  }

  private async call<T> (call: (signal: AbortSignal) => Promise<T>, options: { signal?: AbortSignal, timeoutMs?: number } = {}): Promise<T> {
    return await engineCall(this.ctx, call, { timeoutMs: this.callTimeoutMs, ...options })
  }
}
