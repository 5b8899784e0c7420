/**
 * The routing mesh's forwarding decision, sans I/O: for one accepted
 * connection, try the service's healthy replicas in `forwardOrder` until
 * one takes it — a local one by connecting to its container, a remote one
 * by opening a forward stream to its node, which answers only once it is
 * connected to the container. A failure before any byte of the client
 * flowed costs nothing but the attempt: the next replica is tried. With no
 * replica left, the connection waits (the client sees a slow connect, not
 * a refusal) until the view of the mesh changes — a replica turned healthy,
 * a dead node was noticed — and tries again, for at most `holdMs`. That
 * wait is what carries a client across a failover.
 *
 * The daemon binds `ForwardDialer` to TCP sockets and libp2p streams; the
 * simulator to its modelled network.
 */
import { ForwardAttemptError, NoReplicaError } from '../../errors.js'
import type { Clock } from '../clock.js'
import { errorText } from '../logger.js'
import { forwardOrder, type ReplicaLocation } from './choose.js'
import { ForwardProtocolError, type Endpoint, type ForwardRequestMessage as ForwardRequest, type ForwardVia } from '@minga/protocol'

export interface ReplicaDirectory {
  /** healthy replicas of `service` (`org/name`), as this node sees them now */
  healthy: (service: string) => ReplicaLocation[]
  /** resolves when what `healthy` says may have changed; rejects when the signal aborts */
  changed: (signal: AbortSignal) => Promise<void>
}

export interface LocalTarget {
  service: string
  replica: number
  /** container port */
  port: number
  proxyProtocol: boolean
  client: Endpoint
  local: Endpoint
}

/** both reject when the signal aborts, closing whatever they opened */
export interface ForwardDialer<C> {
  /** connect to a container of this node; rejects when it does not accept */
  local: (target: LocalTarget, options: { signal: AbortSignal }) => Promise<C>
  /** open a forward stream to `node` and wait for its answer; rejects with ForwardProtocolError when it refuses */
  remote: (node: string, request: ForwardRequest, options: { signal: AbortSignal }) => Promise<C>
}

export interface ConnectRequest {
  service: string
  /** container port */
  port: number
  via: ForwardVia
  caller?: string
  host?: string
  proxyProtocol: boolean
  client: Endpoint
  local: Endpoint
}

export interface Forwarded<C> {
  channel: C
  node: string
  replica: number
  /** call when the connection ends: it no longer counts as load on its node */
  release: () => void
}

export interface ForwarderComponents<C> {
  /** this node's peer id */
  self: string
  clock: Clock
  replicas: ReplicaDirectory
  dialer: ForwardDialer<C>
}

export interface ForwarderInit {
  /** how long a connection waits for a replica when none takes it (default 30 s) */
  holdMs?: number
  /** how long one attempt may take before the next replica is tried (default 5 s) */
  attemptMs?: number
  /** how long a node that failed an attempt is tried last (default 10 s) */
  avoidMs?: number
}

const RETRY_FIRST_MS = 50
const RETRY_MAX_MS = 1000

export class Forwarder<C> {
  readonly holdMs: number
  readonly attemptMs: number
  readonly avoidMs: number
  /** connections forwarded to each node now */
  readonly load = new Map<string, number>()
  private readonly components: ForwarderComponents<C>
  private readonly failedAt = new Map<string, number>()
  private turn = 0

  constructor (components: ForwarderComponents<C>, init: ForwarderInit = {}) {
    this.components = components
    this.holdMs = init.holdMs ?? 30_000
    this.attemptMs = init.attemptMs ?? 5_000
    this.avoidMs = init.avoidMs ?? 10_000
  }

