/**
 * SWIM's rules for what a member's status is (memberlist state.go:
 * aliveNode, suspectNode, deadNode, mergeState), over the member table:
 *
 * - alive at a higher incarnation wins over anything at a lower one; only
 *   the member itself signs its alive updates, so nobody keeps a dead node
 *   alive;
 * - suspect or dead at an incarnation at least the known one wins over
 *   alive; a suspicion becomes a death when its timer runs out (Lifeguard:
 *   shorter as independent confirmations arrive);
 * - a node that hears itself suspected or declared dead refutes: a new
 *   incarnation, signed, gossiped;
 * - what it learns for the first time it passes on (the broadcast queue).
 *
 * A member never heard of is assumed alive (it is in the replicated
 * membership, so it was admitted): the first probes and push-pull tell.
 */
import type { AliveUpdate, DeadUpdate, MemberRow, MemberStatus, MemberUpdate, SuspectUpdate } from '@minga/protocol'
import type { Clock, Timer } from '../clock.js'
import type { Awareness } from './awareness.js'
import type { BroadcastQueue } from './broadcasts.js'
import { suspicionTimeout, type MembershipConfig } from './config.js'
import { contains, difference, isSorted } from './shared-lists.js'
import { SignatureBudget } from './signature-budget.js'
import { Suspicion } from './suspicion.js'
import type { Member, MemberTable } from './table.js'

export interface MembersInit {
  self: string
  clock: Clock
  config: MembershipConfig
  table: MemberTable
  queue: BroadcastQueue
  awareness: Awareness
  /** this node's alive update at an incarnation, signed */
  sign: (inc: number) => AliveUpdate
  /** true when the member signed this alive update */
  verify: (update: AliveUpdate) => boolean
  /** told of every status change, with the reason in words */
  changed: (node: string, before: MemberStatus, after: MemberStatus, reason: string) => void
  /** members alive or suspect, this node included */
  liveCount: () => number
  /** told when a member's process start (`boot`) is first known or newer; `secondHand`: a newer one not told by the member itself */
  booted?: (node: string, boot: number, secondHand: boolean) => void
}

const short = (peer: string): string => peer.slice(-8)

/** an incarnation this far beyond our clock is nobody's (they start at a process's start time, ms): refused, never refuted */
const MAX_INC_AHEAD = 1_000_000_000
/** refutations at most this often; accusations in between are answered by the next one, ms */
const REFUTE_GAP_MS = 100

/** per member list, the digest of a table that held a row for each member and no other */
const followedTables = new WeakMap<readonly string[], string>()

export class Members {
  private own: AliveUpdate
  private readonly suspicions = new Map<string, Suspicion>()
  /** when a member last turned suspect, dead or left (alive members have no entry) */
  private readonly since = new Map<string, number>()
  /** alive updates refused for a bad signature, and accusations of an impossible incarnation */
  forged = 0
  /** alive updates left unchecked: their sender exceeded its share of signature checks */
  throttled = 0
  leaving = false
  private lastRefute = -Infinity
  private accusedSince?: number
  private refuteTimer?: Timer
  /** members not heard from yet: when their row was added (see `joining`), and whether they were admitted while this process ran */
  private readonly unheard = new Map<string, { at: number, admitted: boolean }>()
  /** alive signatures checked per sender (a member cannot make us verify floods) */
  private readonly budget: SignatureBudget
  private followed = false
  /** the member list the table last followed */
  private followedList?: readonly string[]

  constructor (private readonly init: MembersInit, readonly boot: number) {
    this.budget = new SignatureBudget(init.clock)
    this.own = init.sign(boot)
    init.table.set({ node: init.self, status: 'alive', inc: boot, alive: this.own })
  }

  /** this node's current alive update */
  get alive (): AliveUpdate {
    return this.own
  }

  get (node: string): Member | undefined {
    return this.init.table.get(node)
  }

  status (node: string): MemberStatus | undefined {
    return this.init.table.get(node)?.status
  }

  /** when the member turned suspect, dead or left; undefined while alive */
  changedAt (node: string): number | undefined {
    return this.since.get(node)
  }

  /** the members a suspicion is under way about */
  suspects (): IterableIterator<string> {
    return this.suspicions.keys()
  }

