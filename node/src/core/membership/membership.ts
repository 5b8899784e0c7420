/**
 * Membership and failure detection: SWIM (Das, Gupta, Motivala 2002) with
 * Lifeguard's refinements (Dadgar et al. 2017, arXiv 1707.00788), after
 * HashiCorp memberlist, as one request/response protocol over the mesh's
 * connections. Sans I/O: a Clock and the Mesh's request/handle.
 *
 * Each period (stretched by the local health multiplier) this node probes
 * one member, every member once per round in random order. No ack in time:
 * `indirectChecks` members probe it for us; still none: it is suspect, and
 * dead when the suspicion times out unrefuted. Updates (alive, suspect,
 * dead) ride on every probe and ack, and are gossiped to a few members
 * while any wait; a periodic push-pull exchanges the whole table (only its
 * digest when the tables agree), less often as the mesh grows.
 *
 * Lifeguard: probes that miss acks they should have had (no nack from the
 * helpers either) and refutations raise the local health score, which
 * stretches this node's own timeouts (awareness.ts); a suspicion is
 * shortened by independent confirmations (suspicion.ts), which members that
 * hear of it seek by probing the suspect next; a probe of a suspect carries
 * the suspicion, so it refutes at once (the buddy system).
 *
 * The fast path stays: when a member's connection closes, or a probe of it
 * goes unanswered, its address is dialled; a refused connection means its
 * process is gone (kill -9, a crash), and it is dead at once.
 */
import { decodeMessage, encodeMessage, protocols, signAlive, verifyAlive, type AliveUpdate, type MemberStatus, type MemberUpdate, type MembershipMessage, type PeerIdString, type ReportMessage, type ReportMessages, type WireMessage } from '@minga/protocol'
import type { Timer } from '../clock.js'
import { Awareness } from './awareness.js'
import { BroadcastQueue } from './broadcasts.js'
import { DEFAULT_MEMBERSHIP, retransmitLimit, type MembershipConfig } from './config.js'
import { Members } from './members.js'
import { NewProcesses } from './new-processes.js'
import { ProbeOrder, randomMembers } from './probe-order.js'
import { deriveLiveView, withStatus, type LiveView } from './live-view.js'
import { Prober } from './prober.js'
import { MemberTable } from './table.js'
import type { MembershipInit, MembershipListener } from './membership-init.js'

export type { MembershipChange, MembershipInit, MembershipListener, MembershipMesh, ProbeInfo } from './membership-init.js'

/** a sender's push-pulls answered at most this often (an exchange is one or two requests), ms */
const PUSH_PULL_GAP_MS = 2000
const PUSH_PULL_SENDERS = 1024
const TYPES = ['ping', 'ack', 'ping-req', 'nack', 'gossip', 'push-pull', 'replicas', 'report-request', 'report'] as const

export class Membership {
  readonly config: MembershipConfig
  readonly self: string
  readonly table: MemberTable
  readonly members: Members
  readonly queue = new BroadcastQueue()
  readonly awareness: Awareness
  /** members restarted that this node heard of only second-hand: a refused dial may be of the old process's address */
  readonly newProcesses: NewProcesses
  readonly stats = { probes: 0, failed: 0, indirect: 0, refused: 0, stalled: 0, lagged: 0, pushPulls: 0, gossips: 0, dropped: 0 }
  private readonly prober: Prober
  private readonly order: ProbeOrder
  private readonly listeners = new Set<MembershipListener>()
  private readonly timers: Timer[] = []
  private readonly unsubscribe: Array<() => void> = []
  private memberIds: readonly string[] = []
  private version = 0
  /** the live set of `members` (the member list it was derived from), kept up to date as statuses change */
  private liveView?: LiveView
  /** passes over every member to derive the live set: one per member list, none per status change (tests count them) */
  livePasses = 0
  /** counts changes of the members this node's requests could not reach (`Prober.unreachableMembers`) */
  private reach = 0
  private confirmedCache?: { version: number, reach: number, confirmed: number }
  private running = false
  private readonly lastPushPull = new Map<string, { at: number, count: number }>()

