/**
 * State sync. A local write goes out on the entries topic at once; every
 * `syncInterval` the node runs anti-entropy with one live peer (preferring
 * one whose last probe showed a different state digest, heard after this
 * node's own state last changed: a digest heard before says nothing of
 * whether the two differ now, and under a stream of writes it nearly always
 * differs by the entries still on their way by gossip): it sends its
 * high-water marks, the peer answers with what it holds above them, in
 * pages, plus those of its own marks that are above the asker's (the asker
 * only ever raises its marks to a peer's, so the others would change
 * nothing: a round costs one author's mark per author that moved, not one
 * per member). This heals lost gossip and partitions.
 */
import { decodeMessage, encodeMessage, protocols, topics, type Entry, type WireMessage } from '@minga/protocol'
import type { Timer } from '../clock.js'
import type { CoreComponents, LiveSet, NodeReports } from '../components.js'
import { errorText, type Logger } from '../logger.js'
import type { Mesh } from '../mesh.js'

export interface SyncComponents extends CoreComponents {
  mesh: Mesh
  /** picks the peer of a round: live ones, those whose last probe showed another digest first */
  liveness: Pick<LiveSet, 'live' | 'status'> & Pick<NodeReports, 'peerDigests' | 'digestHeardAt'>
  /** [0, 1), the choice of peer; the simulator passes its seeded generator */
  random: () => number
  /** the simulator shares a cache of decoded messages between its nodes */
  decode?: (data: Uint8Array) => WireMessage
}

const PAGE_SIZE = 500
const MAX_PAGES_PER_ROUND = 20
/** with every digest equal, still check one random peer every this many rounds */
const IDLE_ROUNDS_PER_CHECK = 5

/**
 * Gossip of this node's writes and anti-entropy rounds every `syncInterval` ms (see above); `round(peer)` runs one now
 * and returns the entries applied. A failed round is counted (`stats.failures`) and logged; the next one retries
 */
export class Sync {
  private timer?: Timer
  private readonly unsubscribe: Array<() => void> = []
  private running = false
  private idleRounds = 0
  /** when this node's state last changed (an entry applied, its own or a peer's), ms */
  private changedAt = -Infinity
  readonly stats = { rounds: 0, pulled: 0, failures: 0, gossipIn: 0, gossipOut: 0 }

  private readonly log: Logger

  constructor (private readonly init: SyncComponents) {
    this.log = init.logger.forComponent('sync')
  }

  start (): void {
    const { state, mesh, clock, timing, identity } = this.init
    this.unsubscribe.push(state.subscribe((applied) => {
      this.changedAt = clock.now()
      const mine = applied.filter(e => e.author === identity.peerId)
      if (mine.length > 0) this.publish(mine)
    }))
    this.unsubscribe.push(mesh.subscribe(topics.entries(state.meshId), (data, from) => { void this.onGossip(data, from) }))
    mesh.handle(protocols.sync(state.meshId), async (data, from) => await this.serve(data, from))
    this.timer = clock.every(timing.syncInterval, () => { void this.round() })
  }

  stop (): void {
    this.timer?.cancel()
    for (const off of this.unsubscribe.splice(0)) off()
  }

  private publish (entries: Entry[]): void {
    this.stats.gossipOut += entries.length
    this.init.mesh.publish(topics.entries(this.init.state.meshId), encodeMessage({ type: 'entries', entries }))
  }

  private async onGossip (data: Uint8Array, from: string): Promise<void> {
    const { state } = this.init
    if (state.memberOrg(from) === undefined || state.revoked(from) !== undefined) return
    try {
      const message = (this.init.decode ?? decodeMessage)(data)
      if (message.type !== 'entries') return
      this.stats.gossipIn += message.entries.length
      await state.merge(message.entries)
    } catch (err) {
      // malformed gossip is dropped; a failed save is retried by anti-entropy
      this.log.error('gossip from %s not merged: %s', from, errorText(err))
    }
  }

  /** answer a peer's sync request: what we hold above its marks, one page */
  private async serve (data: Uint8Array, from: string): Promise<Uint8Array> {
    const { state } = this.init
    if (state.memberOrg(from) === undefined || state.revoked(from) !== undefined) {
      return encodeMessage({ type: 'error', code: 'not-member', message: 'Only members of the mesh may sync' })
    }
    const request = (this.init.decode ?? decodeMessage)(data)
    if (request.type !== 'sync-request') return encodeMessage({ type: 'error', code: 'bad-request', message: 'Expected a sync request' })
    if (request.digest === state.digest()) return encodeMessage({ type: 'sync-response', entries: [], marks: marksAbove(state.highWaterMarks(), request.marks), more: false })
    const { entries, more, cursor } = state.entriesSince(request.marks, { limit: PAGE_SIZE, after: request.after })
    return encodeMessage({ type: 'sync-response', entries, marks: marksAbove(state.highWaterMarks(), request.marks), more, cursor })
  }

  /** one anti-entropy round with one peer; returns the number of entries applied */
  async round (peer = this.pickPeer()): Promise<number> {
    if (peer === undefined || this.running) return 0
    this.running = true
    this.stats.rounds++
    let applied = 0
    try {
      const { state, mesh } = this.init
      const marks = state.highWaterMarks()
      let after: string | undefined
      let firstMarks: Record<string, number> | undefined
      for (let page = 0; page < MAX_PAGES_PER_ROUND; page++) {
        const request = encodeMessage({ type: 'sync-request', marks, digest: state.digest(), after })
        const response = (this.init.decode ?? decodeMessage)(await mesh.request(peer, protocols.sync(state.meshId), request))
        if (response.type !== 'sync-response') throw new Error(response.type === 'error' ? response.message : 'unexpected sync answer')
        // adopt the marks of the first page: whatever they cover was already held when the paging began
        firstMarks ??= response.marks
        const result = await state.merge(response.entries, response.more ? {} : { remoteMarks: firstMarks })
        applied += result.applied.length
        this.stats.pulled += response.entries.length
        if (!response.more) break
        after = response.cursor
      }
    } catch (err) {
      this.stats.failures++
      this.log.error('anti-entropy with %s failed: %s', peer, errorText(err))
    } finally {
      this.running = false
    }
    return applied
  }

  private pickPeer (): string | undefined {
    const { liveness, identity, state, random } = this.init
    const digest = state.digest()
    const behind: string[] = []
    for (const [peer, theirs] of liveness.peerDigests()) {
      if (theirs !== digest && liveness.status(peer) !== 'dead' && (liveness.digestHeardAt(peer) ?? -Infinity) >= this.changedAt) behind.push(peer)
    }
    if (behind.length > 0) {
      this.idleRounds = 0
      return behind[Math.floor(random() * behind.length)]
    }
    if (++this.idleRounds < IDLE_ROUNDS_PER_CHECK) return undefined
    this.idleRounds = 0
    // any live peer, drawn without copying the live set (thousands of members in the simulator)
    const live = liveness.live()
    if (live.length < 2) return undefined
    for (;;) {
      const peer = live[Math.floor(random() * live.length)]
      if (peer !== identity.peerId) return peer
    }
  }
}

/** the marks of `mine` above those of `theirs` (an author they lack counts as 0): what a peer holding `theirs` can raise */
export function marksAbove (mine: Record<string, number>, theirs: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [author, mark] of Object.entries(mine)) {
    if (mark > (Object.hasOwn(theirs, author) ? theirs[author] : 0)) out[author] = mark
  }
  return out
}
