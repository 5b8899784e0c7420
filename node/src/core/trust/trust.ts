/**
 * Trust between organizations: removing a node, and removing an organization
 * by a vote of the others. Sans I/O, like the rest of the core.
 *
 * - `removeNode` writes `revoked/<peer>` with the highest seq of the node
 *   that this node holds, after marking the node's open invites revoked.
 * - Upkeep, on every governance-relevant change: a node that holds entries
 *   of a removed node above the revocation's `lastSeq` (it accepted them
 *   before the revocation arrived) raises the revocation to cover them, so
 *   every node ends up holding the same entries; and once a removal of an
 *   organization has passed, the nodes of the other organizations carry it
 *   out: its nodes revoked, its services and secrets deleted, its invites
 *   revoked. Every node computes the same work; the lowest-ranked live node
 *   does it at once and the others only if it is still undone later, so a
 *   dead enactor delays the removal by seconds, never blocks it.
 */
import {
  keys, majorityOf, proposalId, proposals, removalOf, removedOrgs, tally,
  type Entry, type InviteRecord, type ProposalRecord, type RecordKey, type RevokedRecord, type State, type Tally
} from '@minga/protocol'
import type { Timer } from '../clock.js'
import type { CoreComponents, LiveSet } from '../components.js'
import { BadRequestError, ForbiddenError, NotFoundError } from '../../errors.js'
import { errorText, type Logger } from '../logger.js'
import { SerialTask } from '../task.js'

export interface TrustComponents extends CoreComponents {
  /** the enactor of a passed removal is the lowest-ranked live node */
  liveness: Pick<LiveSet, 'live'>
}

export interface RemovedNode { node: string, org: string, lastSeq: number, invitesRevoked: number }

const TRUST_KEYS = ['revoked/', 'proposal/', 'vote/', 'member/']

/** one write a passed removal requires: a node revoked, an invite marked revoked, a service, secret or config chunk deleted */
type Enactment =
  | { key: RecordKey<'revoked'>, value: RevokedRecord }
  | { key: RecordKey<'invite'>, value: InviteRecord }
  | { key: RecordKey<'service' | 'secret' | 'config'>, value: undefined }
const UPKEEP_DEBOUNCE = 100

/**
 * Trust between organizations (see above): `removeNode`, `proposeOrgRemoval`, `approve`, `proposals`; its upkeep raises
 * revocations and carries out passed removals
 */
export class Trust {
  private readonly unsubscribe: Array<() => void> = []
  private retry?: Timer
  readonly stats = { raises: 0, enacted: 0, failures: 0 }

  private readonly log: Logger
  private readonly upkeepTask: SerialTask<void>

  constructor (private readonly init: TrustComponents) {
    this.log = init.logger.forComponent('trust')
    this.upkeepTask = new SerialTask(init.clock, UPKEEP_DEBOUNCE, async () => await this.upkeepPass(), () => undefined)
  }

  start (): void {
    this.upkeepTask.start()
    this.unsubscribe.push(this.init.state.subscribe((applied) => {
      if (applied.some(e => TRUST_KEYS.some(prefix => e.key.startsWith(prefix)))) this.schedule()
    }))
    this.schedule()
  }

  stop (): void {
    this.upkeepTask.stop()
    this.retry?.cancel()
    for (const off of this.unsubscribe.splice(0)) off()
  }

  private get self (): string { return this.init.identity.peerId }

  private ownOrg (): string {
    const org = this.init.state.memberOrg(this.self)
    if (org === undefined) throw new ForbiddenError('This node is not a member of the mesh yet; run "minga join TOKEN" first')
    if (this.init.state.revoked(this.self) !== undefined) throw new ForbiddenError('This node was removed from the mesh; it can no longer act in it')
    return org
  }

