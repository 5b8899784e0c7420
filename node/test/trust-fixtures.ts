/**
 * Core-level trust tests: several NodeCores over an in-process mesh (a
 * `Mesh` that delivers on the next turn of the event loop), real time with
 * short timing, memory runtimes. Each node's gate admits peers the way the
 * daemon's connection gater does (members, not revoked), so a removed node
 * is cut off as it would be in production. Raw access (`inject`) lets a
 * test speak as any peer, member or not, as a hostile one would.
 */
import {
  generateIdentity, keys, MemoryPersistence, signEntry, State, type Entry, type Identity, type Json, type Resources
} from '@minga/protocol'
import { NodeCore, systemClock, MemoryRuntime, type GossipHandler, type Mesh, type PeerListener, type ProbeResult, type RequestHandler, type StreamHandler, type ReplicaSpec, type Runtime, type Timing } from '../src/index.js'

/** fast heartbeats and sync, but a failure detector lenient enough for a loaded CI machine */
export const FAST: Partial<Timing> = { heartbeatInterval: 100, suspectAfter: 1500, deadAfter: 3000, downConfirm: 1000, syncInterval: 300, reconcileInterval: 500, reconcileDebounce: 20 }

export class LocalNet {
  readonly meshes = new Map<string, LocalMesh>()
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
    setImmediate(() => { for (const handler of handlers) handler(data, from) })
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
    await new Promise(resolve => setImmediate(resolve))
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
    await new Promise(resolve => setImmediate(resolve))
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

/** a runtime that remembers what each start was given, secrets included */
export class RecordingRuntime extends MemoryRuntime {
  readonly started: ReplicaSpec[] = []
  override async start (replica: ReplicaSpec, options?: Parameters<Runtime['start']>[1]): ReturnType<Runtime['start']> {
    const container = await super.start(replica, options)
    this.started.push(replica)
    return container
  }
}

/** a runtime whose stops take `stopMs`, like a container that uses its grace period, or last until `gate` resolves */
export class SlowStopRuntime extends RecordingRuntime {
  stopMs = 0
  gate?: Promise<void>
  /** stops under way */
  stopping = 0
  override async stop (id: string): Promise<void> {
    this.stopping++
    try {
      await (this.gate ?? new Promise(resolve => setTimeout(resolve, this.stopMs)))
      await super.stop(id)
    } finally {
      this.stopping--
    }
  }
}

export interface TestNode {
  identity: Identity
  org: string
  state: State
  core: NodeCore
  runtime: RecordingRuntime
  mesh: LocalMesh
  persistence: MemoryPersistence
}

export interface NodeOptions {
  org: string
  acceptOrgs?: string[]
  shareForOthers?: number
  labels?: Record<string, string>
  capacity?: Resources
  /** over FAST */
  timing?: Partial<Timing>
  /** default: a RecordingRuntime */
  runtime?: RecordingRuntime
  /** this node's clock runs this many ms ahead of the others (negative: behind) */
  clockOffsetMs?: number
}

export const MESH_ID = 'trust-mesh'

export class TestCluster {
  readonly net = new LocalNet()
  readonly nodes: TestNode[] = []
  /** the genesis and admission entries every node starts with */
  readonly genesis: Entry[] = []
  private root!: Identity
  private seq = new Map<string, number>()
  private orgs = new Set<string>()

  static async start (specs: Array<string | NodeOptions>): Promise<TestCluster> {
    const cluster = new TestCluster()
    const options = specs.map(s => typeof s === 'string' ? { org: s } : s)
    const identities = await Promise.all(options.map(async () => await generateIdentity()))
    cluster.root = identities[0]
    cluster.sign(cluster.root, 'mesh', { id: MESH_ID, root: cluster.root.peerId, created: Date.now() })
    cluster.sign(cluster.root, keys.member(cluster.root.peerId), { org: options[0].org })
    cluster.sign(cluster.root, keys.org(options[0].org), { name: options[0].org })
    cluster.orgs.add(options[0].org)
    for (let i = 1; i < options.length; i++) cluster.admit(identities[i], options[i].org)
    for (let i = 0; i < options.length; i++) await cluster.boot(identities[i], options[i])
    return cluster
  }

