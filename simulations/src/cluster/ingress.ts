/**
 * The routing mesh in the simulator: forwarded connections over the
 * modelled network, decided by the real core.
 *
 * - Every node process serves the forward protocol (its real id and wire
 *   messages): the answer is the core's `acceptForward` on that node's own
 *   `MeshRouteView` (a healthy local replica of a service it may forward
 *   to), then whether a container runs at the replica's address, as the
 *   daemon connects to the container before it answers `forward-ok`.
 * - An entry node forwards each client connection with the core's
 *   `Forwarder` (route choice `forwardOrder`: a local healthy replica
 *   first, the least loaded otherwise; the next replica when an attempt
 *   fails before any byte flowed; the hold while none takes it), on the
 *   node's clock, reading the node's view. Its dialer opens a forward as a
 *   request over the modelled link (network/requests.ts): the link's
 *   latency, serialization and loss; a dial (two round trips) to a node
 *   it holds no connection to; a refusal one round trip later when the
 *   node's process is dead but its host answers (kill -9: TCP RST); no
 *   answer at all when the host vanished or a partition cuts it off, so
 *   the attempt ends when the entry node's failure detector declares the
 *   node dead (`gone`) or after the Forwarder's attempt timeout (5 s).
 * - The client's bytes then cross the same link as one request and its
 *   answer. The replica's node must still be the process that accepted
 *   the forward and the container must still run, else the connection
 *   breaks: the request fails, as a request in flight on a dying node does.
 *   A process that dies under a forward or a request in flight resets the
 *   connection (`crashDisconnect` later) while its host lives; a vanished
 *   host just stops answering.
 *
 * One Forwarder per entry node process: its load counts and the nodes it
 * avoids die with the process, as the daemon's do.
 */
import { acceptForward, errorText, ForwardAttemptError, Forwarder, type ForwardDialer, type MemoryEngine, type VirtualClock } from '@minga/node/core'
import { decodeForwardAnswer, decodeForwardRequest, encodeMessage, ForwardProtocolError, protocols, type Endpoint, type ForwardErrorCode } from '@minga/protocol'
import { sendRequest, SimRequestError } from '../network/requests.js'
import type { Network } from '../network/network.js'
import type { SimMesh } from '../network/sim-mesh.js'
import type { IngressModel } from '../scenario/types.js'
import type { Incarnation, SimNode } from './sim-node.js'

/** how one attempt to hand a connection to a replica ended, as the entry node saw it */
export type AttemptOutcome = 'ok' | ForwardErrorCode | SimRequestError['code'] | ForwardAttemptError['code'] | 'error'

export interface Attempt {
  /** index of the node tried */
  node: number
  outcome: AttemptOutcome
  /** virtual ms the attempt took */
  ms: number
}

/** a connection that took a replica: where it goes */
export interface ForwardChannel {
  /** index of the node whose replica took it */
  node: number
  /** that node's process, when it is another node (the client's bytes must reach this one) */
  via?: SimMesh
  /** the container's address, when it is this node's own replica */
  address?: string
}

/** one client connection while the entry node forwards it: its attempts are noted here */
export interface ClientConnection {
  attempts: Attempt[]
  /** the client gave up */
  signal: AbortSignal
}

/** the address every node publishes on, as the clients see it (TEST-NET-1) */
const PUBLISHED_ADDRESS = '192.0.2.1'

export interface SimIngressInit {
  sim: VirtualClock
  net: Network
  meshId: string
  model: IngressModel
  /** `org/name` of the model's service */
  service: string
}

/** the routing mesh of a scenario with clients (see above) */
export class SimIngress {
  readonly protocol: string
  readonly service: string
  private readonly dataProtocol: string
  private readonly forwarders = new WeakMap<SimMesh, Forwarder<ForwardChannel>>()
  /** per entry process: the process of each node it dialled (a connection holds while both live) */
  private readonly dialed = new WeakMap<SimMesh, Map<number, SimMesh>>()
  /** connections being forwarded, by entry node and client endpoint */
  private readonly pending = new Map<string, ClientConnection>()

  constructor (private readonly init: SimIngressInit) {
    this.protocol = protocols.forward(init.meshId)
    this.dataProtocol = `${this.protocol}#bytes`
    this.service = init.service
  }

  /** a node process starts: it serves the forward protocol */
  serve (node: SimNode): void {
    const incarnation = node.current
    if (incarnation === undefined) return
    /** forwards this process accepted whose client bytes have not come yet: key → container address */
    const accepted = new Map<string, string>()
    incarnation.mesh.handle(this.protocol, async (data, from) => this.answerForward(incarnation, accepted, data, from))
    incarnation.mesh.handle(this.dataProtocol, async (data, from) => await this.answerBytes(incarnation, accepted, data, from))
  }