  /**
   * Connect `request` to a healthy replica. Rejects with NoReplicaError
   * when none took it within `holdMs`, with ForwardProtocolError when a
   * replica's node refused it as forbidden or malformed (another would
   * too), or with the signal's reason
   */
  async connect (request: ConnectRequest, options: { signal?: AbortSignal } = {}): Promise<Forwarded<C>> {
    const { clock, replicas } = this.components
    const deadline = clock.now() + this.holdMs
    const failures: string[] = []
    let wait = RETRY_FIRST_MS
    while (true) {
      options.signal?.throwIfAborted()
      for (const target of this.order(request.service)) {
        const channel = await this.attempt(target, request, failures, options.signal)
        if (channel !== undefined) return this.hold(channel, target)
      }
      const left = deadline - clock.now()
      if (left <= 0) {
        const why = failures.length === 0 ? 'none is healthy' : `tried: ${[...new Set(failures)].slice(-3).join('; ')}`
        throw new NoReplicaError(`No replica of ${request.service} took the connection within ${Math.round(this.holdMs / 1000)} s (${why})`)
      }
      // a change of the view ends the wait early; the back-off covers a replica that is healthy but not accepting yet
      const pause = new AbortController()
      const stop = (): void => pause.abort()
      options.signal?.addEventListener('abort', stop, { once: true })
      try {
        await Promise.race([replicas.changed(pause.signal), clock.sleep(Math.min(wait, left), pause.signal)])
      } catch {
      } finally {
        pause.abort()
        options.signal?.removeEventListener('abort', stop)
      }
      wait = Math.min(wait * 2, RETRY_MAX_MS)
    }
  }

  private order (service: string): ReplicaLocation[] {
    const now = this.components.clock.now()
    const avoid = new Set<string>()
    for (const [node, at] of this.failedAt) {
      if (now - at < this.avoidMs) avoid.add(node)
      else this.failedAt.delete(node)
    }
    return forwardOrder(this.components.replicas.healthy(service), { self: this.components.self, turn: this.turn++, load: this.load, avoid })
  }

  /**
   * One try; undefined when it failed in a way another replica may not.
   * It ends after `attemptMs` without an answer, or as soon as the view
   * stops listing a healthy replica on the target's node: a node declared
   * dead whose host went silent (a partition, a vanished host) answers
   * nothing, and the failure detector usually says so before the timeout
   */
  private async attempt (target: ReplicaLocation, request: ConnectRequest, failures: string[], signal?: AbortSignal): Promise<C | undefined> {
    const { self, clock, dialer } = this.components
    const controller = new AbortController()
    const onAbort = (): void => controller.abort(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    const timer = clock.after(this.attemptMs, () => controller.abort(new ForwardAttemptError('timeout', `no answer within ${this.attemptMs} ms`)))
    const watching = new AbortController()
    if (target.node !== self) void this.abortWhenGone(target, request.service, controller, watching.signal)
    try {
      if (target.node === self) {
        return await dialer.local({ service: request.service, replica: target.replica, port: request.port, proxyProtocol: request.proxyProtocol, client: request.client, local: request.local }, { signal: controller.signal })
      }
      return await dialer.remote(target.node, {
        type: 'forward',
        service: request.service,
        replica: target.replica,
        port: request.port,
        via: request.via,
        ...(request.caller === undefined ? {} : { caller: request.caller }),
        ...(request.host === undefined ? {} : { host: request.host }),
        client: request.client,
        local: request.local
      }, { signal: controller.signal })
    } catch (err) {
      signal?.throwIfAborted()
      if (err instanceof ForwardProtocolError && (err.code === 'forbidden' || err.code === 'bad-request')) throw err
      this.failedAt.set(target.node, clock.now())
      failures.push(`${target.node.slice(-8)}#${target.replica}: ${errorText(controller.signal.aborted ? controller.signal.reason : err)}`)
      return undefined
    } finally {
      timer.cancel()
      watching.abort()
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** aborts `controller` once the view lists no healthy replica of `service` on the target's node; ends when `until` aborts */
  private async abortWhenGone (target: ReplicaLocation, service: string, controller: AbortController, until: AbortSignal): Promise<void> {
    const { replicas } = this.components
    while (!until.aborted && !controller.signal.aborted) {
      try {
        await replicas.changed(until)
      } catch {
        return
      }
      if (!replicas.healthy(service).some(r => r.node === target.node)) {
        controller.abort(new ForwardAttemptError('gone', `${target.node.slice(-8)} left the mesh's view (declared dead) before it answered`))
      }
    }
  }

  private hold (channel: C, target: ReplicaLocation): Forwarded<C> {
    this.load.set(target.node, (this.load.get(target.node) ?? 0) + 1)
    this.failedAt.delete(target.node)
    let released = false
    return {
      channel,
      node: target.node,
      replica: target.replica,
      release: () => {
        if (released) return
        released = true
        const left = (this.load.get(target.node) ?? 1) - 1
        if (left <= 0) this.load.delete(target.node)
        else this.load.set(target.node, left)
      }
    }
  }
}
