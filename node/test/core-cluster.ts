/**
 * Core-level tests: several NodeCores over an in-process mesh (local-mesh.ts)
 * on one virtual clock, memory runtimes, and each node's gate admitting
 * peers the way the daemon's connection gater does (members, not revoked),
 * so a removed node is cut off as it would be in production.
 */
import {
  defaultSpec, generateIdentity, keys, MemoryPersistence, signEntry, State, type Entry, type Identity, type Json, type Resources, type ServiceSpec
} from '@minga/protocol'
import { inviteValue } from '@minga/protocol/testing'
import { NodeClock, NodeCore, MemoryRuntime, VirtualClock, type Clock, type MemoryRuntimeInit, type NodeCoreInit, type ReplicaSpec, type Runtime, type MembershipConfig, type SourceReader, type Timing } from '../src/core/index.js'
import { LocalNet, type LocalMesh } from './local-mesh.js'

export { LocalMesh, LocalNet } from './local-mesh.js'

/** a runtime that remembers what each start was given, secrets included; its delays run on the running cluster's clock */
export class RecordingRuntime extends MemoryRuntime {
  constructor (init: MemoryRuntimeInit) {
    super({ now: () => running?.now() ?? Date.now(), delay: async (ms, signal) => { await sleepOn(ms, signal) }, ...init })
  }

  readonly started: ReplicaSpec[] = []
  override async start (replica: ReplicaSpec, options?: Parameters<Runtime['start']>[1]): ReturnType<Runtime['start']> {
    const container = await super.start(replica, options)
    this.started.push(replica)
    return container
  }
}

