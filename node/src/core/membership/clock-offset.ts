/**
 * How far this node's clock is from the mesh's, from what it already
 * exchanges: every probe's ack carries the peer's clock (`time`). Sent at
 * t1 and answered at t4 by our clock, stamped `time` by the peer's, the
 * peer's clock minus ours is `time − (t1 + t4) / 2`, wrong by at most half
 * the round trip (NTP's offset, RFC 5905 §8); of a peer's last 20 samples
 * the one with the shortest round trip counts (NTP's minimum-delay filter,
 * §10). The mesh's clock is the
 * median over this node and its peers, so one node with a bad clock moves
 * no one else's estimate. Entries stamped more than the drift bound
 * (`State`'s `maxClockAhead`, 60 s) ahead of a node's clock are refused by
 * it: a node that runs ahead writes entries the others refuse, one that runs
 * behind refuses theirs.
 */

export interface ClockOffset {
  /** ms this node's clock is ahead of the mesh's (negative: behind): the median over this node and the peers heard */
  aheadMs: number
  /** peers heard */
  peers: number
  /** peers whose clocks run so far behind this node's that they refuse its changes, and by how much this node is ahead */
  refusedBy: PeerOffset[]
  /** peers whose clocks run so far ahead of this node's that it refuses their changes */
  refusing: PeerOffset[]
}

/** ms this node's clock is ahead of one peer's (negative: behind) */
export interface PeerOffset { node: string, aheadMs: number }

/** samples kept per peer: a busy machine delays some acks by seconds, rarely twenty in a row */
const WINDOW = 20
/** peers whose samples are kept */
const MAX_PEERS = 64
/** an offset this large is worth a warning: which change wins, and the times of logs and events, go wrong long before entries are refused */
export const CLOCK_WARN_MS = 5_000

interface Sample { offset: number, rtt: number }

/** a peer's last samples, and the first of those with the shortest round trip (kept as samples come and go) */
interface Window { samples: Sample[], best: Sample }

/**
 * The last 20 offsets of each peer's clock against ours, from probe round trips (`sample`), and the estimate over the peers probed (`estimate`)
 */
export class ClockOffsets {
  /** per peer: its clock minus ours, and the round trip it was measured over */
  private readonly samples = new Map<string, Window>()

  /** `peer` answered a probe sent at `sentAt` and received at `receivedAt` (our clock) with its clock reading `peerTime` */
  sample (peer: string, peerTime: number, sentAt: number, receivedAt: number): void {
    const sample: Sample = { offset: peerTime - (sentAt + receivedAt) / 2, rtt: Math.max(0, receivedAt - sentAt) }
    const window = this.samples.get(peer)
    if (window === undefined) {
      this.samples.set(peer, { samples: [sample], best: sample })
      // the peers heard most recently are enough for a median; a mesh of thousands costs no more
      if (this.samples.size > MAX_PEERS) this.samples.delete(this.samples.keys().next().value as string)
      return
    }
    window.samples.push(sample)
    if (sample.rtt < window.best.rtt) window.best = sample
    // the best left the window: the next best of those kept (every node reads the estimate every 10 s, and on each write)
    if (window.samples.length > WINDOW && window.samples.shift() === window.best) window.best = shortest(window.samples)
  }

  /** the peers with samples, the most recently sampled last */
  peers (): IterableIterator<string> {
    return this.samples.keys()
  }

  /**
   * the estimate over these peers (the ones heard now: `include` says which of the sampled peers count when `peers`
   * is not given), or undefined when none has been heard. Every node reads it every 10 s and on each write: it allocates one array
   */
  estimate (peers: Iterable<string> | undefined, maxClockAhead: number, include?: (peer: string) => boolean): ClockOffset | undefined {
    // how far this node's clock is ahead of each peer's, this node's own 0 first
    const ahead = [0]
    let refusedBy: ClockOffset['refusedBy'] = []
    let refusing: ClockOffset['refusing'] = []
    const add = (window: Window | undefined, peer: string): void => {
      if (window === undefined || include?.(peer) === false) return
      const ms = -window.best.offset
      ahead.push(ms)
      if (ms > maxClockAhead) refusedBy = [...refusedBy, { node: peer, aheadMs: Math.round(ms) }]
      if (-ms > maxClockAhead) refusing = [...refusing, { node: peer, aheadMs: Math.round(ms) }]
    }
    if (peers === undefined) this.samples.forEach(add)
    else for (const peer of peers) add(this.samples.get(peer), peer)
    if (ahead.length === 1) return undefined
    return { aheadMs: Math.round(median(ahead)), peers: ahead.length - 1, refusedBy, refusing }
  }
}