  /** `minga node rm`: revoke a node of this node's org (or this node itself) everywhere */
  async removeNode (peer: string, reason: string): Promise<RemovedNode> {
    const { state } = this.init
    const org = this.ownOrg()
    const peerOrg = state.memberOrg(peer)
    if (peerOrg === undefined) throw new NotFoundError(`No member node ${peer}; "minga nodes" lists them`)
    if (peer !== this.self && peerOrg !== org) throw new ForbiddenError(`Only members of ${peerOrg} remove its nodes; this node belongs to ${org}. To remove an organization, propose it with "minga org rm ${peerOrg}"`)
    const existing = state.revoked(peer)
    if (existing !== undefined) return { node: peer, org: peerOrg, lastSeq: existing.lastSeq, invitesRevoked: 0 }
    const invitesRevoked = await this.revokeInvites(e => e.author === peer)
    // everything of it this node holds stands (for a node removing itself: everything before this entry)
    const lastSeq = coveredSeq(state, peer)
    await state.write(this.init.identity, keys.revoked(peer), { lastSeq, reason })
    this.emit('node-removed', peer, `removed from ${peerOrg}: ${reason}`)
    return { node: peer, org: peerOrg, lastSeq: state.revoked(peer)?.lastSeq ?? lastSeq, invitesRevoked }
  }

  /** `minga org rm`: open a proposal to remove `target`, with this node's org's approval */
  async proposeOrgRemoval (target: string, reason: string): Promise<Tally> {
    const { state } = this.init
    const org = this.ownOrg()
    if (state.value(keys.org(target)) === undefined) throw new NotFoundError(`No organization ${target}; "minga nodes" shows the organizations`)
    if (removalOf(state, target) !== undefined) throw new BadRequestError(`${target} was already removed from the mesh`)
    const removed = removedOrgs(state)
    const electorate = state.list('org/').map(e => e.key.slice('org/'.length)).filter(o => o !== target && !removed.has(o)).sort()
    if (electorate.length === 0) throw new BadRequestError(`${target} is the only organization of the mesh; there is nobody to decide its removal`)
    const proposal: ProposalRecord = { action: 'remove-org', org: target, reason, electorate, opened: this.init.clock.now() }
    const id = proposalId(this.self, proposal)
    await state.write(this.init.identity, keys.proposal(id), proposal)
    if (electorate.includes(org)) await state.write(this.init.identity, keys.vote(id, org), { approve: true })
    return tally(state, id)!
  }

  /** `minga org approve`: this node's org approves a proposal (once; the first vote of an org counts) */
  async approve (ref: string): Promise<Tally> {
    const { state } = this.init
    const org = this.ownOrg()
    const id = this.resolveProposal(ref)
    const current = tally(state, id)!
    if (!current.proposal.electorate.includes(org)) throw new ForbiddenError(`${org} does not vote on proposal ${id}: its electorate is ${current.proposal.electorate.join(', ')}`)
    if (state.value(keys.vote(id, org)) === undefined) await state.write(this.init.identity, keys.vote(id, org), { approve: true })
    return tally(state, id)!
  }

  proposals (): Array<Tally & { author?: string, opened: string }> {
    return proposals(this.init.state).map(t => ({ ...t, author: this.init.state.get(keys.proposal(t.id))?.author, opened: new Date(t.proposal.opened).toISOString() }))
  }

  /** a proposal by full id or unique prefix */
  resolveProposal (ref: string): string {
    const ids = this.init.state.list('proposal/').map(e => e.key.slice('proposal/'.length)).filter(id => id.startsWith(ref))
    if (ids.length === 1) return ids[0]
    if (ids.length === 0) throw new NotFoundError(`No proposal ${ref}; "minga org proposals" lists them`)
    throw new BadRequestError(`"${ref}" matches ${ids.length} proposals; give more of the id`)
  }

  /** majority rule, for messages */
  static needed (electorate: number): number { return majorityOf(electorate) }

  // --- upkeep ------------------------------------------------------------

  /** an upkeep pass soon (debounced), after a governance-relevant change */
  schedule (): void {
    this.upkeepTask.schedule()
  }

  /** one pass: raise revocations this node holds more of, and carry out passed removals */
  async upkeep (): Promise<void> {
    await this.upkeepTask.run()
  }

  private async upkeepPass (): Promise<void> {
    try {
      const { state } = this.init
      if (state.memberOrg(this.self) === undefined || state.revoked(this.self) !== undefined) return
      await this.raiseRevocations()
      const work = this.enactmentWork()
      if (work.length > 0) {
        const rank = this.enactorRank()
        if (rank === 0) await this.enact(work)
        else if (this.retry === undefined) {
          this.retry = this.init.clock.after(rank * this.init.timing.syncInterval * 2, () => {
            this.retry = undefined
            void this.enact(this.enactmentWork()).catch((err) => {
              this.stats.failures++
              this.log.error('carrying out a removal failed: %s', errorText(err))
            })
          })
        }
      }
    } catch (err) {
      this.stats.failures++
      this.log.error('trust upkeep failed: %s', errorText(err))
    }
  }

