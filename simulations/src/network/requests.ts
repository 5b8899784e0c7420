/**
 * Request/response and streamed responses over a direct link: the request
 * and every answer frame pay the link's latency plus serialization; a peer
 * with no open connection is dialled first (TCP, Noise and multistream
 * negotiation: two round trips), and the connection stays open
 * (connections.ts). A peer whose process is down but whose
 * host answers refuses at once (RST after one round trip); an unreachable
 * one (partition, vanished host) is noticed only by the timeout, as in
 * Libp2pMesh. A lost segment is what TCP makes of it: a retransmission
 * after a timeout (Network.transit), never a lost request. A dial costs
 * both processes the CPU of a connection's life (the `dial` step of a
 * scenario's `cpu:`, core/cpu-model.ts): the requester before its request
 * leaves, the peer before it reads it; past the connection limit every
 * probe of a member not connected pays it, since the trim closes the
 * connection again (node/src/host/connection-trim.ts).
 */
import { toError } from '@minga/protocol'
import type { AbortOptions } from '@minga/node/core'
import type { ModelledNetwork } from './modelled.js'
import type { SimMesh } from './sim-mesh.js'

/** a modelled request that failed: `code` says how (timeout, refused, unsupported, unknown-peer, aborted) */
export class SimRequestError extends Error {
  constructor (message: string, readonly code: 'timeout' | 'refused' | 'unsupported' | 'unknown-peer' | 'aborted') {
    super(message)
    this.name = 'SimRequestError'
  }
}

interface Call {
  to: number
  /** the request opens a connection (dials first) */
  dials: boolean
  /** one-way ms for a message of `bytes` */
  oneWay: (bytes: number) => number
  /** ms until the request reaches the peer */
  arrival: number
}

/** `connected`: the caller holds a connection to the peer besides the overlay's (no dial) */
export interface RequestOptions extends AbortOptions {
  connected?: boolean
}

function prepare (net: ModelledNetwork, from: SimMesh, peer: string, data: Uint8Array, connected = false): Call | SimRequestError {
  const to = net.indexOf.get(peer)
  if (to === undefined) return new SimRequestError(`No such peer ${peer}`, 'unknown-peer')
  const latency = net.links.latency(from.index, to)
  const oneWay = (bytes: number): number => net.transit(from.index, to, latency, bytes)
  const dial = connected || net.connected(from.index, to) ? 0 : 4 * latency
  net.traffic.requests++
  if (dial > 0) net.traffic.dials++
  net.traffic.send(from.index, 1, data.length)
  return { to, dials: dial > 0, oneWay, arrival: dial + oneWay(data.length) }
}

/** `fn` once `mesh`'s process has paid for the connection the call opens (`dial`), at once when it opens none */
function afterDial (mesh: SimMesh, call: Call, fn: () => void): void {
  if (call.dials) mesh.io(fn, 'dial')
  else fn()
}

/**
 * one request from `from` to `peer` over the modelled link (see above): the handler's answer, or SimRequestError (timeout, refused, unsupported, unknown-peer, aborted)
 */