  /**
   * One client connection to the published port on `entry`, carrying one
   * request and its answer. Resolves with the index of the node whose
   * replica answered; rejects with why the client got no answer (also when
   * `connection.signal` aborts)
   */
  async request (entry: SimNode, client: Endpoint, connection: ClientConnection): Promise<number> {
    const { model } = this.init
    const incarnation = entry.current
    // the SYN reaches the node; nothing listens while its process is dead
    await this.sleep(model.clientLatency, connection.signal)
    if (incarnation === undefined || entry.current !== incarnation) {
      await this.sleep(model.clientLatency, connection.signal)
      throw new Error('Connection refused: minga does not run on the node')
    }
    const signal = AbortSignal.any([connection.signal, incarnation.mesh.signal])
    await this.sleep(model.clientLatency, signal)
    const key = this.keyOf(incarnation.mesh.self, client)
    this.pending.set(key, connection)
    let forwarded
    try {
      forwarded = await abortable(this.forwarderOf(incarnation).connect({ service: this.service, port: model.port, via: 'port', proxyProtocol: false, client, local: { address: PUBLISHED_ADDRESS, port: model.port } }, { signal }), signal)
    } finally {
      this.pending.delete(key)
    }
    try {
      // the request reaches the node, crosses to the replica, and its answer comes back to the client
      await this.sleep(model.clientLatency, signal)
      await abortable(this.exchange(incarnation, forwarded.channel, client, signal), signal)
      await this.sleep(model.clientLatency, signal)
      return forwarded.channel.node
    } finally {
      forwarded.release()
    }
  }

  private forwarderOf (incarnation: Incarnation): Forwarder<ForwardChannel> {
    let forwarder = this.forwarders.get(incarnation.mesh)
    if (forwarder === undefined) {
      const routes = incarnation.core.routes
      forwarder = new Forwarder<ForwardChannel>({
        self: incarnation.mesh.self,
        clock: incarnation.clock,
        replicas: { healthy: service => routes.healthy(service), changed: async signal => await routes.changed(signal) },
        dialer: this.dialer(incarnation)
      })
      this.forwarders.set(incarnation.mesh, forwarder)
    }
    return forwarder
  }

  private dialer (incarnation: Incarnation): ForwardDialer<ForwardChannel> {
    const { net, sim } = this.init
    const mesh = incarnation.mesh
    return {
      local: async (target) => {
        const connection = this.pending.get(this.keyOf(mesh.self, target.client))
        const address = incarnation.core.routes.local(target.service).find(r => r.replica === target.replica)?.address
        const ok = address !== undefined && runningAt(incarnation.engine, address)
        connection?.attempts.push({ node: mesh.index, outcome: ok ? 'ok' : 'refused', ms: 0 })
        if (!ok) throw new Error(`Replica ${target.service}#${target.replica} does not accept on this node`)
        return { node: mesh.index, address }
      },
      remote: async (node, request, options) => {
        const to = net.indexOf.get(node)
        if (to === undefined) throw new SimRequestError(`No such peer ${node}`, 'unknown-peer')
        const connection = this.pending.get(this.keyOf(mesh.self, request.client))
        const started = sim.now()
        const dialed = this.dialedBy(mesh)
        try {
          const peer = net.meshes[to]
          const answer = await this.resetOnDeath(sendRequest(net, mesh, node, this.protocol, encodeMessage(request), { signal: options.signal, connected: dialed.get(to) === peer && peer !== undefined }), mesh.index, peer, to)
          // any answer means a connection now holds, whatever the answer says
          const via = net.meshes[to]
          if (via !== undefined) dialed.set(to, via)
          decodeForwardAnswer(answer)
          connection?.attempts.push({ node: to, outcome: 'ok', ms: sim.now() - started })
          return { node: to, via }
        } catch (err) {
          connection?.attempts.push({ node: to, outcome: outcomeOf(err, options.signal, connection), ms: sim.now() - started })
          throw err
        }
      }
    }
  }

  /** the client's bytes to the replica and its answer back */
  private async exchange (incarnation: Incarnation, channel: ForwardChannel, client: Endpoint, signal: AbortSignal): Promise<void> {
    const { net, model } = this.init
    if (channel.via === undefined) {
      await this.sleep(model.serve, signal)
      if (channel.address === undefined || !runningAt(incarnation.engine, channel.address)) throw new Error('Connection reset: the container closed it')
      return
    }
    const tag = new TextEncoder().encode(`${client.address}:${client.port}`)
    const bytes = new Uint8Array(Math.max(model.requestBytes, tag.length + 1))
    bytes.set(tag)
    await this.resetOnDeath(sendRequest(net, incarnation.mesh, net.peerIds[channel.node], this.dataProtocol, bytes, { signal, connected: true }), incarnation.mesh.index, channel.via, channel.node)
  }

