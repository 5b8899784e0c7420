/**
 * A cluster of Membership instances on a virtual clock and a modelled
 * network, for the protocol's tests: per-link latency, loss (as TCP sees
 * it: a lost segment costs a retransmission timeout, or, with `drop`, the
 * message never arrives), partitions, links cut one by one, slow and
 * stalled nodes, processes killed (their host refuses connections) and
 * hosts that vanish (nothing answers). Real identities and signatures.
 */
import { identityFromName, type Identity, type MemberStatus } from '@minga/protocol'
import { Membership, NodeClock, VirtualClock, type MembershipConfig, type MembershipMesh, type PeerListener, type ProbeResult, type RequestHandler } from '../src/core/index.js'
import { advance, until } from './virtual-clock.js'

export interface NetOptions {
  /** one-way latency of every link, ms */
  latency?: number
  /** probability that one transmission is lost */
  loss?: number
  /** a lost transmission: retransmitted after `rto` (TCP), or gone */
  lossMode?: 'retransmit' | 'drop'
  rto?: number
  /** hosts answer TCP dials of their port (`Mesh.probePort`), default true; false: behind relays, say */
  portProbes?: boolean
  /** each message is handled up to this much later, at random (a loaded CPU), ms */
  jitter?: number
  /** after this a silent peer's connection is seen to close (keep-alive), ms */
  silentDisconnect?: number
  seed?: number
  config?: Partial<MembershipConfig>
  /** connections a node keeps (`Mesh.connectionLimit`); unset: no limit */
  connectionLimit?: number
}

export interface StatusEvent { at: number, observer: string, subject: string, status: MemberStatus, reason: string }

export class RequestError extends Error {
  constructor (message: string, readonly code: 'refused' | 'aborted' | 'unsupported') {
    super(message)
    this.name = 'RequestError'
  }
}

export class Host {
  membership?: Membership
  /** the process runs */
  up = true
  /** the host answers at all (a killed process's host still refuses connections) */
  hostUp = true
  group = 0
  /** extra one-way delay of everything this node sends or receives, ms */
  slowness = 0
  readonly clock: NodeClock
  readonly mesh: HarnessMesh
  boots = 0
  /** hosts that still hold this process's last address (a restart that listens elsewhere): their dials are refused until it dials them */
  movedFor = new Set<string>()
  /** vanished, and its peers' connections to it not closed yet (a silent host's TCP connections linger until a timeout) */
  lingering = false

  constructor (readonly cluster: SwimCluster, readonly index: number, readonly identity: Identity) {
    this.clock = new NodeClock(cluster.clock)
    this.mesh = new HarnessMesh(this)
  }

  get id (): string {
    return this.identity.peerId
  }

  get m (): Membership {
    if (this.membership === undefined) throw new Error(`node ${this.index} is not running`)
    return this.membership
  }
}

export class SwimCluster {
  readonly clock = new VirtualClock(1_800_000_000_000)
  readonly hosts: Host[] = []
  /** the members (a joiner is one from its admission, before its node starts) */
  ids: readonly string[]
  readonly events: StatusEvent[] = []
  readonly cuts = new Set<string>()
  /** messages that crossed the network, and their bytes */
  readonly traffic = { messages: 0, bytes: 0 }
  private seed: number

  private constructor (identities: Identity[], readonly options: NetOptions) {
    this.seed = options.seed ?? 1
    identities.forEach((identity, i) => this.hosts.push(new Host(this, i, identity)))
    this.ids = identities.map(i => i.peerId).sort()
  }

  /** `n` hosts, all members and started but the last `options.later` (neither admitted nor started: see `admit`) */
  static async start (n: number, options: NetOptions & { later?: number } = {}): Promise<SwimCluster> {
    const seed = options.seed ?? 1
    // identities from the seed: one seed, one run
    const identities = await Promise.all(Array.from({ length: n }, async (_, i) => await identityFromName(`swim-test/${seed}/${i}`)))
    const cluster = new SwimCluster(identities, options)
    const later = cluster.hosts.slice(n - (options.later ?? 0))
    for (const host of later) host.up = false
    cluster.ids = cluster.hosts.filter(h => !later.includes(h)).map(h => h.id).sort()
    for (const host of cluster.hosts) if (!later.includes(host)) cluster.boot(host)
    return cluster
  }

