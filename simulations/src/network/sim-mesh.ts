/**
 * One node process's `Mesh`: what the core calls, bound to the modelled
 * network. A new one is made for every incarnation of a node, so a killed
 * process's handlers and listeners die with it.
 */
import type { AbortOptions, GossipHandler, Mesh, PeerListener, ProbeResult, RequestHandler, StreamHandler, WorkStep } from '@minga/node/core'

/** what a node process's Mesh asks of the modelled network (Network implements it) */
export interface MeshNetwork {
  readonly peerIds: readonly string[]
  publish: (v: number, topic: string, data: Uint8Array) => void
  request: (from: SimMesh, peer: string, protocol: string, data: Uint8Array, options: AbortOptions) => Promise<Uint8Array>
  stream: (from: SimMesh, peer: string, protocol: string, data: Uint8Array, options: AbortOptions) => AsyncIterable<Uint8Array>
  probe: (from: SimMesh, peer: string) => Promise<ProbeResult>
  connections: (v: number) => string[]
  /** `v` holds a connection to `peer` */
  connectedTo: (v: number, peer: string) => boolean
  /** connections a node keeps open at most */
  readonly params: { readonly maxConnections: number }
  /** run a core callback; an exception is recorded, not fatal to the run */
  guard: (fn: () => void) => void
}

/** one node process's Mesh on the modelled network */
export class SimMesh implements Mesh {
  readonly self: string
  readonly topics = new Map<string, GossipHandler[]>()
  readonly handlers = new Map<string, RequestHandler>()
  readonly streamHandlers = new Map<string, StreamHandler>()
  private readonly peerListeners = new Set<PeerListener>()
  closed = false
  private readonly closing = new AbortController()
  /** hands what arrives to the node: at once, or when its stall ends, after the CPU its handling costs (`step`; NodeClock.io) */
  io: (fn: () => void, step?: WorkStep) => void = (fn) => { fn() }

  constructor (private readonly net: MeshNetwork, readonly index: number) {
    this.self = net.peerIds[index]
  }

  /** aborts when the process dies (its connections go with it) */
  get signal (): AbortSignal {
    return this.closing.signal
  }

  /** the process dies */
  close (): void {
    this.closed = true
    this.closing.abort(new Error('The node\'s process died'))
  }

  publish (topic: string, data: Uint8Array): void {
    if (!this.closed) this.net.publish(this.index, topic, data)
  }

  subscribe (topic: string, handler: GossipHandler): () => void {
    let list = this.topics.get(topic)
    if (list === undefined) this.topics.set(topic, list = [])
    list.push(handler)
    return () => {
      const at = list.indexOf(handler)
      if (at >= 0) list.splice(at, 1)
    }
  }

  request (peer: string, protocol: string, data: Uint8Array, options: AbortOptions = {}): Promise<Uint8Array> {
    return this.net.request(this, peer, protocol, data, options)
  }

  handle (protocol: string, handler: RequestHandler): void {
    this.handlers.set(protocol, handler)
  }

  stream (peer: string, protocol: string, data: Uint8Array, options: AbortOptions = {}): AsyncIterable<Uint8Array> {
    return this.net.stream(this, peer, protocol, data, options)
  }

  handleStream (protocol: string, handler: StreamHandler): void {
    this.streamHandlers.set(protocol, handler)
  }

  readonly probe = async (peer: string): Promise<ProbeResult> => await this.net.probe(this, peer)
  /** the modelled dial is answered by the host, not the process: the same answer */
  readonly probePort = this.probe

  connections (): string[] {
    return this.closed ? [] : this.net.connections(this.index)
  }

  readonly connectedTo = (peer: string): boolean => !this.closed && this.net.connectedTo(this.index, peer)

  get connectionLimit (): number {
    return this.net.params.maxConnections
  }

  onPeer (listener: PeerListener): () => void {
    this.peerListeners.add(listener)
    return () => { this.peerListeners.delete(listener) }
  }

  /** a gossip message arrives */
  deliver (topic: string, data: Uint8Array, from: string): void {
    const list = this.topics.get(topic)
    if (list === undefined) return
    this.io(() => { for (const handler of list.length === 1 ? list : list.slice()) this.net.guard(() => handler(data, from)) }, 'gossip')
  }

  /** a connection to `peer` opened or closed */
  peerEvent (type: 'connect' | 'disconnect', peer: string): void {
    this.io(() => { for (const listener of [...this.peerListeners]) this.net.guard(() => listener({ type, peer })) }, type === 'disconnect' ? 'close' : undefined)
  }
}