  /**
   * The table follows the replicated membership: new members are assumed
   * alive, removed ones dropped. A list that follows another (both sorted)
   * costs a walk of the two lists and a step per id that came or went, not
   * a lookup per member; the first one a lookup per member, and a pass over
   * the table only when it holds rows that are not members
   */
  follow (members: readonly string[]): void {
    const before = this.followedList
    this.followedList = members
    if (before !== undefined && isSorted(before) && isSorted(members)) {
      const { gone, added } = difference(before, members)
      for (const node of gone) if (node !== this.init.self) this.forget(node)
      for (const node of added) this.add(node)
    } else {
      const { table, self } = this.init
      // a table with the digest of one that already held every member and no other (w.h.p.: 64 bits) is left as it is:
      // the simulator's nodes that start alike walk their members once, not once each
      const member = contains(members, self)
      const digest = table.digest()
      if (member && followedTables.get(members) === digest) {
        this.followed = true
        return
      }
      for (const node of members) this.add(node)
      // every member has a row now: rows beyond them (and this node's own) are of members removed
      if (table.size > members.length + (member ? 0 : 1)) {
        const wanted = new Set(members)
        for (const row of [...table.values()]) {
          if (!wanted.has(row.node) && row.node !== self) this.forget(row.node)
        }
      }
      if (member && table.digest() === digest) followedTables.set(members, digest)
    }
    this.followed = true
  }

  /** a member of the replicated membership without a row: assumed alive, not heard of yet */
  private add (node: string): void {
    if (this.init.table.get(node) !== undefined || node === this.init.self) return
    this.init.table.set({ node, status: 'alive', inc: 0 })
    // admitted while this process runs (not in the table it started with): its first alive update is told as the joiner's node coming up
    this.unheard.set(node, { at: this.init.clock.now(), admitted: this.followed })
  }

  /**
   * A member added to this table less than `grace` ago that nobody has
   * heard from yet, first- or second-hand: a joiner between its admission
   * and its own node's start, which a probe finds silent or refusing. Not
   * accused then. (On a node that just started, every member is such a row
   * for the round trip it takes to hear of them; a member that died
   * meanwhile is known from the peers' tables at once.)
   */
  joining (node: string, grace: number): boolean {
    const added = this.unheard.get(node)
    return added !== undefined && this.init.clock.now() - added.at < grace
  }

  /** an update `from` a peer (undefined: learnt some other way) */
  apply (update: MemberUpdate, from?: string): void {
    if (update.kind !== 'alive' && update.inc > this.init.clock.now() + MAX_INC_AHEAD) { this.forged++; return }
    if (update.kind === 'alive') this.onAlive(update, from)
    else if (update.kind === 'suspect') this.onSuspect(update)
    else this.onDead(update, update.from === update.node ? 'it left the mesh' : `declared dead by ${short(update.from)}`)
  }

  /**
   * A member's row from a push-pull with `from`: its alive proof first
   * (not when it is held dead and the row's status supersedes the proof),
   * then its status. A death heard second-hand is only a suspicion, as in
   * memberlist's mergeState (a member a stale row holds dead can refute),
   * but the peer's verdict counts as one independent confirmation
   * (Lifeguard), this node's own failed probe as another. True when the row
   * turned an alive member suspect: the caller probes it at once (a
   * restarted node holds such members live until then, and the mesh has
   * moved their replicas to it). Push-pulls are few, so their signatures
   * are checked outside the senders' budgets
   */
  merge (row: MemberRow, from?: string): boolean {
    if (row.inc > this.init.clock.now() + MAX_INC_AHEAD) { this.forged++; return false }
    const self = this.init.self
    // a proof its row's status supersedes leaves a member held dead dead (memberlist's deadNode, suspectNode), not back then dead again
    const held = this.init.table.get(row.node)?.status
    const superseded = row.status !== 'alive' && (held === 'dead' || held === 'left') && (row.alive?.inc ?? 0) <= row.inc
    if (row.alive !== undefined && !superseded) this.onAlive({ kind: 'alive', node: row.node, ...row.alive })
    const known = this.init.table.get(row.node)
    if (row.status === 'left') this.onDead({ kind: 'dead', node: row.node, inc: row.inc, from: row.node }, 'it left the mesh')
    else if (row.status === 'dead' && known !== undefined && known.alive === undefined) this.onDead({ kind: 'dead', node: row.node, inc: row.inc, from: self as DeadUpdate['from'] }, 'dead in a peer\'s table')
    else if (row.status === 'dead' && from !== undefined && from !== self) {
      const before = known?.status
      this.onSuspect({ kind: 'suspect', node: row.node, inc: row.inc, from: from as SuspectUpdate['from'] }, `dead in ${short(from)}'s table`, true)
      return before === 'alive' && this.status(row.node) === 'suspect'
    } else if (row.status === 'dead' || row.status === 'suspect') this.onSuspect({ kind: 'suspect', node: row.node, inc: row.inc, from: self as SuspectUpdate['from'] })
    return false
  }

