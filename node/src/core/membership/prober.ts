/**
 * The probing half of membership: the probe loop, direct and indirect probes with Lifeguard's nack accounting, the
 * fast path for a process that is gone (a refused dial), push-pull exchanges, and what this node heard directly
 * (which tells whether it is the one cut off).
 */
import { protocols, type MemberRow, type MemberUpdate, type MembershipMessage, type PeerIdString, type ReportMessages } from '@minga/protocol'
import type { Clock, Timer } from '../clock.js'
import type { Mesh, ProbeResult } from '../mesh.js'
import { SelfLag, type Awareness } from './awareness.js'
import { pushPullInterval, type MembershipConfig } from './config.js'
import type { Members } from './members.js'
import type { NewProcesses } from './new-processes.js'
import { directTimeout, helperTimeout, indirectTimeout } from './probe-timeouts.js'
import type { MemberTable } from './table.js'

/** what the prober reads and calls of the membership it probes for */
export interface ProberHost {
  readonly self: string
  readonly config: MembershipConfig
  readonly table: MemberTable
  readonly members: Members
  readonly awareness: Awareness
  readonly newProcesses: NewProcesses
  readonly stats: { probes: number, failed: number, indirect: number, refused: number, stalled: number, lagged: number, pushPulls: number, gossips: number }
  readonly queue: { readonly size: number }
  decode: (data: Uint8Array) => MembershipMessage | ReportMessages
  encode: (message: MembershipMessage) => Uint8Array
  receive: (updates: readonly MemberUpdate[], from?: string) => void
  piggyback: (peer: string) => MemberUpdate[]
  nextTarget: () => string | undefined
  pick: (k: number, eligible: (node: string) => boolean, among?: readonly string[]) => string[]
  hurry: (peer: string) => void
  isMember: (peer: string) => boolean
  isDown: (peer: string) => boolean
  /** the members alive or suspect, this node included */
  live: () => readonly string[]
  /** what placement reads of the confirmed count (Membership.quorum) */
  quorum: () => string
  /** a member turned unreachable from here, or reachable again; `before`: the quorum before the change */
  reachChanged: (before: string) => void
}

/** what the prober needs of the world */
export interface ProberInit {
  meshId: string
  mesh: Pick<Mesh, 'request' | 'connections' | 'connectedTo' | 'connectionLimit' | 'probe' | 'probePort'>
  clock: Clock
  digest: () => string
  heard?: (peer: string, info: { time: number, digest: string, at: number, sentAt?: number }) => void
}

/** a timer this late means this process was starved of CPU, ms */
const LATE_MS = 100
/** members a peer's table held dead probed at once, at most this many at a time (the rest wait for one of them) */
const PROBES_AT_ONCE = 8
/** probes tried when joining: connected members first */
const JOIN_TRIES = 3

export class Prober {
  private timer?: Timer
  private pushPullTimer?: Timer
  private running = false
  private readonly inFlight = new Set<string>()
  /** members a request of ours could not reach, since they last sent us anything */
  private readonly unreachable = new Set<string>()
  /** when a member first missed a probe of ours, since it last sent us anything */
  private readonly silentSince = new Map<string, number>()
  /** this process's own lag, from its timers */
  private readonly lag: SelfLag
  private lastGossipTick?: number
  /** members a peer's table held dead, to probe at once (`merge`), and the probes of them under way */
  private readonly pending: string[] = []
  private probing = 0

  constructor (private readonly m: ProberHost, private readonly init: ProberInit) {
    this.lag = new SelfLag(() => init.clock.now(), LATE_MS)
  }

  start (delay: number): void {
    this.running = true
    this.schedule(delay)
  }

  stop (): void {
    this.running = false
    this.timer?.cancel()
    this.pushPullTimer?.cancel()
  }

  /**
   * While updates wait, send them to a few members (recently dead ones too: they may refute). Past the connection limit
   * only to connected ones, so not the dead (a live one learns it from the acks to its probes): to others each was a new
   * connection (a handshake; sim-1000's first 40 virtual s dialled 3.78 times per node and second, 2.41 since)
   */
  gossip (): void {
    const m = this.m
    const now = this.init.clock.now()
    // called every gossipInterval: a late call is this process's lag
    if (this.lastGossipTick !== undefined) this.lag.fired(this.lastGossipTick + m.config.gossipInterval)
    this.lastGossipTick = now
    if (m.queue.size === 0 || !this.running) return
    const targets = m.pick(m.config.gossipNodes, (node) => {
      const status = m.members.status(node)
      if (status === 'alive' || status === 'suspect') return true
      return status === 'dead' && now - (m.members.changedAt(node) ?? 0) < m.config.gossipToTheDead
    }, this.pastLimit() ? this.init.mesh.connections() : undefined)
    for (const peer of targets) {
      const updates = m.piggyback(peer)
      if (updates.length === 0) return
      m.stats.gossips++
      void this.send(peer, { type: 'gossip', updates })
    }
  }