  /** an entry signed by `who` with its next seq (genesis and test writes) */
  sign (who: Identity, key: string, value: Json | undefined): Entry {
    const seq = (this.seq.get(who.peerId) ?? 0) + 1
    this.seq.set(who.peerId, seq)
    const hlc = `${String(Date.now()).padStart(15, '0')}.${String(seq).padStart(6, '0')}`
    const base = { author: who.peerId, seq, hlc, key }
    const entry = signEntry(MESH_ID, who, value === undefined ? { ...base, tombstone: true } : { ...base, value })
    if (key === 'mesh' || key.startsWith('member/') || key.startsWith('org/') || key.startsWith('invite/')) this.genesis.push(entry)
    return entry
  }

  private admit (who: Identity, org: string): void {
    const invite = (this.genesis.length).toString(16).padStart(16, '0')
    const newOrg = !this.orgs.has(org)
    // the root's org may only invite to itself or to a new org: a new-org invite serves every admission here
    this.sign(this.root, keys.invite(invite), { issuerOrg: this.orgOf(this.root), newOrg: true, secretHash: 'f'.repeat(64), expires: Date.now() + 3_600_000, uses: 1 })
    this.sign(this.root, keys.member(who.peerId), { org, invite })
    if (newOrg) this.sign(this.root, keys.org(org), { name: org, invite })
    this.orgs.add(org)
  }

  private orgOf (who: Identity): string {
    return (this.genesis.find(e => e.key === keys.member(who.peerId))!.value as { org: string }).org
  }

  async boot (identity: Identity, options: NodeOptions, persistence = new MemoryPersistence()): Promise<TestNode> {
    const offset = options.clockOffsetMs ?? 0
    const clock = offset === 0 ? systemClock : { ...systemClock, now: () => Date.now() + offset }
    const state = await State.open({ meshId: MESH_ID, root: this.root.peerId, persistence, now: clock.now })
    await state.merge(this.genesis)
    const admits = (peer: string): boolean => state.memberOrg(peer) !== undefined && state.revoked(peer) === undefined
    const mesh = this.net.add(identity.peerId, admits)
    const runtime = options.runtime ?? new RecordingRuntime({ meshId: MESH_ID, nodeId: identity.peerId })
    const core = new NodeCore({
      identity,
      state,
      mesh,
      clock,
      runtime,
      version: 'test',
      capacity: options.capacity ?? { cpu: 4000, memory: 8 * 1024 ** 3 },
      labels: options.labels,
      acceptOrgs: options.acceptOrgs,
      shareForOthers: options.shareForOthers,
      timing: { ...FAST, ...options.timing }
    })
    state.subscribe((applied) => { if (applied.some(e => e.key.startsWith('revoked/'))) this.net.regate() })
    await core.start()
    const node = { identity, org: options.org, state, core, runtime, mesh, persistence }
    this.nodes.push(node)
    return node
  }

  /** until every node holds every node's record and hears from all of them */
  async settled (): Promise<void> {
    const n = this.nodes.length
    await waitFor(() => this.nodes.every(a => a.core.liveness.confirmed() === n && this.nodes.every(b => a.state.value(keys.node(b.identity.peerId)) !== undefined)), 'everyone knows and hears from everyone')
  }

  async stop (): Promise<void> {
    for (const node of this.nodes) {
      node.mesh.down = true
      await node.core.stop()
      await node.runtime.close()
    }
  }
}

export async function waitFor<T> (predicate: () => T | Promise<T>, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await predicate()
      if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>
    } catch (err) {
      last = err
    }
    await new Promise(resolve => setTimeout(resolve, 25))
  }
  throw new Error(`Gave up waiting: ${what}${last === undefined ? '' : ` (${String((last as Error)?.message ?? last)})`}`)
}

export function spec (org: string, name: string, extra: Record<string, unknown> = {}): any {
  return {
    name,
    org,
    image: 'minga/busybox:1',
    env: {},
    replicas: 1,
    resources: { cpu: 100, memory: 32 * 1024 * 1024 },
    spread: 'org',
    constraints: {},
    ports: [],
    update: { maxUnavailable: 1 },
    singleton: false,
    volumes: [],
    ...extra
  }
}