  constructor (private readonly init: MembershipInit) {
    this.config = { ...DEFAULT_MEMBERSHIP, ...init.config }
    this.self = init.identity.peerId
    this.table = new MemberTable(init.store)
    this.awareness = new Awareness(this.config.awarenessMax)
    this.newProcesses = new NewProcesses(init.clock, this.config.joinGrace)
    this.order = new ProbeOrder(init.random)
    const verify = init.verifyAlive ?? verifyAlive
    const boot = init.clock.now()
    this.members = new Members({
      self: this.self,
      clock: init.clock,
      config: this.config,
      table: this.table,
      queue: this.queue,
      awareness: this.awareness,
      sign: (inc) => signAlive(init.identity, init.meshId, inc, boot),
      verify: (update) => verify(init.meshId, update),
      changed: (node, before, after, reason) => this.changed(node, before, after, reason),
      booted: (node, boot, secondHand) => {
        if (secondHand) this.newProcesses.heardOf(node)
        init.booted?.(node, boot)
      },
      liveCount: () => this.view().live.length
    }, boot)
    this.prober = new Prober(this, init)
    this.followMembers()
  }

  // --- reading --------------------------------------------------------------

  status (peer: string): MemberStatus {
    if (peer === this.self) return 'alive'
    return this.members.status(peer) ?? 'dead'
  }

  /** members that are alive or suspect, this node included, sorted; the same array until it changes */
  live (): readonly string[] {
    return this.view().live
  }

  /**
   * Members this node counts on for a majority: alive (not suspect), this
   * node included, but not those its own requests could not reach since it
   * last heard from them. A node cut off from most of the mesh counts them
   * out within a few requests, long before the others declare it dead (its
   * gossip alone reaches three members every 200 ms while updates wait)
   */
  confirmed (): number {
    const view = this.view()
    if (this.confirmedCache?.version === this.version && this.confirmedCache.reach === this.reach) return this.confirmedCache.confirmed
    // the alive members less those cut off from here: a pass over the few cut off, not over every member
    let confirmed = view.alive
    for (const node of this.prober.unreachableMembers()) if (this.status(node) === 'alive') confirmed--
    this.confirmedCache = { version: this.version, reach: this.reach, confirmed: Math.max(1, confirmed) }
    return this.confirmedCache.confirmed
  }

  /**
   * What placement reads of `confirmed()`: `q` while the confirmed members
   * are a majority of the members (any majority places alike), else their
   * count. Listeners hear of a change of it, not of every count: a probe
   * that misses an ack (a lost packet, a dial slower than the timeout) and
   * the answer that follows would otherwise each start a reconcile pass on
   * this node, which at a thousand members is most of what a node does
   */
  quorum (): string {
    const confirmed = this.confirmed()
    return confirmed * 2 > this.memberList().length ? 'q' : String(confirmed)
  }

  /**
   * Names the live set: equal on nodes that agree on it (placement caches
   * are shared by it in the simulator), changed whenever it is
   */
  liveKey (): string {
    const view = this.view()
    return `${view.live.length}:${view.text}`
  }

  /**
   * In the boot grace (`bootGrace` after this process started) with a
   * member only assumed alive: nothing heard of it yet, first- or
   * second-hand, so what it runs is not known here
   */
  booting (): boolean {
    return this.init.clock.now() - this.members.boot < this.config.bootGrace && this.unheard()
  }

  /** a member is only assumed alive: neither it nor a peer's table said anything of it yet */
  private unheard (): boolean {
    // the table counts such rows as they change: the reconciler asks every pass, and a pass over every member each time the table changed was n² a change
    this.memberList()
    return this.table.assumed > 0
  }

  /** when the member was declared dead (or left), if it is now */
  diedAt (peer: string): number | undefined {
    const status = this.members.status(peer)
    return status === 'dead' || status === 'left' ? this.members.changedAt(peer) : undefined
  }

  /** this node's incarnation and the start of this process */
  own (): AliveUpdate {
    return this.members.alive
  }