  /** this node's own probe of `node` failed, directly and indirectly: a suspicion, or a confirmation of one */
  accuse (node: string, reason: string): void {
    const known = this.init.table.get(node)
    if (known === undefined || (known.status !== 'alive' && known.status !== 'suspect')) return
    this.onSuspect({ kind: 'suspect', node: node as SuspectUpdate['node'], inc: known.inc, from: this.init.self as SuspectUpdate['from'] }, reason)
  }

  /** this node has proof the member's process is gone (its host refused a connection): dead now */
  declareDead (node: string, reason: string): void {
    const known = this.init.table.get(node)
    if (known === undefined) return
    this.onDead({ kind: 'dead', node: node as DeadUpdate['node'], inc: known.inc, from: this.init.self as DeadUpdate['from'] }, reason)
  }

  /** this node leaves: a dead update about itself, from itself */
  leave (): DeadUpdate {
    this.leaving = true
    const update: DeadUpdate = { kind: 'dead', node: this.init.self as DeadUpdate['node'], inc: this.own.inc, from: this.init.self as DeadUpdate['from'] }
    this.init.queue.push(update)
    return update
  }

  stop (): void {
    this.refuteTimer?.cancel()
    for (const suspicion of this.suspicions.values()) suspicion.cancel()
    this.suspicions.clear()
  }

  private onAlive (update: AliveUpdate, from?: string): void {
    const { table, self } = this.init
    const known = table.get(update.node)
    if (known === undefined || this.leaving) return
    if (update.node === self) {
      // our own alive, from an earlier process or a copy of our current one: refute only what is not ours
      if (update.inc >= this.own.inc && (update.inc !== this.own.inc || update.boot !== this.own.boot)) {
        if (!this.verified(update, from)) return
        this.refute(update.inc)
      }
      return
    }
    const newBoot = known.alive !== undefined && update.boot > known.alive.boot
    if (update.inc <= known.inc && !(known.alive === undefined && update.inc === known.inc) && !newBoot) return
    if (known.alive?.sig === update.sig) return
    if (!this.verified(update, from)) return
    this.cancelSuspicion(update.node)
    table.set({ node: update.node, status: 'alive', inc: Math.max(update.inc, newBoot ? 0 : known.inc), alive: update })
    this.init.queue.push(update)
    if (known.alive === undefined || newBoot) this.init.booted?.(update.node, update.boot, newBoot && from !== update.node)
    if (known.status !== 'alive') this.moved(update.node, known.status, 'alive', newBoot ? 'restarted' : `alive at a new incarnation (${known.status} before)`)
    const added = this.unheard.get(update.node)
    this.unheard.delete(update.node)
    if (known.status === 'alive' && added?.admitted === true) this.moved(update.node, 'alive', 'alive', 'joined: its node is up')
  }

  /** `confirmed`: the accuser's word counts as a confirmation (a peer's dead row: its verdict, not a fresh accusation) */
  private onSuspect (update: SuspectUpdate, reason?: string, confirmed = false): void {
    const { table, self, queue } = this.init
    const known = table.get(update.node)
    if (update.node === self && update.inc < this.own.inc) {
      this.resend()
      return
    }
    if (known === undefined || update.inc < known.inc) return
    const suspicion = this.suspicions.get(update.node)
    if (suspicion !== undefined) {
      if (suspicion.confirm(update.from)) queue.push(update)
      return
    }
    if (known.status !== 'alive') return
    if (update.node === self) {
      this.refute(update.inc)
      return
    }
    queue.push(update)
    table.set({ ...known, status: 'suspect', inc: update.inc })
    this.startSuspicion(update, confirmed)
    this.moved(update.node, 'alive', 'suspect', reason ?? `suspected by ${short(update.from)}`)
  }

