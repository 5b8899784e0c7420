/**
 * An in-process network for core tests: a `Mesh` per node that delivers
 * on the next turn (of the event loop, or of a virtual clock), gated the
 * way the daemon's connection gater gates (members, not revoked), with
 * partitions, dead processes (a probe is refused) and silent hosts (a
 * probe gets no answer). Raw access (`inject`) lets a test speak as any
 * peer, member or not, as a hostile one would. It passes the Mesh suite
 * (mesh-local.test.ts).
 */
import type { GossipHandler, Mesh, PeerListener, ProbeResult, RequestHandler, StreamHandler } from '../src/core/index.js'

/** an in-process network of LocalMeshes; `schedule` delivers (next turn of the event loop, or a virtual clock's next ms) */
export class LocalNet {
  readonly meshes = new Map<string, LocalMesh>()

  constructor (readonly schedule: (fn: () => void) => void = (fn) => { setImmediate(fn) }) {}

  /** messages delivered, by topic, for flood accounting */
  delivered = 0

  add (self: string, admits: (peer: string) => boolean): LocalMesh {
    const mesh = new LocalMesh(this, self, admits)
    this.meshes.set(self, mesh)
    for (const other of this.meshes.values()) if (other !== mesh && mesh.link(other)) { other.emit('connect', self); mesh.emit('connect', other.self) }
    return mesh
  }

  /**
   * publish as `from` (any peer id, authenticated as such) to every mesh
   * whose gate admits it, or to every mesh when `relayed` (gossip that
   * reaches a node through members, with `from` still the original sender)
   */
  inject (from: string, topic: string, data: Uint8Array, options: { relayed?: boolean } = {}): void {
    for (const mesh of this.meshes.values()) if (mesh.self !== from && (options.relayed === true || mesh.admits(from))) mesh.deliver(topic, data, from)
  }

  /** cut every link between the two groups (each side still runs), or heal every cut with `heal()` */
  partition (a: string[], b: string[]): void {
    for (const x of a) for (const y of b) { this.meshes.get(x)?.cut.add(y); this.meshes.get(y)?.cut.add(x) }
    this.regate()
  }

  heal (): void {
    for (const mesh of this.meshes.values()) mesh.cut.clear()
    for (const a of this.meshes.values()) for (const b of this.meshes.values()) if (a !== b && !a.linked.has(b.self) && a.link(b)) { a.emit('connect', b.self); b.emit('connect', a.self) }
  }

  /** re-evaluate gates: hang up links a side no longer admits */
  regate (): void {
    for (const a of this.meshes.values()) {
      for (const b of this.meshes.values()) {
        if (a === b) continue
        const linked = a.linked.has(b.self)
        if (linked && !a.link(b)) { a.linked.delete(b.self); a.emit('disconnect', b.self) }
      }
    }
  }
}

export class LocalMesh implements Mesh {
  readonly linked = new Set<string>()
  /** peers this one is cut off from (a partition) */
  readonly cut = new Set<string>()
  private readonly topics = new Map<string, Set<GossipHandler>>()
  private readonly handlers = new Map<string, RequestHandler>()
  private readonly streams = new Map<string, StreamHandler>()
  private readonly peerListeners = new Set<PeerListener>()
  /** the process is gone: nothing is delivered, and a probe is refused */
  down = false
  /** the host is gone too (or unreachable): a probe gets no answer */
  silent = false

  constructor (private readonly net: LocalNet, readonly self: string, readonly admits: (peer: string) => boolean) {}

  /** this node's handler of `protocol` answers `data` from `from` (any peer id, as if the network authenticated it) */
  async answer (protocol: string, data: Uint8Array, from: string): Promise<Uint8Array> {
    const handler = this.handlers.get(protocol)
    if (handler === undefined) throw new Error(`no handler for ${protocol}`)
    return await handler(data, from)
  }

  link (other: LocalMesh): boolean {
    const ok = !this.down && !other.down && !this.cut.has(other.self) && this.admits(other.self) && other.admits(this.self)
    if (ok) { this.linked.add(other.self); other.linked.add(this.self) }
    return ok
  }

  emit (type: 'connect' | 'disconnect', peer: string): void {
    for (const listener of this.peerListeners) listener({ type, peer })
  }

  deliver (topic: string, data: Uint8Array, from: string): void {
    const handlers = this.topics.get(topic)
    if (handlers === undefined || this.down) return
    this.net.delivered++
    this.net.schedule(() => { for (const handler of handlers) handler(data, from) })
  }

  private peers (): LocalMesh[] {
    return [...this.net.meshes.values()].filter(m => m !== this && !this.down && !m.down && !this.cut.has(m.self) && this.admits(m.self) && m.admits(this.self))
  }

  publish (topic: string, data: Uint8Array): void {
    for (const peer of this.peers()) peer.deliver(topic, data, this.self)
  }

  subscribe (topic: string, handler: GossipHandler): () => void {
    let set = this.topics.get(topic)
    if (set === undefined) this.topics.set(topic, set = new Set())
    set.add(handler)
    return () => set.delete(handler)
  }

  async request (peer: string, protocol: string, data: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const target = this.peers().find(m => m.self === peer)
    const handler = target?.handlers.get(protocol)
    if (target === undefined || handler === undefined) throw new Error(`no connection to ${peer} for ${protocol}`)
    await new Promise<void>(resolve => { this.net.schedule(resolve) })
    return await abortable(handler(data, this.self), options.signal)
  }

  handle (protocol: string, handler: RequestHandler): void { this.handlers.set(protocol, handler) }

  async * stream (peer: string, protocol: string, data: Uint8Array, options: { signal?: AbortSignal } = {}): AsyncIterable<Uint8Array> {
    const target = this.peers().find(m => m.self === peer)
    const handler = target?.streams.get(protocol)
    if (target === undefined || handler === undefined) throw new Error(`no connection to ${peer} for ${protocol}`)
    yield * handler(data, this.self, options.signal ?? new AbortController().signal)
  }

  handleStream (protocol: string, handler: StreamHandler): void { this.streams.set(protocol, handler) }
  connections (): string[] { return this.peers().map(m => m.self) }
  /** peers this mesh probed, with what each probe answered */
  readonly probed: Array<{ peer: string, result: ProbeResult }> = []
  readonly probe = async (peer: string): Promise<ProbeResult> => {
    await new Promise<void>(resolve => { this.net.schedule(resolve) })
    const target = this.net.meshes.get(peer)
    const result: ProbeResult = target === undefined || target.silent || this.cut.has(peer) ? 'unknown' : target.down ? 'refused' : 'up'
    this.probed.push({ peer, result })
    return result
  }

  onPeer (listener: PeerListener): () => void {
    this.peerListeners.add(listener)
    return () => this.peerListeners.delete(listener)
  }
}

/** the promise, or its signal's reason once the signal aborts first */
async function abortable<T> (promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return await promise
  signal.throwIfAborted()
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}