  onChange (listener: MembershipListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  // --- running --------------------------------------------------------------

  start (): void {
    if (this.running) return
    this.running = true
    const { mesh, clock, random, meshId } = this.init
    mesh.handle(protocols.membership(meshId), (data, from) => this.answer(data, from).then((message) => this.encode(message)))
    this.unsubscribe.push(mesh.onPeer(({ type, peer }) => {
      if (type === 'disconnect') this.prober.disconnected(peer)
      else if (this.isDown(peer)) void this.prober.pushPull(peer)
    }))
    this.queue.push(this.members.alive)
    this.prober.start(random() * this.config.probeInterval)
    this.timers.push(clock.every(this.config.gossipInterval, () => this.prober.gossip()))
    this.prober.schedulePushPull(random())
    // the boot grace ends with a member unheard: whoever held back for it (the reconciler's singletons) goes on
    this.timers.push(clock.after(this.config.bootGrace, () => { if (this.unheard()) this.bump() }))
    void this.prober.join()
  }

  stop (): void {
    this.running = false
    this.prober.stop()
    this.members.stop()
    for (const timer of this.timers.splice(0)) timer.cancel()
    for (const off of this.unsubscribe.splice(0)) off()
  }

  /** tell a few members this node leaves (they need not wait for a timeout), then stop */
  async leave (): Promise<void> {
    this.members.leave()
    await this.prober.spread(this.config.gossipNodes)
    this.stop()
  }

  /** the replicated membership changed: follow it (new members assumed alive, removed ones dropped) */
  followMembers (): void {
    const ids = this.init.members()
    if (ids === this.memberIds) return
    this.memberIds = ids
    this.members.follow(ids)
    this.bump()
  }

  /** the member list probes walk (sorted, this node included) */
  memberList (): readonly string[] {
    this.followMembers()
    return this.memberIds
  }

  /** this node is a member, in the table; `peer` may be spoken to */
  isMember (peer: string): boolean {
    return this.members.get(peer) !== undefined
  }

  isDown (peer: string): boolean {
    const status = this.members.status(peer)
    return status === 'dead' || status === 'left'
  }

  /** updates for one message to `peer`: a suspicion of it first (it refutes at once), then the queue's */
  piggyback (peer: string): MemberUpdate[] {
    const { piggybackBytes } = this.config
    const known = this.members.get(peer)
    const out: MemberUpdate[] = []
    if (known !== undefined && known.status !== 'alive') {
      out.push({ kind: known.status === 'suspect' ? 'suspect' : 'dead', node: known.node as PeerIdString, inc: known.inc, from: this.self as PeerIdString })
    }
    return out.concat(this.queue.take(piggybackBytes, retransmitLimit(this.config, this.table.size)))
  }

  /** updates received from a peer (`from`: who sent them, for its share of signature checks) */
  receive (updates: readonly MemberUpdate[], from?: string): void {
    for (const update of updates) {
      const before = this.members.status(update.node)
      this.members.apply(update, from)
      // a suspicion heard second-hand: a few members confirm it (or not) by probing the suspect next
      if (update.kind === 'suspect' && before === 'alive' && this.members.status(update.node) === 'suspect' &&
        this.init.random() * Math.max(1, this.table.size - 2) < this.config.suspicionConfirmations + 1) {
        this.order.hurry(update.node)
      }
    }
  }

  /** the next member to probe */
  nextTarget (): string | undefined {
    return this.order.next(this.memberList(), (node) => node !== this.self && !this.isDown(node) && this.isMember(node))
  }

  hurry (peer: string): void {
    this.order.hurry(peer)
  }

  /** `k` random members to ask for an indirect probe, or to gossip to; `among`: drawn from these peers instead of every member */
  pick (k: number, eligible: (node: string) => boolean, among?: readonly string[]): string[] {
    return randomMembers(among ?? this.memberList(), k, (node) => node !== this.self && eligible(node), this.init.random)
  }

  /** the live set may have changed */
  bump (): void {
    this.version++
    this.tell()
  }

  /** a member turned unreachable from here, or reachable again: listeners hear of it if the quorum (`before` it) changed */
  reachChanged (before: string): void {
    this.reach++
    if (this.quorum() !== before) this.tell()
  }

  private tell (): void {
    for (const listener of this.listeners) listener({ status: true })
  }

  encode (message: WireMessage): Uint8Array {
    return (this.init.encode ?? encodeMessage)(message)
  }

  decode (data: Uint8Array): MembershipMessage | ReportMessages {
    const message = (this.init.decode ?? ((bytes) => decodeMessage(bytes, { types: TYPES })))(data)
    if (!(TYPES as readonly string[]).includes(message.type)) throw new Error(`A ${message.type} message is not a membership message`)
    return message as MembershipMessage | ReportMessages
  }

  private async answer (data: Uint8Array, from: string): Promise<MembershipMessage | ReportMessage> {
    if (!this.running || !this.isMember(from)) {
      this.stats.dropped++
      throw new Error('Not a member of this mesh')
    }
    const message = this.decode(data)
    this.prober.heardFrom(from)
    switch (message.type) {
      case 'ping':
        this.receive(message.updates, from)
        this.init.heard?.(from, { time: message.time, digest: message.digest, at: this.init.clock.now() })
        return { type: 'ack', time: this.init.clock.now(), digest: this.init.digest(), updates: this.piggyback(from) }
      case 'ping-req':
        this.receive(message.updates, from)
        return await this.prober.probeFor(message.target) ? { type: 'ack', time: this.init.clock.now(), digest: this.init.digest(), updates: this.piggyback(from) } : { type: 'nack' }
      case 'gossip':
        this.receive(message.updates, from)
        return { type: 'ack', time: this.init.clock.now(), digest: this.init.digest(), updates: this.piggyback(from) }
      case 'push-pull':
        if (!this.pushPullAllowed(from)) {
          this.stats.dropped++
          throw new Error('Push-pull asked too often; wait a few seconds')
        }
        this.prober.merge(message.members, from)
        this.stats.pushPulls++
        // the table goes back only to a first offer (a digest alone) that differs: two rounds at most
        return message.members === undefined && message.digest !== this.table.digest()
          ? { type: 'push-pull', digest: this.table.digest(), members: this.table.export() }
          : { type: 'push-pull', digest: this.table.digest() }
      case 'report-request':
        if (this.init.report !== undefined) return this.init.report()
        this.stats.dropped++
        throw new Error('This node gives no reports')
      case 'replicas':
        if (this.init.replicas !== undefined) return this.init.replicas(message, from)
        this.stats.dropped++
        throw new Error('This node takes no replica records')
      default:
        this.stats.dropped++
        throw new Error(`A ${message.type} message is not a request`)
    }
  }

  /** one push-pull per sender every PUSH_PULL_GAP_MS (a table is up to thousands of signatures to check) */
  private pushPullAllowed (from: string): boolean {
    const now = this.init.clock.now()
    const last = this.lastPushPull.get(from)
    // the table a first offer asked for comes right after it: one exchange is two requests
    if (last !== undefined && now - last.at < PUSH_PULL_GAP_MS && last.count >= 2) return false
    if (last === undefined || now - last.at >= PUSH_PULL_GAP_MS) {
      this.lastPushPull.delete(from)
      this.lastPushPull.set(from, { at: now, count: 1 })
      if (this.lastPushPull.size > PUSH_PULL_SENDERS) this.lastPushPull.delete(this.lastPushPull.keys().next().value as string)
    } else {
      last.count++
    }
    return true
  }

  /** the live set and the count of alive members: a pass over every member when the member list changed, else as `changed` left it */
  private view (): LiveView {
    const members = this.memberList()
    if (this.liveView?.members === members) return this.liveView
    const { view, derived } = deriveLiveView(members, this.table.digest(), (node) => this.status(node))
    if (derived) this.livePasses++
    this.liveView = view
    return view
  }

  private changed (node: string, before: MemberStatus, after: MemberStatus, reason: string): void {
    this.init.onStatus?.(node, after, reason)
    if (after === 'suspect' || before === 'suspect' || (before === 'alive') !== (after === 'alive')) {
      // one member's place in the live set and the alive count, in one step; a view of an older member list is derived again when read
      if (node !== this.self && this.liveView !== undefined) this.liveView = this.liveView.members === this.memberIds ? withStatus(this.liveView, node, before, after) : undefined
      this.bump()
    }
  }
}