  private async raiseRevocations (): Promise<void> {
    const { state } = this.init
    const org = state.memberOrg(this.self)
    const revocations = state.records('revoked')
    if (revocations.length === 0) return
    // one pass over the state: the highest held entry of every removed node
    const removed = new Set(revocations.map(e => e.key.slice('revoked/'.length)))
    const highest = new Map<string, Entry>()
    for (const entry of state.all()) {
      if (removed.has(entry.author) && (highest.get(entry.author)?.seq ?? 0) < entry.seq) highest.set(entry.author, entry)
    }
    for (const entry of revocations) {
      const peer = entry.key.slice('revoked/'.length)
      const record = entry.value
      if (peer === this.self) continue
      const held = highest.get(peer)
      if (held === undefined || held.seq <= record.lastSeq) continue
      const peerOrg = state.memberOrg(peer)
      const vouched = peerOrg === org || (peerOrg !== undefined && removalOf(state, peerOrg) !== undefined)
      const value: RevokedRecord = vouched ? { lastSeq: held.seq, reason: record.reason } : { lastSeq: held.seq, reason: record.reason, proof: held }
      await state.write(this.init.identity, entry.key, value)
      this.stats.raises++
    }
  }

  /** what a passed removal still requires, as writes (a value undefined deletes) */
  private enactmentWork (): Enactment[] {
    const { state } = this.init
    const own = state.memberOrg(this.self)
    const work: Enactment[] = []
    for (const org of removedOrgs(state)) {
      if (org === own) continue
      const why = `organization ${org} removed by proposal ${removalOf(state, org)!.id}`
      for (const [peer, peerOrg] of state.members()) {
        if (peerOrg === org && state.revoked(peer) === undefined) work.push({ key: keys.revoked(peer), value: { lastSeq: coveredSeq(state, peer), reason: why } })
      }
      for (const entry of [...state.records('service', `${org}/`), ...state.records('secret', `${org}/`), ...state.records('config', `${org}/`)]) work.push({ key: entry.key, value: undefined })
      for (const entry of state.records('invite')) {
        const invite = entry.value
        if (invite.issuerOrg === org && invite.revokedAt === undefined && invite.expires > this.init.clock.now()) {
          work.push({ key: entry.key, value: { ...invite, revokedAt: state.clock.tick() } })
        }
      }
    }
    return work
  }

  private async enact (work: Enactment[]): Promise<void> {
    for (const { key, value } of work) {
      await this.init.state.write(this.init.identity, key, value)
      this.stats.enacted++
      if (value !== undefined && 'lastSeq' in value) this.emit('node-removed', key.slice('revoked/'.length), value.reason)
    }
  }

  /** this node's place among the live nodes that may carry out a removal (0 = first) */
  private enactorRank (): number {
    const { state, liveness } = this.init
    const removed = removedOrgs(state)
    const candidates = liveness.live().filter(p => !removed.has(state.memberOrg(p) ?? '')).sort()
    const rank = candidates.indexOf(this.self)
    return rank < 0 ? candidates.length : rank
  }

  private async revokeInvites (match: (entry: Entry) => boolean): Promise<number> {
    const { state } = this.init
    let count = 0
    for (const entry of state.records('invite')) {
      const invite = entry.value
      if (!match(entry) || invite.revokedAt !== undefined || invite.expires <= this.init.clock.now()) continue
      await state.write(this.init.identity, entry.key, { ...invite, revokedAt: state.clock.tick() })
      count++
    }
    return count
  }

  private emit (kind: 'node-removed', subject: string, reason: string): void {
    this.init.events.emit({ time: this.init.clock.now(), node: this.self, kind, subject, reason })
  }
}

/** the held entry of `peer` with the highest seq */
export function highestHeld (state: State, peer: string): Entry | undefined {
  let best: Entry | undefined
  for (const entry of state.all()) if (entry.author === peer && (best === undefined || entry.seq > best.seq)) best = entry
  return best
}

/** the seq up to which a revocation written now keeps a node's entries: all this node holds or has settled */
export function coveredSeq (state: State, peer: string): number {
  return Math.max(highestHeld(state, peer)?.seq ?? 0, state.highWaterMarks()[peer] ?? 0)
}