  /** a push-pull with a random alive member every period (stretched as the mesh grows), and one with a member thought dead */
  schedulePushPull (fraction: number): void {
    if (!this.running) return
    const m = this.m
    const period = pushPullInterval(m.config, m.table.size)
    this.pushPullTimer = this.init.clock.after(Math.max(1, fraction * period), () => {
      const [alive] = m.pick(1, (node) => m.members.status(node) === 'alive')
      if (alive !== undefined) void this.pushPull(alive)
      // a member we think dead may be back (a partition healed): ask one
      const [down] = m.pick(1, (node) => m.isDown(node))
      if (down !== undefined) void this.pushPull(down)
      this.schedulePushPull(1)
    })
  }

  /** a member sent us something (or answered): it is reachable from here */
  heardFrom (peer: string): void {
    this.silentSince.delete(peer)
    this.m.newProcesses.heardFrom(peer)
    if (!this.unreachable.has(peer)) return
    const before = this.m.quorum()
    this.unreachable.delete(peer)
    this.m.reachChanged(before)
  }

  /** a request to a member went unanswered: until we hear from it, it does not count towards a majority */
  private missed (peer: string): void {
    if (!this.unreachable.has(peer) && this.m.members.status(peer) === 'alive') {
      const before = this.m.quorum()
      this.unreachable.add(peer)
      this.m.reachChanged(before)
    }
  }

  /** the members a request of ours could not reach since they last sent us anything */
  unreachableMembers (): IterableIterator<string> {
    return this.unreachable.values()
  }

  /** join: a push-pull with a connected member, else any; a few tries */
  async join (): Promise<void> {
    const connected = this.init.mesh.connections()
    const tried = new Set<string>()
    for (let i = 0; i < JOIN_TRIES && this.running; i++) {
      const [peer] = this.m.pick(1, (node) => !tried.has(node) && this.m.isMember(node), i === 0 && connected.length > 0 ? connected : undefined)
      if (peer === undefined) return
      tried.add(peer)
      if (await this.pushPull(peer)) return
    }
  }

  /** exchange tables with `peer`: digests first, the tables only if they differ; true when it answered */
  async pushPull (peer: string): Promise<boolean> {
    // its answer is the peer's table when the digests differ (~60 KB at 200 members): a stream of its own, not the probes' shared one
    const offer = await this.send(peer, { type: 'push-pull', digest: this.m.table.digest() }, this.m.config.probeInterval * 5, true)
    if (offer?.type !== 'push-pull') return false
    this.m.stats.pushPulls++
    this.merge(offer.members, peer)
    if (offer.members !== undefined && offer.digest !== this.m.table.digest()) {
      await this.send(peer, { type: 'push-pull', digest: this.m.table.digest(), members: this.m.table.export() }, this.m.config.probeInterval * 5)
    }
    return true
  }

  /**
   * A peer's table merged into ours. Members it held dead that we took for
   * alive are suspects now, and probed at once, a few at a time, not in
   * their turn (a round of a thousand members is minutes): a refused dial
   * declares one dead, a failed probe confirms it, and a member the row
   * wrongly held dead refutes on the probe's ack
   */
  merge (rows: readonly MemberRow[] | undefined, from: string): void {
    const turned: string[] = []
    for (const row of rows ?? []) if (this.m.members.merge(row, from)) turned.push(row.node)
    if (turned.length === 0) return
    this.pending.push(...turned)
    // each worker takes a member at once: the loop ends when all are taken or enough run
    while (this.probing < PROBES_AT_ONCE && this.pending.length > 0) void this.probePending()
  }

  /** one of the PROBES_AT_ONCE workers over `pending`: probes members still suspect, one after the other */
  private async probePending (): Promise<void> {
    this.probing++
    try {
      for (let target = this.pending.shift(); target !== undefined && this.running; target = this.pending.shift()) {
        if (this.inFlight.has(target) || this.m.members.status(target) !== 'suspect') continue
        this.inFlight.add(target)
        try {
          await this.probe(target)
        } finally {
          this.inFlight.delete(target)
        }
      }
    } finally {
      this.probing--
    }
  }