export function sendRequest (net: ModelledNetwork, from: SimMesh, peer: string, protocol: string, data: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
  const { sim } = net
  return new Promise<Uint8Array>((resolve, reject) => {
    const call = prepare(net, from, peer, data, options.connected)
    if (call instanceof SimRequestError) { reject(call); return }
    let settled = false
    const finish = (err: Error | undefined, value?: Uint8Array): void => {
      if (settled || from.closed) return
      settled = true
      timeout.cancel()
      options.signal?.removeEventListener('abort', onAbort)
      if (err !== undefined) reject(err)
      else resolve(value!)
    }
    const onAbort = (): void => { finish(options.signal?.reason ?? new SimRequestError('Aborted', 'aborted')) }
    if (options.signal?.aborted === true) { reject(options.signal.reason); return }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    const timeout = sim.after(net.params.requestTimeout, () => { finish(new SimRequestError(`No answer from ${peer} within ${net.params.requestTimeout} ms`, 'timeout')) })
    const { to, oneWay } = call
    afterDial(from, call, () => sim.after(call.arrival, () => {
      const target = net.meshes[to]
      if (target === undefined || net.group[to] !== net.group[from.index]) {
        if (net.hostUp[to] === 1 && net.group[to] === net.group[from.index]) sim.after(oneWay(0), () => { finish(new SimRequestError(`Connection to ${peer} refused`, 'refused')) })
        return
      }
      if (!from.closed) net.keep(from.index, to)
      net.traffic.receive(to, 1, data.length)
      const handler = target.handlers.get(protocol)
      if (handler === undefined) {
        sim.after(oneWay(64), () => { finish(new SimRequestError(`${peer} does not support ${protocol}`, 'unsupported')) })
        return
      }
      // a stalled node handles the request when it resumes, and its caller reads the answer when it does
      afterDial(target, call, () => target.io(() => {
        handler(data, from.self).then(answer => {
          if (net.meshes[to] !== target) return
          net.traffic.send(to, 1, answer.length)
          sim.after(oneWay(answer.length), () => {
            if (!net.reachable(from.index, to)) return
            net.traffic.receive(from.index, 1, answer.length)
            from.io(() => { finish(undefined, answer) }, 'message')
          })
        }, (err: Error) => {
          sim.after(oneWay(64), () => { from.io(() => { finish(err) }, 'message') })
        })
      }, 'message'))
    }))
  })
}

export async function * openStream (net: ModelledNetwork, from: SimMesh, peer: string, protocol: string, data: Uint8Array, options: AbortOptions): AsyncIterable<Uint8Array> {
  const { sim } = net
  const call = prepare(net, from, peer, data)
  if (call instanceof SimRequestError) throw call
  const frames: Uint8Array[] = []
  let ended = false
  let failure: Error | undefined
  let wake: (() => void) | undefined
  const notify = (): void => { const w = wake; wake = undefined; w?.() }
  const controller = new AbortController()
  const onAbort = (): void => { failure ??= new SimRequestError('Aborted', 'aborted'); controller.abort(); notify() }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  let lastAt = 0
  let idle = sim.after(net.params.requestTimeout, () => { failure ??= new SimRequestError(`No answer from ${peer} within ${net.params.requestTimeout} ms`, 'timeout'); notify() })
  const deliver = (fn: () => void, bytes: number): void => {
    lastAt = Math.max(lastAt, sim.now() + call.oneWay(bytes))
    sim.at(lastAt, () => { if (net.reachable(from.index, call.to)) { idle.cancel(); fn(); notify() } })
  }
  afterDial(from, call, () => sim.after(call.arrival, () => {
    const target = net.meshes[call.to]
    if (target === undefined || net.group[call.to] !== net.group[from.index]) return
    if (!from.closed) net.keep(from.index, call.to)
    const handler = target.streamHandlers.get(protocol)
    if (handler === undefined) { deliver(() => { failure ??= new SimRequestError(`${peer} does not support ${protocol}`, 'unsupported') }, 64); return }
    const serve = async (): Promise<void> => {
      try {
        for await (const frame of handler(data, from.self, controller.signal)) {
          if (net.meshes[call.to] !== target) return
          net.traffic.send(call.to, 1, frame.length)
          deliver(() => { net.traffic.receive(from.index, 1, frame.length); frames.push(frame) }, frame.length)
        }
        deliver(() => { ended = true }, 0)
      } catch (err) {
        deliver(() => { failure ??= toError(err) }, 64)
      }
    }
    afterDial(target, call, () => { void serve() })
  }))
  try {
    for (;;) {
      if (frames.length > 0) { yield frames.shift()!; continue }
      if (failure !== undefined) throw failure
      if (ended) return
      await new Promise<void>(resolve => { wake = resolve })
      idle.cancel()
      idle = sim.after(net.params.requestTimeout, () => { failure ??= new SimRequestError('Stream went quiet', 'timeout'); notify() })
    }
  } finally {
    idle.cancel()
    controller.abort()
    options.signal?.removeEventListener('abort', onAbort)
  }
}