/** a runtime whose stops take `stopMs` (by the cluster's clock), like a container that uses its grace period, or last until `gate` resolves */
export class SlowStopRuntime extends RecordingRuntime {
  stopMs = 0
  gate?: Promise<void>
  /** stops under way */
  stopping = 0
  override async stop (id: string): Promise<void> {
    this.stopping++
    try {
      await (this.gate ?? sleepOn(this.stopMs))
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
  /** over the production defaults (DEFAULT_TIMING) */
  timing?: Partial<Timing>
  /** membership's timing, over its defaults */
  membership?: Partial<MembershipConfig>
  /** default: a RecordingRuntime */
  runtime?: RecordingRuntime
  /** this node's clock runs this many ms ahead of the others (negative: behind) */
  clockOffsetMs?: number
  /** a chunk store and an image engine: images carried by the mesh */
  images?: NodeCoreInit['images'],
  /** reads git sources: this node may watch its organization's */
  sources?: SourceReader
  /** more of the core's init (a volume backend, a recovery key), or what makes it from the node's identity and clock */
  core?: Partial<NodeCoreInit> | ((identity: Identity, clock: Clock) => Partial<NodeCoreInit>)
}

export const MESH_ID = 'trust-mesh'

/**
 * Several NodeCores over a LocalNet on one virtual clock (the simulator's
 * engine): production timing, exact. `waitFor` and `pause` run the clock;
 * a runtime's delays and a node's timers are virtual too, so a test takes
 * the same steps however loaded the machine
 */
export class TestCluster {
  /** starts at the wall clock, so entries stamped by the genesis are not in the future */
  readonly clock = new VirtualClock(Date.now())
  readonly net = new LocalNet((fn) => { this.clock.after(1, fn) })
  readonly nodes: TestNode[] = []
  /** the genesis and admission entries every node starts with */
  readonly genesis: Entry[] = []
  private root!: Identity
  private seq = new Map<string, number>()
  private orgs = new Set<string>()

  /**
   * `realTime`: the virtual clock follows the wall clock instead of being
   * played by `waitFor` and `pause` (which then wait in real time), for tests
   * whose nodes do real I/O that takes real time (restic, files)
   */
  static async start (specs: Array<string | NodeOptions>, how: { realTime?: boolean } = {}): Promise<TestCluster> {
    const cluster = new TestCluster()
    if (how.realTime === true) cluster.followWallClock()
    else running = cluster.clock
    const options = specs.map(s => typeof s === 'string' ? { org: s } : s)
    const identities = await Promise.all(options.map(async () => await generateIdentity()))
    cluster.root = identities[0]
    cluster.sign(cluster.root, 'mesh', { id: MESH_ID, root: cluster.root.peerId, created: cluster.clock.now() })
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
    const hlc = `${String(this.clock.now()).padStart(15, '0')}.${String(seq).padStart(6, '0')}`
    const base = { author: who.peerId, seq, hlc, key }
    const entry = signEntry(MESH_ID, who, value === undefined ? { ...base, tombstone: true } : { ...base, value })
    if (key === 'mesh' || key.startsWith('member/') || key.startsWith('org/') || key.startsWith('invite/')) this.genesis.push(entry)
    return entry
  }

  private admit (who: Identity, org: string): void {
    const invite = (this.genesis.length).toString(16).padStart(16, '0')
    const newOrg = !this.orgs.has(org)
    // the root's org may only invite to itself or to a new org: a new-org invite serves every admission here
    this.sign(this.root, keys.invite(invite), inviteValue({ newOrg: true }, this.clock.now(), { issuerOrg: this.orgOf(this.root), uses: 1 }))
    this.sign(this.root, keys.member(who.peerId), { org, invite })
    if (newOrg) this.sign(this.root, keys.org(org), { name: org, invite })
    this.orgs.add(org)
  }

  private orgOf (who: Identity): string {
    return (this.genesis.find(e => e.key === keys.member(who.peerId))!.value as { org: string }).org
  }

  async boot (identity: Identity, options: NodeOptions, persistence = new MemoryPersistence()): Promise<TestNode> {
    const offset = options.clockOffsetMs ?? 0
    const process = new NodeClock(this.clock)
    const clock: Clock = offset === 0 ? process : { after: (ms, fn) => process.after(ms, fn), every: (ms, fn) => process.every(ms, fn), sleep: async (ms, signal) => { await process.sleep(ms, signal) }, now: () => process.now() + offset }
    const state = await State.open({ meshId: MESH_ID, root: this.root.peerId, persistence, now: () => clock.now() })
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
      timing: options.timing,
      images: options.images,
      sources: options.sources,
      membership: options.membership,
      ...(typeof options.core === 'function' ? options.core(identity, clock) : options.core)
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

  private following = false

  private followWallClock (): void {
    this.following = true
    const loop = async (): Promise<void> => {
      while (this.following) {
        await this.clock.run(Math.max(this.clock.now(), Date.now()))
        await new Promise(resolve => setTimeout(resolve, 5))
      }
    }
    void loop()
  }

  async stop (): Promise<void> {
    this.following = false
    for (const node of this.nodes) {
      node.mesh.down = true
      await node.core.stop()
      await node.runtime.close()
    }
    if (running === this.clock) running = undefined
  }
}

/** the clock of the cluster a test runs, while it runs */
let running: VirtualClock | undefined
/** virtual ms between looks at a condition */
const STEP_MS = 20

/**
 * until `predicate` answers something (not undefined, null or false), which
 * it returns; on a running cluster's virtual clock, else in real time.
 * Throws naming `what` after `timeoutMs` (virtual ms on a cluster)
 */
export async function waitFor<T> (predicate: () => T | Promise<T>, what: string, timeoutMs = 60_000): Promise<NonNullable<T>> {
  const clock = running
  const now = (): number => clock === undefined ? Date.now() : clock.now()
  const deadline = now() + timeoutMs
  let last: unknown
  while (now() < deadline) {
    try {
      // a predicate may ask the mesh (a view gathers reports): the clock plays while it waits
      const value = await played(Promise.resolve().then(predicate), deadline - now())
      if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>
    } catch (err) {
      last = err
    }
    await pause(clock === undefined ? 25 : STEP_MS)
  }
  throw new Error(`Gave up waiting: ${what}${last === undefined ? '' : ` (${String((last as Error)?.message ?? last)})`}`)
}

/**
 * `promise`, with the running cluster's clock played until it settles (a
 * view gathers the nodes' reports over the mesh, whose messages travel in
 * virtual time); throws after `timeoutMs` virtual ms. Outside a cluster, the promise
 */
export async function played<T> (promise: Promise<T>, timeoutMs = 60_000): Promise<T> {
  const clock = running
  if (clock === undefined || playing) return await promise
  let settled = false
  const watched = promise.finally(() => { settled = true })
  watched.catch(() => {})
  // most promises settle without the clock: let them, before playing it
  await new Promise(resolve => setImmediate(resolve))
  const deadline = clock.now() + timeoutMs
  while (!settled && clock.now() < deadline) await pause(STEP_MS)
  if (!settled) throw new Error(`Gave up after ${timeoutMs} virtual ms waiting for the mesh`)
  return await watched
}

/** let `ms` pass: on a running cluster's virtual clock (its timers fire, its promises settle), else in real time */
export async function pause (ms: number): Promise<void> {
  if (running === undefined) {
    await new Promise(resolve => setTimeout(resolve, ms))
    return
  }
  const clock = running
  const until = clock.now() + ms
  // a pause inside a runtime call the clock itself is playing must not run the clock again: wait for it instead
  if (playing) { await clock.sleep(ms); return }
  playing = true
  try {
    await clock.run(until)
  } finally {
    playing = false
  }
}

let playing = false

/** a timer of the running cluster's clock (it fires when the clock is played), else a real one */
async function sleepOn (ms: number, signal?: AbortSignal): Promise<void> {
  if (running !== undefined) { await running.sleep(ms, signal); return }
  await new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) { reject(signal.reason); return }
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason) }, { once: true })
  })
}

/** a service spec of `org/name` as stored (one replica of busybox, 100m cpu, 32 MiB), with `extra` over it */
export function spec (org: string, name: string, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return defaultSpec(org, name, 'minga/busybox:1', { resources: { cpu: 100, memory: 32 * 1024 * 1024 }, ...extra })
}