  /** a member's connections closed: if its address refuses a new one, its process is gone */
  disconnected (peer: string): void {
    const { mesh } = this.init
    if (!this.running || this.m.isDown(peer) || !this.m.isMember(peer) || this.connected(peer)) return
    if (mesh.probe === undefined) { this.m.hurry(peer); return }
    void mesh.probe(peer).then((result) => {
      if (result === 'refused') this.refused(peer, 'connection closed and its address refuses connections')
      else if (result !== 'up') this.m.hurry(peer)
    }, () => {})
  }

  /** more live members than a node keeps connections: not all connected to each other (the dead hold none, and do not count) */
  private pastLimit (): boolean { return this.m.live().length - 1 > (this.init.mesh.connectionLimit ?? Infinity) }

  /** this node holds a connection to `peer` */
  private connected (peer: string): boolean {
    return this.init.mesh.connectedTo?.(peer) ?? this.init.mesh.connections().includes(peer)
  }

  /** send updates to a few members now (leaving: they need not wait to find out) */
  async spread (count: number): Promise<void> {
    const targets = this.m.pick(count, (node) => !this.m.isDown(node))
    await Promise.all(targets.map(async (peer) => await this.send(peer, { type: 'gossip', updates: this.m.piggyback(peer) })))
  }

  /** a request to `peer`, its answer decoded; undefined on any failure or after `timeout` ms */
  async send (peer: string, message: MembershipMessage, timeout = this.m.config.probeTimeout * 2, largeAnswer = false): Promise<MembershipMessage | undefined> {
    const { mesh, clock, meshId } = this.init
    const controller = new AbortController()
    const abort = (): void => controller.abort(new Error(`No answer from ${peer} within ${timeout} ms`))
    const due = clock.now() + timeout
    let timer = clock.after(timeout, () => {
      this.lag.fired(due)
      // fired late: this process was starved, and its due timers run before the I/O that waited (the answer, maybe): read that first
      if (clock.now() - due > LATE_MS) timer = clock.after(0, abort)
      else abort()
    })
    try {
      const answer = this.m.decode(await mesh.request(peer, protocols.membership(meshId), this.m.encode(message), { signal: controller.signal, largeAnswer }))
      this.heardFrom(peer)
      if (answer.type === 'report' || answer.type === 'report-request') return undefined
      if (answer.type === 'ack') this.m.receive(answer.updates, peer)
      return answer
    } catch {
      this.missed(peer)
      return undefined
    } finally {
      timer.cancel()
    }
  }

  /** ping `target` and wait for its ack up to `timeout`; true when it came */
  async ping (target: string, timeout: number): Promise<boolean> {
    const sentAt = this.init.clock.now()
    const answer = await this.send(target, { type: 'ping', time: sentAt, digest: this.init.digest(), updates: this.m.piggyback(target) }, timeout)
    if (answer?.type !== 'ack') return false
    this.init.heard?.(target, { time: answer.time, digest: answer.digest, at: this.init.clock.now(), sentAt })
    return true
  }

  /** a ping-req's probe of `target` for another member: true when it acked in time (a dial first given its time, as a direct probe's) */
  async probeFor (target: string): Promise<boolean> {
    if (!this.m.isMember(target) || target === this.m.self) return false
    // a dial's time only past the connection limit: the prober waits for it there only (indirectTimeout)
    return await this.ping(target, helperTimeout(this.m.config, this.connected(target) || !this.pastLimit()))
  }

  private schedule (delay: number): void {
    if (!this.running) return
    const due = this.init.clock.now() + delay
    this.timer = this.init.clock.after(delay, () => { void this.tick(due) })
  }

  private async tick (due: number): Promise<void> {
    const startedAt = this.init.clock.now()
    this.lag.fired(due)
    // this node's own timer a probe period late: its CPU is starved, so it is the slow one (Lifeguard's local health)
    if (startedAt - due > this.m.config.probeInterval) this.m.awareness.apply(1)
    const target = this.m.nextTarget()
    if (target !== undefined && !this.inFlight.has(target)) {
      this.inFlight.add(target)
      try {
        await this.probe(target)
      } finally {
        this.inFlight.delete(target)
      }
    }
    const interval = this.m.awareness.scale(this.m.config.probeInterval)
    this.schedule(Math.max(0, startedAt + interval - this.init.clock.now()))
  }

