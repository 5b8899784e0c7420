/**
 * Replica reports, where the planner needs them: a node that runs or is
 * assigned replicas of a service needs what the other nodes concerned with
 * that service report of it (make before break, rolling updates, a
 * singleton that must not run twice), within a second; nobody else needs
 * them to place anything. Every node computes the same assignment, so each
 * knows the audience of a service it is concerned with (the live nodes
 * assigned it now or in the previous assignment, and those that report
 * copies of it), and sends its record of the service straight there when
 * the record changes or the audience gains a member. A record is versioned
 * (a newer one replaces it; one with no replicas says the node runs none)
 * and scoped to the sender's process (`boot`): a restarted node's old
 * records are dropped. A send is answered with the receiver's own records
 * of the same services and retried with back-off while the receiver stays
 * in the audience. A node newly concerned with a service asks its audience
 * for theirs (`want`), and until they answered the service is `pending`:
 * the reconciler starts no singleton on a guess (other services' replicas
 * start whatever the peers run). A record can arrive
 * before its receiver sees itself concerned (after a partition heals, the
 * sender may place with the merged state first): the receiver keeps no
 * such record, but remembers its sender and asks it too once concerned, so
 * a copy on a node assigned nothing of the service is never left unheard
 * (else neither it nor the owner stops a surplus copy). The senders of
 * records dropped when this node stops being concerned are remembered alike. Records travel only
 * from their node, over its authenticated connection, never relayed, so
 * they need no signature.
 */
import { encodeMessage, decodeMessage, protocols, type ReplicaItem, type ReplicaRecord, type ReplicasMessage, type ServiceId } from '@minga/protocol'
import type { Clock, Timer } from '../clock.js'
import type { PeerReplicaReport } from '../components.js'
import type { Mesh } from '../mesh.js'

export interface ReplicaRecordsInit {
  self: string
  meshId: string
  mesh: Pick<Mesh, 'request'>
  clock: Clock
  /** this process's start (the membership's boot) */
  boot: number
  /** the live nodes that should hear this node's record of `service` (see above), this node excluded */
  audience: (service: string) => Iterable<string>
  /** changes, batched: wait this long for more before sending (ms) */
  batchMs?: number
  /** a send that failed is retried after this, doubling up to `retryMaxMs` (ms) */
  retryMs?: number
  retryMaxMs?: number
  decode?: (data: Uint8Array) => ReplicasMessage
  encode?: (message: ReplicasMessage) => Uint8Array
}

interface Own { ver: number, items: readonly ReplicaItem[], key: string }
interface Box { send: Set<string>, want: Set<string>, retry: number, timer?: Timer, busy: boolean }

const DEFAULT_BATCH_MS = 20
const DEFAULT_RETRY_MS = 250
const DEFAULT_RETRY_MAX_MS = 5000
/** a service is pending at most this long: a member that does not answer by then is taken to run none of it, ms */
const PENDING_MAX_MS = 2000
/** senders of records that came before this node was concerned, remembered at most (the oldest services forgotten first) */
const MAX_EARLY = 10_000
const NONE: ReadonlyMap<string, readonly PeerReplicaReport[]> = new Map()

export class ReplicaRecords {
  private readonly own = new Map<string, Own>()
  /** service → peer → its reports, and the (boot, ver) they came with */
  private readonly held = new Map<string, Map<string, readonly PeerReplicaReport[]>>()
  private readonly versions = new Map<string, Map<string, { boot: number, ver: number }>>()
  /** the newest process start seen of each peer that sent records */
  private readonly boots = new Map<string, number>()
  /** peer → service → the version of our record it has */
  private readonly acked = new Map<string, Map<string, number>>()
  /** service → the audience our record last went to */
  private readonly audiences = new Map<string, Set<string>>()
  private readonly outbox = new Map<string, Box>()
  /** services asked for, and from whom an answer is still due */
  private readonly awaiting = new Map<string, Set<string>>()
  /** service → peers that sent a record of copies of it while this node was not concerned with it */
  private readonly early = new Map<string, Set<string>>()
  private earlyCount = 0
  private expiry?: Timer
  private concerned: ReadonlySet<string> = new Set()
  private readonly listeners = new Set<(services: ReadonlySet<string>) => void>()
  private ver: number
  private stopped = false
  readonly stats = { sent: 0, received: 0, failed: 0 }