  /** the mesh admits `host` (its row reaches every member); its node is not started yet: its host refuses connections until `boot` */
  admit (host: Host): void {
    this.ids = [...this.ids, host.id].sort()
  }

  /**
   * a new process on the host (a restart, or the first start); `movedFor`: hosts that still hold its last process's
   * address (it listens elsewhere now): their dials are refused until it dials them (identify tells its addresses)
   */
  boot (host: Host, config: Partial<MembershipConfig> = {}, movedFor: readonly Host[] = []): Membership {
    host.membership?.stop()
    host.up = true
    host.hostUp = true
    host.lingering = false
    host.boots++
    host.movedFor = new Set(movedFor.map(h => h.id))
    const random = prng(this.seed * 7919 + host.index * 104_729 + host.boots)
    const membership = new Membership({
      identity: host.identity,
      meshId: 'swim-test',
      mesh: host.mesh,
      clock: host.clock,
      random,
      members: () => this.ids,
      digest: () => 'd',
      config: { ...this.options.config, ...config },
      onStatus: (peer, status, reason) => this.events.push({ at: this.clock.now(), observer: host.id, subject: peer, status, reason })
    })
    host.membership = membership
    membership.start()
    for (const other of this.hosts) if (other !== host && this.reachable(host, other) && !host.movedFor.has(other.id)) other.mesh.emit('connect', host.id)
    return membership
  }

  host (id: string): Host {
    return this.hosts.find(h => h.id === id)!
  }

  running (): Host[] {
    return this.hosts.filter(h => h.up)
  }

  /** kill -9: the process is gone, its host refuses connections; its peers see the connections close */
  kill (host: Host): void {
    host.membership?.stop()
    host.membership = undefined
    host.up = false
    this.clock.after(5, () => { for (const other of this.running()) if (other.group === host.group) other.mesh.emit('disconnect', host.id) })
  }

  /** the host loses power or network: nothing answers, and connections close only after the keep-alive */
  vanish (host: Host): void {
    host.membership?.stop()
    host.membership = undefined
    host.up = false
    host.hostUp = false
    host.lingering = true
    this.clock.after(this.options.silentDisconnect ?? 15_000, () => {
      host.lingering = false
      for (const other of this.running()) other.mesh.emit('disconnect', host.id)
    })
  }

  partition (...groups: Host[][]): void {
    groups.forEach((group, g) => { for (const host of group) host.group = g })
  }

  heal (): void {
    for (const host of this.hosts) host.group = 0
    for (const a of this.running()) for (const b of this.running()) if (a !== b) a.mesh.emit('connect', b.id)
  }

  /** messages between `a` and `b` are lost (both ways) */
  cut (a: Host, b: Host): void {
    this.cuts.add(`${a.index}/${b.index}`)
    this.cuts.add(`${b.index}/${a.index}`)
  }

  reachable (a: Host, b: Host): boolean {
    return a.hostUp && b.hostUp && a.group === b.group && !this.cuts.has(`${a.index}/${b.index}`)
  }

  /** the status `observer` gives `subject` */
  status (observer: Host, subject: Host): MemberStatus {
    return observer.m.status(subject.id)
  }

  /** every running node (but `subject`) sees `subject` as `status` */
  agree (subject: Host, status: MemberStatus | MemberStatus[]): boolean {
    const wanted = Array.isArray(status) ? status : [status]
    return this.running().every(h => h === subject || wanted.includes(h.m.status(subject.id)))
  }

  /** status events about `subject`, as `status`, from running observers */
  eventsAbout (subject: Host, status?: MemberStatus): StatusEvent[] {
    return this.events.filter(e => e.subject === subject.id && (status === undefined || e.status === status))
  }

  /** one-way delay of a message from `a` to `b`, or undefined when it is lost for good */
  delay (a: Host, b: Host, random: () => number): number | undefined {
    const { latency = 5, loss = 0, lossMode = 'retransmit', rto = 200, jitter = 0 } = this.options
    let delay = latency + a.slowness + b.slowness + random() * jitter
    let backoff = rto
    while (loss > 0 && random() < loss) {
      if (lossMode === 'drop') return undefined
      delay += backoff
      backoff *= 2
    }
    return delay
  }

  readonly random = prng(99)