  /**
   * `work` on a connection to `peer`, node `to`'s process, which fails when
   * that process dies while its host lives (kill -9: the kernel resets its
   * connections, seen when the reset reaches `from`: net.crashClose); a host that vanishes with it
   * sends nothing, and `work` runs on to its own timeout
   */
  private async resetOnDeath<T> (work: Promise<T>, from: number, peer: SimMesh | undefined, to: number): Promise<T> {
    if (peer === undefined) return await work
    const { net, sim } = this.init
    let onDeath!: () => void
    const reset = new Promise<never>((_resolve, reject) => {
      onDeath = () => {
        sim.after(net.crashClose(to, from), () => {
          if (net.hostUp[to] === 1) reject(new SimRequestError('Stream reset: the node\'s process died', 'refused'))
        })
      }
      if (peer.signal.aborted) onDeath()
      else peer.signal.addEventListener('abort', onDeath, { once: true })
    })
    reset.catch(() => {})
    try {
      return await Promise.race([work, reset])
    } finally {
      peer.signal.removeEventListener('abort', onDeath)
    }
  }

  /** the replica's node: may this forward come here, and does its container accept? */
  private answerForward (incarnation: Incarnation, accepted: Map<string, string>, data: Uint8Array, from: string): Uint8Array {
    let request
    try {
      request = decodeForwardRequest(data)
    } catch (err) {
      return refusal('bad-request', errorText(err))
    }
    const verdict = acceptForward(incarnation.core.routes, request, from)
    if (!verdict.ok) return refusal(verdict.code, verdict.message)
    if (!runningAt(incarnation.engine, verdict.address)) return refusal('refused', `Replica ${request.service}#${verdict.replica} did not accept on port ${request.port}`)
    accepted.set(this.keyOf(from, request.client), verdict.address)
    return encodeMessage({ type: 'forward-ok', replica: verdict.replica })
  }

  /** the replica's node: the client's bytes of an accepted forward reach the container, whose answer goes back */
  private async answerBytes (incarnation: Incarnation, accepted: Map<string, string>, data: Uint8Array, from: string): Promise<Uint8Array> {
    const end = data.indexOf(0)
    const key = `${from}/${new TextDecoder().decode(data.subarray(0, end < 0 ? data.length : end))}`
    const address = accepted.get(key)
    accepted.delete(key)
    if (address === undefined) throw new SimRequestError('Stream reset: no forward was accepted for it here', 'refused')
    await this.sleep(this.init.model.serve)
    if (!runningAt(incarnation.engine, address) || incarnation.mesh.closed) throw new SimRequestError('Stream reset: the container closed the connection', 'refused')
    return new Uint8Array(this.init.model.answerBytes)
  }

  private dialedBy (mesh: SimMesh): Map<number, SimMesh> {
    let map = this.dialed.get(mesh)
    if (map === undefined) this.dialed.set(mesh, map = new Map())
    return map
  }

  private keyOf (entry: string, client: Endpoint): string {
    return `${entry}/${client.address}:${client.port}`
  }

  private async sleep (ms: number, signal?: AbortSignal): Promise<void> {
    await this.init.sim.sleep(ms, signal)
  }
}

/** does a container run at `address` on this host (the forwarder's connect to it) */
function runningAt (engine: MemoryEngine, address: string): boolean {
  return engine.all().some(c => c.state === 'running' && engine.snapshot(c).address === address)
}

function refusal (code: ForwardErrorCode, message: string): Uint8Array {
  return encodeMessage({ type: 'error', code, message: message.slice(0, 400) })
}

function outcomeOf (err: unknown, signal: AbortSignal, connection: ClientConnection | undefined): AttemptOutcome {
  if (signal.aborted) return connection?.signal.aborted === true ? 'aborted' : signal.reason instanceof ForwardAttemptError ? signal.reason.code : 'timeout'
  if (err instanceof ForwardProtocolError) return err.code as ForwardErrorCode
  if (err instanceof SimRequestError) return err.code
  return 'error'
}

/** `work`, or the signal's reason as soon as it aborts (a dead process's pending requests never settle) */
async function abortable<T> (work: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted()
  let onAbort!: () => void
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([work, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
    work.catch(() => {})
  }
}