  constructor (private readonly init: ReplicaRecordsInit) {
    // versions start from the clock, so a restarted node's records are newer than its old ones
    this.ver = init.boot
  }

  /** per peer, its last record of `service` (dead peers included: filter by the live set) */
  reportsFor (service: string): ReadonlyMap<string, readonly PeerReplicaReport[]> {
    return this.held.get(service) ?? NONE
  }

  /** true while an answer about `service` is due from a live member of its audience */
  pending (service: string): boolean {
    return (this.awaiting.get(service)?.size ?? 0) > 0
  }

  /** told which services' records from peers changed (or stopped being pending) */
  onChange (listener: (services: ReadonlySet<string>) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  stop (): void {
    this.stopped = true
    this.expiry?.cancel()
    for (const box of this.outbox.values()) box.timer?.cancel()
    this.outbox.clear()
  }

  /** what this node runs now: every record that changed goes to its audience */
  update (replicas: ReadonlyArray<{ service: string, replica: number, hash: string, healthy: boolean }>): void {
    const byService = new Map<string, ReplicaItem[]>()
    for (const r of replicas) {
      let items = byService.get(r.service)
      if (items === undefined) byService.set(r.service, items = [])
      items.push({ replica: r.replica, hash: r.hash, healthy: r.healthy })
    }
    const changed: string[] = []
    for (const [service, items] of byService) {
      items.sort((a, b) => a.replica - b.replica || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0) || Number(a.healthy) - Number(b.healthy))
      const key = items.map(i => `${i.replica}@${i.hash}:${i.healthy ? 1 : 0}`).join(',')
      if (this.own.get(service)?.key === key) continue
      this.own.set(service, { ver: ++this.ver, items, key })
      changed.push(service)
    }
    for (const [service, own] of this.own) {
      if (byService.has(service) || own.items.length === 0) continue
      this.own.set(service, { ver: ++this.ver, items: [], key: '' })
      changed.push(service)
    }
    for (const service of changed) this.offer(service)
  }

  /**
   * The assignment or the live set changed: every record goes to whoever
   * joined its audience; `concerned` are the services this node runs or is
   * assigned now: records of the others are dropped, and those it was not
   * concerned with before are asked of their audience
   */
  refresh (concerned: ReadonlySet<string>): void {
    const before = this.concerned
    this.concerned = concerned
    const changed = new Set<string>()
    for (const service of [...this.held.keys()]) {
      if (concerned.has(service)) continue
      // should it be concerned again (assignments flip while a heal settles), it asks these nodes for what they run
      for (const peer of this.held.get(service)!.keys()) this.noteEarly(service, peer, true)
      this.held.delete(service)
      this.versions.delete(service)
    }
    for (const [service, peers] of this.awaiting) {
      const audience = new Set(this.init.audience(service))
      for (const peer of peers) if (!audience.has(peer)) peers.delete(peer)
      if (peers.size === 0) { this.awaiting.delete(service); changed.add(service) }
    }
    for (const service of this.own.keys()) this.offer(service)
    for (const service of concerned) {
      if (before.has(service)) continue
      const early = this.takeEarly(service)
      for (const peer of new Set([...this.init.audience(service), ...early])) {
        if (peer === this.init.self) continue
        let peers = this.awaiting.get(service)
        if (peers === undefined) this.awaiting.set(service, peers = new Set())
        peers.add(peer)
        this.box(peer).want.add(service)
        this.flushSoon(peer)
      }
    }
    if (this.awaiting.size > 0 && this.expiry === undefined) {
      // nobody waits on a peer that never answers
      this.expiry = this.init.clock.after(PENDING_MAX_MS, () => {
        this.expiry = undefined
        const expired = new Set(this.awaiting.keys())
        this.awaiting.clear()
        if (expired.size > 0) this.emit(expired)
      })
    }
    if (changed.size > 0) this.emit(changed)
  }

  /** a peer's process started at `boot`: its records of an older process are void, and it has none of ours */
  peerBoot (peer: string, boot: number): void {
    const known = this.boots.get(peer)
    if (known !== undefined && known >= boot) return
    this.boots.set(peer, boot)
    const changed = new Set<string>()
    for (const [service, byPeer] of this.versions) {
      const held = byPeer.get(peer)
      if (held !== undefined && held.boot < boot) {
        byPeer.delete(peer)
        this.held.get(service)?.delete(peer)
        changed.add(service)
      }
    }
    if (known === undefined) return
    this.acked.delete(peer)
    for (const service of this.own.keys()) this.offer(service)
    if (changed.size > 0) this.emit(changed)
  }