  private onDead (update: DeadUpdate, reason: string): void {
    const { table, self, queue } = this.init
    const known = table.get(update.node)
    if (update.node === self && update.inc < this.own.inc && !this.leaving) {
      this.resend()
      return
    }
    if (known === undefined || update.inc < known.inc) return
    this.cancelSuspicion(update.node)
    if (known.status === 'dead' || known.status === 'left') return
    if (update.node === self) {
      if (!this.leaving) this.refute(update.inc)
      return
    }
    queue.push(update)
    const status: MemberStatus = update.from === update.node ? 'left' : 'dead'
    table.set({ ...known, status, inc: update.inc })
    this.moved(update.node, known.status, status, reason)
  }

  private startSuspicion (update: SuspectUpdate, confirmed: boolean): void {
    const { clock, config, table } = this.init
    const n = table.size
    // as many confirmations as there are others to give them (the accuser and the suspect aside; dead members can't).
    // memberlist wants none in a mesh smaller than suspicionConfirmations + 2, so one node's odd view (its own stall, one
    // bad link) kills a member of a 3-node mesh after the shortest timeout; here the third node must confirm it first
    const wanted = Math.max(0, Math.min(config.suspicionConfirmations, this.init.liveCount() - 2))
    // not stretched by local health (as in memberlist and Lifeguard, which stretch probes only): a node cut off with a
    // minority sees every probe fail, its score climbs to its top, and a stretched suspicion kept the other side
    // 'suspect' for minutes (9 × the longest); a starved node's own lag holds its accusations back instead (prober.ts)
    const min = suspicionTimeout(config, n)
    const max = config.suspicionMaxMult * min
    const node = update.node
    const inc = update.inc
    // a peer's dead row: no accuser of its own here (whoever declared it dead is not known), the peer one confirmation
    const suspicion = new Suspicion(clock, confirmed ? undefined : update.from, wanted, min, max, (confirmations) => {
      if (this.suspicions.get(node) !== suspicion) return
      this.suspicions.delete(node)
      const current = table.get(node)
      if (current?.status !== 'suspect' || current.inc !== inc) return
      this.onDead({ kind: 'dead', node, inc, from: this.init.self as DeadUpdate['from'] }, `suspect for ${Math.round((clock.now() - (this.since.get(node) ?? clock.now())) / 100) / 10} s without refuting it (${confirmations} other confirmation${confirmations === 1 ? '' : 's'})`)
    })
    this.suspicions.set(node, suspicion)
    if (confirmed) suspicion.confirm(update.from)
  }

  private cancelSuspicion (node: string): void {
    this.suspicions.get(node)?.cancel()
    this.suspicions.delete(node)
  }

  /**
   * A new incarnation above the accusation, signed and gossiped; being
   * accused counts against our own health. At most one per REFUTE_GAP_MS: a
   * flood of accusations costs a few refutations, not one each
   */
  private refute (accused: number): void {
    const now = this.init.clock.now()
    if (now - this.lastRefute < REFUTE_GAP_MS) {
      this.accusedSince = Math.max(this.accusedSince ?? 0, accused)
      this.refuteTimer ??= this.init.clock.after(this.lastRefute + REFUTE_GAP_MS - now, () => {
        this.refuteTimer = undefined
        const pending = this.accusedSince
        this.accusedSince = undefined
        if (pending !== undefined && pending >= this.own.inc && !this.leaving) this.refute(pending)
      })
      return
    }
    this.lastRefute = now
    const inc = Math.max(this.own.inc + 1, accused + 1)
    this.own = this.init.sign(inc)
    this.init.table.set({ node: this.init.self, status: 'alive', inc, alive: this.own })
    this.init.queue.push(this.own)
    this.init.awareness.apply(1)
  }

  /**
   * A peer still accuses us below our incarnation: our refutation never
   * reached it (it rode on acks to probes the accuser had given up on while
   * we stalled), so our current alive goes out again, with no new incarnation
   */
  private resend (): void {
    if (this.init.queue.peek(this.init.self) !== this.own) this.init.queue.push(this.own)
  }

  private verified (update: AliveUpdate, from?: string): boolean {
    if (from !== undefined && !this.budget.spend(from)) { this.throttled++; return false }
    if (this.init.verify(update)) return true
    this.forged++
    return false
  }

  private forget (node: string): void {
    this.cancelSuspicion(node)
    this.unheard.delete(node)
    this.since.delete(node)
    this.init.table.delete(node)
  }

  private moved (node: string, before: MemberStatus, after: MemberStatus, reason: string): void {
    if (after === 'alive') this.since.delete(node)
    else this.since.set(node, this.init.clock.now())
    this.init.changed(node, before, after, reason)
  }
}