/** the first sample with the shortest round trip (NTP's minimum-delay filter) */
function shortest (samples: readonly Sample[]): Sample {
  let best = samples[0]
  for (const sample of samples) if (sample.rtt < best.rtt) best = sample
  return best
}

/** the middle value (sorts `values` in place); of two middle values, the one nearer 0 (this node's own clock): it blames itself only on a majority */
function median (values: number[]): number {
  const sorted = values.sort((a, b) => a - b)
  const middle = sorted.length >> 1
  if (sorted.length % 2 === 1) return sorted[middle]
  return Math.abs(sorted[middle - 1]) <= Math.abs(sorted[middle]) ? sorted[middle - 1] : sorted[middle]
}

const FIX = 'fix the clock with NTP (timedatectl set-ntp true, or chrony)'

function size (ms: number): string {
  const abs = Math.abs(ms)
  return abs >= 3_600_000 ? `${Math.round(abs / 360_000) / 10} h` : abs >= 120_000 ? `${Math.round(abs / 6_000) / 10} min` : `${Math.round(abs / 100) / 10} s`
}

/**
 * What an offset means for this node, in words: `refused` when most peers
 * refuse this node's changes (its writes would be lost: it refuses them);
 * `warn` when its clock is more than CLOCK_WARN_MS from the mesh's, or some
 * peers refuse its changes or it refuses theirs; else `ok`
 */
export function clockVerdict (offset: ClockOffset | undefined, maxClockAhead: number): { level: 'ok' | 'warn' | 'refused', text: string } {
  if (offset === undefined) return { level: 'ok', text: 'no peer heard yet' }
  const bound = `${Math.round(maxClockAhead / 1000)} s`
  const from = `from probes of ${offset.peers} node${offset.peers === 1 ? '' : 's'}`
  const off = Math.abs(offset.aheadMs) > CLOCK_WARN_MS ? `This node's clock is ${size(offset.aheadMs)} ${offset.aheadMs > 0 ? 'ahead of' : 'behind'} the mesh (${from})` : undefined
  const short = (peers: PeerOffset[]): string => peers.slice(0, 3).map(p => p.node.slice(-8)).join(', ') + (peers.length > 3 ? ', …' : '')
  if (offset.refusedBy.length * 2 > offset.peers) {
    const by = median(offset.refusedBy.map(p => p.aheadMs))
    const most = offset.refusedBy.length === offset.peers ? `all ${offset.peers}` : `${offset.refusedBy.length} of ${offset.peers}`
    return { level: 'refused', text: `This node's clock is ${size(by)} ahead of the other nodes' (${most} it probed): they refuse its changes (stamped over ${bound} ahead of their clocks), so it refuses writes; ${FIX} on this server` }
  }
  const parts: string[] = []
  if (offset.refusedBy.length > 0) parts.push(`${offset.refusedBy.length} node(s) (${short(offset.refusedBy)}) run over ${bound} behind this node and refuse its changes`)
  if (offset.refusing.length > 0) parts.push(`${offset.refusing.length} node(s) (${short(offset.refusing)}) run over ${bound} ahead of this node, which refuses their changes`)
  if (off === undefined && parts.length === 0) return { level: 'ok', text: 'this node\'s clock agrees with the mesh' }
  const whose = off !== undefined ? 'on this server' : 'on whichever server is wrong'
  return { level: 'warn', text: `${off ?? 'Clocks disagree'}${parts.length > 0 ? `; ${parts.join('; ')}` : ': which change wins, and the times of logs and events, are off by as much'}; ${FIX} ${whose}` }
}