  /** a `replicas` request from `from`: merge what it sent, answer with our records of those services and of what it wants */
  answer (message: ReplicasMessage, from: string): ReplicasMessage {
    this.merge(message, from)
    const services = new Set<string>([...message.records.map(r => r.service), ...(message.want ?? [])])
    const records: ReplicaRecord[] = []
    for (const service of services) {
      const own = this.own.get(service)
      if (own === undefined) continue
      records.push({ service: service as ServiceId, ver: own.ver, replicas: [...own.items] })
      this.ack(from, service, own.ver)
    }
    return { type: 'replicas', boot: this.init.boot, records }
  }

  private merge (message: ReplicasMessage, from: string): void {
    this.stats.received++
    this.peerBoot(from, message.boot)
    if (message.boot < (this.boots.get(from) ?? 0)) return
    const changed = new Set<string>()
    for (const record of message.records) {
      const service = record.service
      if (this.awaiting.get(service)?.delete(from) === true) {
        changed.add(service)
        if (this.awaiting.get(service)!.size === 0) this.awaiting.delete(service)
      }
      if (!this.concerned.has(service)) { this.noteEarly(service, from, record.replicas.length > 0); continue }
      const known = this.versions.get(service)?.get(from)
      if (known !== undefined && known.boot === message.boot && known.ver >= record.ver) continue
      let versions = this.versions.get(service)
      let byPeer = this.held.get(service)
      if (versions === undefined) this.versions.set(service, versions = new Map())
      if (byPeer === undefined) this.held.set(service, byPeer = new Map())
      versions.set(from, { boot: message.boot, ver: record.ver })
      if (record.replicas.length === 0) byPeer.delete(from)
      else byPeer.set(from, record.replicas.map(r => ({ service, replica: r.replica, hash: r.hash, healthy: r.healthy })))
      changed.add(service)
    }
    if (changed.size > 0) this.emit(changed)
  }

  /** `from` sent a record of `service` before this node was concerned with it: remember to ask it when it is (`copies`: it runs some) */
  private noteEarly (service: string, from: string, copies: boolean): void {
    let peers = this.early.get(service)
    if (!copies) {
      if (peers?.delete(from) === true) {
        this.earlyCount--
        if (peers.size === 0) this.early.delete(service)
      }
      return
    }
    if (peers === undefined) this.early.set(service, peers = new Set())
    if (peers.has(from)) return
    peers.add(from)
    this.earlyCount++
    while (this.earlyCount > MAX_EARLY) {
      const [oldest, senders] = this.early.entries().next().value as [string, Set<string>]
      this.early.delete(oldest)
      this.earlyCount -= senders.size
    }
  }

  private takeEarly (service: string): readonly string[] {
    const peers = this.early.get(service)
    if (peers === undefined) return []
    this.early.delete(service)
    this.earlyCount -= peers.size
    return [...peers]
  }

  /** drops all kept of peers not in `members` (removed from the mesh): their boot, acks, records, queued sends */
  retain (members: ReadonlySet<string>): void {
    const gone = new Set<string>()
    for (const peers of [this.boots.keys(), this.acked.keys(), this.outbox.keys(), ...this.early.values()]) for (const peer of peers) if (!members.has(peer)) gone.add(peer)
    if (gone.size === 0) return
    for (const peer of gone) {
      this.boots.delete(peer)
      this.acked.delete(peer)
      this.outbox.get(peer)?.timer?.cancel()
      this.outbox.delete(peer)
    }
    for (const [service, peers] of this.early) {
      for (const peer of gone) if (peers.delete(peer)) this.earlyCount--
      if (peers.size === 0) this.early.delete(service)
    }
    const services = [...this.versions.keys(), ...this.awaiting.keys()]
    for (const peer of gone) this.forget(peer, services)
  }

  /** how many peers something is kept of (process starts, acknowledgements, queued sends, records) */
  get trackedPeers (): number {
    return new Set([...this.boots.keys(), ...this.acked.keys(), ...this.outbox.keys(), ...[...this.versions.values()].flatMap(m => [...m.keys()])]).size
  }