  /** run `ms` of virtual time */
  async advance (ms: number): Promise<void> {
    await advance(this.clock, ms)
  }

  /** run until `done()` holds; the virtual ms it took */
  async until (done: () => boolean, limit: number, what?: string): Promise<number> {
    return await until(this.clock, done, limit, what)
  }
}

export class HarnessMesh implements MembershipMesh {
  private readonly handlers = new Map<string, RequestHandler>()
  private readonly listeners = new Set<PeerListener>()

  constructor (private readonly host: Host) {}

  get connectionLimit (): number | undefined {
    return this.host.cluster.options.connectionLimit
  }

  emit (type: 'connect' | 'disconnect', peer: string): void {
    this.host.clock.io(() => { if (this.host.up) for (const listener of [...this.listeners]) listener({ type, peer }) })
  }

  handle (protocol: string, handler: RequestHandler): void {
    this.handlers.set(protocol, handler)
  }

  onPeer (listener: PeerListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  connections (): string[] {
    const cluster = this.host.cluster
    const open = (h: Host): boolean => h.lingering || (h.up && cluster.reachable(this.host, h) && !h.movedFor.has(this.host.id))
    return cluster.hosts.filter(h => h !== this.host && open(h)).map(h => h.id)
  }

  async request (peer: string, protocol: string, data: Uint8Array, options: { signal?: AbortSignal, largeAnswer?: boolean } = {}): Promise<Uint8Array> {
    const cluster = this.host.cluster
    const from = this.host
    const to = cluster.host(peer)
    const { clock } = cluster
    return await new Promise<Uint8Array>((resolve, reject) => {
      let settled = false
      const finish = (err: Error | undefined, value?: Uint8Array): void => {
        if (settled) return
        settled = true
        options.signal?.removeEventListener('abort', onAbort)
        if (err !== undefined) reject(err)
        else resolve(value!)
      }
      const onAbort = (): void => finish(new RequestError('Aborted', 'aborted'))
      if (options.signal?.aborted === true) { onAbort(); return }
      options.signal?.addEventListener('abort', onAbort, { once: true })
      cluster.traffic.messages++
      cluster.traffic.bytes += data.length
      const there = cluster.delay(from, to, cluster.random)
      if (there === undefined || !cluster.reachable(from, to)) return
      clock.after(there, () => {
        if (!cluster.reachable(from, to)) return
        if (!to.up || to.movedFor.has(from.id)) { clock.after(there, () => from.clock.io(() => finish(new RequestError(`Connection to ${peer} refused`, 'refused')))); return }
        // the dialled host learns the dialler's addresses
        from.movedFor.delete(to.id)
        const handler = to.mesh.handlers.get(protocol)
        if (handler === undefined) { from.clock.io(() => finish(new RequestError(`${peer} does not speak ${protocol}`, 'unsupported'))); return }
        const boot = to.boots
        to.clock.io(() => {
          handler(data, from.id).then((answer) => {
            if (!to.up || to.boots !== boot) return
            cluster.traffic.messages++
            cluster.traffic.bytes += answer.length
            const back = cluster.delay(to, from, cluster.random)
            if (back === undefined) return
            clock.after(back, () => { if (cluster.reachable(from, to)) from.clock.io(() => finish(undefined, answer)) })
          }, (err: Error) => {
            clock.after(cluster.options.latency ?? 5, () => from.clock.io(() => finish(err)))
          })
        })
      })
    })
  }

  readonly probe = async (peer: string): Promise<ProbeResult> => {
    const cluster = this.host.cluster
    const to = cluster.host(peer)
    const latency = cluster.options.latency ?? 5
    const result: ProbeResult = !cluster.reachable(this.host, to) ? 'unknown' : to.up && !to.movedFor.has(this.host.id) ? 'up' : 'refused'
    await cluster.clock.sleep(result === 'unknown' ? 1000 : 2 * latency)
    return result
  }

  /** the host's kernel answers a TCP dial, stalled process or not: the same answer; a host that does not answer is `silent` */
  get probePort (): ((peer: string) => Promise<ProbeResult>) | undefined {
    if (this.host.cluster.options.portProbes === false) return undefined
    return async (peer) => { const result = await this.probe(peer); return result === 'unknown' ? 'silent' : result }
  }
}

/** a small seeded PRNG (mulberry32) */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