  /**
   * One probe: direct, then indirect through `indirectChecks` members, then a suspicion. Beside the indirect probes, a TCP
   * dial of its port tells a process that is gone (refused: dead at once) from one that only stalls (accepted: accused
   * only after `stallAllowance` of silence)
   */
  private async probe (target: string): Promise<void> {
    const { config, awareness, stats } = this.m
    const { mesh, clock } = this.init
    stats.probes++
    const startedAt = clock.now()
    if (await this.ping(target, awareness.scale(directTimeout(config, this.connected(target))))) {
      awareness.apply(-1)
      return
    }
    if (!this.running) return
    if (!this.silentSince.has(target)) this.silentSince.set(target, startedAt)
    // no ack: is its process gone? (a refused dial is proof, whenever it comes; no answer is not)
    let [refused, portOpen, hostSilent] = [false, false, false]
    const onDial = (result: ProbeResult, reason: string): void => {
      if (result === 'up') portOpen = true
      if (result === 'silent') hostSilent = true
      if (result !== 'refused' || refused) return
      refused = this.refused(target, reason)
    }
    if (mesh.probe !== undefined && !this.connected(target)) {
      void mesh.probe(target).then((result) => onDial(result, 'no answer to a probe and its address refuses connections'), () => {})
    }
    const portProbe = mesh.probePort?.(target).then((result) => onDial(result, 'no answer to a probe and its port refuses connections'), () => {})
    // random, not the members this node is connected to first: a request to each is also how this node learns which it
    // cannot reach (a partition's minority must count the majority out fast)
    const helpers = this.m.pick(config.indirectChecks, (node) => node !== target && this.m.members.status(node) === 'alive')
    stats.indirect += helpers.length
    const indirectAck = await this.indirect(target, helpers)
    if (indirectAck.acked) {
      this.silentSince.delete(target)
      awareness.apply(-1)
      return
    }
    // helpers that answered nothing, not even a nack: the trouble may be ours (Lifeguard)
    awareness.apply(helpers.length > 0 ? helpers.length - indirectAck.nacks : 1)
    stats.failed++
    // a starved process runs its due timers before the I/O that waited (the dial's answer): the port's answer first, about a second at most
    await portProbe
    if (refused || !this.running) return
    const silent = clock.now() - (this.silentSince.get(target) ?? startedAt)
    // this process lagged while it waited: the missed acks may be its own fault (timeouts that fired before the answers
    // were read, answers it was too slow to give a helper). Not when its host answered no TCP dial: a kernel completes a
    // handshake while its process is starved, so that is a vanished host, whatever our lag (a starved prober reads the
    // dial's answer before its timeout: port-probe.ts)
    const lagged = this.lag.seenSince(startedAt) && !hostSilent
    if ((lagged || portOpen) && silent < config.stallAllowance) {
      // our own lag, or its host answers for it (a stalled process, probably): probe it again next, accuse it only if it
      // stays silent
      stats.stalled++
      if (lagged) {
        stats.lagged++
        awareness.apply(1)
      }
      this.m.hurry(target)
      return
    }
    // a joiner still starting its node: probed again in its turn (hurrying it would hold up every other member's probe)
    if (this.m.members.joining(target, config.joinGrace)) { stats.stalled++; return }
    this.m.members.accuse(target, `no ack to a probe nor to ${helpers.length} indirect probe${helpers.length === 1 ? '' : 's'}${portOpen ? ` for ${Math.round(silent / 100) / 10} s, though its port accepts connections` : ''}`)
  }

  /** ping-reqs through `helpers`: done at the first ack, or when all answered, or when each has had its `indirectTimeout` */
  private async indirect (target: string, helpers: string[]): Promise<{ acked: boolean, nacks: number }> {
    if (helpers.length === 0) return { acked: false, nacks: 0 }
    const past = this.pastLimit()
    let nacks = 0
    let pending = helpers.length
    return await new Promise((resolve) => {
      let done = false
      const finish = (acked: boolean): void => { if (!done) { done = true; resolve({ acked, nacks }) } }
      for (const helper of helpers) {
        void this.send(helper, { type: 'ping-req', target: target as PeerIdString, updates: this.m.piggyback(helper) }, this.m.awareness.scale(indirectTimeout(this.m.config, { past, helperConnected: this.connected(helper) }))).then((answer) => {
          if (answer?.type === 'ack') finish(true)
          if (answer?.type === 'nack') nacks++
          if (--pending === 0) finish(false)
        })
      }
    })
  }

  /**
   * a dial of `peer` was refused: it is dead (true), unless it is a joiner not started yet or a restarted member heard
   * of only second-hand, whose new process may listen elsewhere (false: no proof, the probe goes on as if unanswered)
   */
  private refused (peer: string, reason: string): boolean {
    if (!this.running || this.m.isDown(peer)) return true
    if (this.m.members.joining(peer, this.m.config.joinGrace) || this.m.newProcesses.unconfirmed(peer)) { this.m.stats.stalled++; return false }
    this.m.stats.refused++
    this.m.members.declareDead(peer, reason)
    return true
  }
}