  /** `peer` holds no record of these services: drop what we held of it, and expect nothing more */
  private forget (peer: string, services: readonly string[]): void {
    const changed = new Set<string>()
    for (const service of services) {
      if (this.held.get(service)?.delete(peer) === true) changed.add(service)
      this.versions.get(service)?.delete(peer)
      const awaiting = this.awaiting.get(service)
      if (awaiting?.delete(peer) === true) {
        changed.add(service)
        if (awaiting.size === 0) this.awaiting.delete(service)
      }
    }
    if (changed.size > 0) this.emit(changed)
  }

  /** queue our record of `service` for every audience member that does not have this version */
  private offer (service: string): void {
    const own = this.own.get(service)
    if (own === undefined) return
    const audience = new Set(this.init.audience(service))
    audience.delete(this.init.self)
    // who left the audience stops hearing from us: should it come back, it gets the record again
    for (const peer of this.audiences.get(service) ?? []) if (!audience.has(peer)) this.acked.get(peer)?.delete(service)
    this.audiences.set(service, audience)
    let pending = false
    for (const peer of audience) {
      if (this.acked.get(peer)?.get(service) === own.ver) continue
      pending = true
      this.box(peer).send.add(service)
      this.flushSoon(peer)
    }
    // a record saying "none" that the whole audience has: forget it
    if (!pending && own.items.length === 0) {
      this.own.delete(service)
      this.audiences.delete(service)
    }
  }

  private box (peer: string): Box {
    let box = this.outbox.get(peer)
    if (box === undefined) this.outbox.set(peer, box = { send: new Set(), want: new Set(), retry: 0, busy: false })
    return box
  }

  private flushSoon (peer: string, delay = this.init.batchMs ?? DEFAULT_BATCH_MS): void {
    const box = this.outbox.get(peer)
    if (box === undefined || box.timer !== undefined || box.busy || this.stopped) return
    box.timer = this.init.clock.after(delay, () => {
      box.timer = undefined
      void this.flush(peer, box)
    })
  }

  private async flush (peer: string, box: Box): Promise<void> {
    if (this.stopped) return
    const records: ReplicaRecord[] = []
    for (const service of box.send) {
      const own = this.own.get(service)
      if (own !== undefined) records.push({ service: service as ServiceId, ver: own.ver, replicas: [...own.items] })
    }
    const want = [...box.want].filter(s => !box.send.has(s)) as ServiceId[]
    box.send.clear()
    box.want.clear()
    if (records.length === 0 && want.length === 0) { this.outbox.delete(peer); return }
    const message: ReplicasMessage = { type: 'replicas', boot: this.init.boot, records, ...(want.length > 0 ? { want } : {}) }
    box.busy = true
    try {
      this.stats.sent++
      const data = await this.init.mesh.request(peer, protocols.membership(this.init.meshId), (this.init.encode ?? encodeMessage)(message))
      const reply = (this.init.decode ?? ((bytes) => decodeMessage(bytes, { types: ['replicas'] }) as ReplicasMessage))(data)
      if (reply.type !== 'replicas') throw new Error('Not a replicas answer')
      for (const record of records) this.ack(peer, record.service, record.ver)
      this.merge(reply, peer)
      // services asked about that it answered nothing of: it runs none of them
      const answered = new Set<string>(reply.records.map(r => r.service))
      this.forget(peer, [...records.map(r => r.service), ...want].filter(s => !answered.has(s)))
      box.retry = 0
    } catch {
      this.stats.failed++
      if (this.stopped) return
      // still in the audience? then again, later
      for (const record of records) if (this.audiences.get(record.service)?.has(peer) === true) box.send.add(record.service)
      for (const service of want) if (this.awaiting.get(service)?.has(peer) === true) box.want.add(service)
      const base = this.init.retryMs ?? DEFAULT_RETRY_MS
      box.retry = Math.min(this.init.retryMaxMs ?? DEFAULT_RETRY_MAX_MS, box.retry === 0 ? base : box.retry * 2)
    } finally {
      box.busy = false
    }
    if (box.send.size > 0 || box.want.size > 0) this.flushSoon(peer, box.retry > 0 ? box.retry : undefined)
    else if (box.timer === undefined) this.outbox.delete(peer)
  }

  private ack (peer: string, service: string, ver: number): void {
    let byService = this.acked.get(peer)
    if (byService === undefined) this.acked.set(peer, byService = new Map())
    if ((byService.get(service) ?? 0) < ver) byService.set(service, ver)
  }

  private emit (services: ReadonlySet<string>): void {
    for (const listener of this.listeners) listener(services)
  }
}
