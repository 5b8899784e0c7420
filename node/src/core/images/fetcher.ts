/**
 * Takes a root's chunks from the nodes that hold them, several at once:
 * first the index (one chunk, checked against the root), then every chunk
 * it names that this node lacks. It asks the candidates which chunks they
 * hold (`chunks-has`), takes the rarest first (in random order among equally
 * rare ones) from whoever has them, at most
 * `window` requests of `batch` chunks per holder at a time, and asks again
 * every `surveyMs` while it works, so chunks that other fetchers got meanwhile
 * are taken from them too (a new image spreads like a torrent, not from one
 * node to all). Every chunk is checked against its digest by the store: a
 * holder that sends one that does not match is counted, reported and not
 * asked again during this fetch. It gives up when no chunk arrived for
 * `stallMs`, saying what each holder answered.
 */
import {
  MAX_GET_CHUNKS, MAX_HAS_CHUNKS, chunksOfIndex, decodeBlobIndex, decodeChunkFrame, decodeChunksResponse, encodeMessage, nameOf, protocols,
  type BlobIndex
} from '@minga/protocol'
import type { Clock } from '../clock.js'
import type { Mesh } from '../mesh.js'
import { errorText, type Logger } from '../logger.js'
import { ImageFetchError } from '../../errors.js'
import type { AbortOptions } from '../../runtime/types.js'
import type { ChunkStore } from './types.js'

export interface FetcherComponents {
  mesh: Mesh
  meshId: string
  store: ChunkStore
  clock: Clock
  log: Logger
  /** a holder sent a chunk whose bytes do not match its digest */
  onRefused?: (peer: string, chunk: string) => void
  /** requests of `batch` chunks in flight per holder (default 2) */
  window?: number
  /** chunks per request (default 8) */
  batch?: number
  /** ms between surveys of who holds what while fetching (default 1000) */
  surveyMs?: number
  /** ms without a new chunk before giving up (default 30 s) */
  stallMs?: number
  /** ms for one request (default 60 s) */
  requestMs?: number
}

export interface FetchProgress {
  chunks: number
  done: number
  bytes: number
  doneBytes: number
  /** holders that gave chunks so far */
  holders: number
}

export interface FetchOptions extends AbortOptions {
  /** peers to ask, best first (never this node) */
  candidates: () => string[]
  /** the chunks needed, given the index (default: all of them) */
  want?: (index: BlobIndex) => string[]
  onProgress?: (progress: FetchProgress) => void
}

export interface FetchResult {
  index: BlobIndex
  /** chunks taken from the mesh */
  fetched: number
  bytes: number
  /** chunks taken from each holder */
  from: Record<string, number>
}

interface PeerState {
  has: Set<string>
  inflight: number
  /** why it is not asked again during this fetch */
  banned?: string
  /** what it answered last, for the error when the fetch gives up */
  said?: string
  failures: number
  /** local ms before which it is not asked again after a failure */
  restUntil: number
}

export interface FetcherStats {
  fetched: number
  bytesFetched: number
  /** chunks refused because their bytes did not match their digest */
  refused: number
  requests: number
  failedRequests: number
}

const DEFAULTS = { window: 2, batch: 8, surveyMs: 1000, stallMs: 30_000, requestMs: 60_000 }
const SURVEY_PARALLEL = 16

/** fetches roots from the mesh into the store (see above); one fetch per root at a time is the caller's to ensure */
export class ChunkFetcher {
  readonly stats: FetcherStats = { fetched: 0, bytesFetched: 0, refused: 0, requests: 0, failedRequests: 0 }
  private readonly opts: typeof DEFAULTS

  constructor (private readonly init: FetcherComponents) {
    this.opts = {
      window: init.window ?? DEFAULTS.window,
      batch: Math.min(MAX_GET_CHUNKS, init.batch ?? DEFAULTS.batch),
      surveyMs: init.surveyMs ?? DEFAULTS.surveyMs,
      stallMs: init.stallMs ?? DEFAULTS.stallMs,
      requestMs: init.requestMs ?? DEFAULTS.requestMs
    }
  }

  /** the root's index and the chunks `want` names are in the store when this resolves; ImageFetchError when the mesh cannot give them */
  async fetch (root: string, options: FetchOptions): Promise<FetchResult> {
    const run = new FetchRun(this, this.init, this.opts, root, options)
    return await run.go()
  }
}

/** one fetch of one root: its peers, what they hold, what is in flight */
class FetchRun {
  private readonly peers = new Map<string, PeerState>()
  private readonly remaining = new Set<string>()
  private readonly inflight = new Set<string>()
  private readonly from: Record<string, number> = {}
  private readonly sizes = new Map<string, number>()
  private readonly ranks = new Map<string, number>()
  private progress: FetchProgress = { chunks: 0, done: 0, bytes: 0, doneBytes: 0, holders: 0 }
  private lastProgress: number
  private wake?: () => void
  private surveyedAt = -Infinity

  constructor (
    private readonly fetcher: ChunkFetcher,
    private readonly init: FetcherComponents,
    private readonly opts: { window: number, batch: number, surveyMs: number, stallMs: number, requestMs: number },
    private readonly root: string,
    private readonly options: FetchOptions
  ) {
    this.lastProgress = init.clock.now()
  }

  async go (): Promise<FetchResult> {
    const { store } = this.init
    const before = { fetched: this.fetcher.stats.fetched, bytes: this.fetcher.stats.bytesFetched }
    if (!store.has(this.root)) await this.take([this.root])
    const bytes = await store.get(this.root)
    if (bytes === undefined) throw new ImageFetchError(`The index ${this.root.slice(0, 12)} was stored but cannot be read back; try again`)
    const index = decodeBlobIndex(bytes, this.root)
    const wanted = this.options.want?.(index) ?? chunksOfIndex(index)
    for (const file of index.files) {
      const last = file.size - (file.chunks.length - 1) * 1024 * 1024
      file.chunks.forEach((c, i) => this.sizes.set(c, i === file.chunks.length - 1 ? last : 1024 * 1024))
    }
    const missing = wanted.filter(c => !store.has(c))
    this.progress = { chunks: wanted.length, done: wanted.length - missing.length, bytes: 0, doneBytes: 0, holders: 0 }
    for (const c of wanted) this.progress.bytes += this.sizes.get(c) ?? 0
    for (const c of wanted) if (store.has(c)) this.progress.doneBytes += this.sizes.get(c) ?? 0
    if (missing.length > 0) await this.take(missing)
    if (wanted.length === chunksOfIndex(index).length) await store.markRoot(this.root)
    return { index, fetched: this.fetcher.stats.fetched - before.fetched, bytes: this.fetcher.stats.bytesFetched - before.bytes, from: { ...this.from } }
  }

  /** takes these chunks from the candidates until all are stored */
  private async take (chunks: string[]): Promise<void> {
    for (const c of chunks) this.remaining.add(c)
    this.lastProgress = this.init.clock.now()
    while (this.remaining.size > 0) {
      this.options.signal?.throwIfAborted()
      const now = this.init.clock.now()
      if (now - this.surveyedAt >= this.opts.surveyMs) {
        this.surveyedAt = now
        await this.survey()
      }
      this.assign()
      if (this.remaining.size === 0) break
      if (this.init.clock.now() - this.lastProgress > this.opts.stallMs) throw this.stalled()
      await this.idle(this.opts.surveyMs)
    }
  }

  /** asks every candidate not banned which of the remaining chunks it holds */
  private async survey (): Promise<void> {
    const { mesh, meshId, clock } = this.init
    const ask = [...this.remaining].filter(c => !this.inflight.has(c)).slice(0, MAX_HAS_CHUNKS)
    if (ask.length === 0) return
    const peers = this.options.candidates().filter(p => this.peers.get(p)?.banned === undefined && (this.peers.get(p)?.restUntil ?? 0) <= clock.now())
    const queue = [...peers]
    const worker = async (): Promise<void> => {
      for (let peer = queue.shift(); peer !== undefined; peer = queue.shift()) {
        const state = this.peer(peer)
        const deadline = clockDeadline(clock, 5000, this.options.signal)
        try {
          const answer = decodeChunksResponse(await mesh.request(peer, protocols.chunks(meshId), encodeMessage({ type: 'chunks-has', root: this.root, chunks: ask }), { signal: deadline.signal }), 'chunks-have')
          for (let i = 0; i < ask.length; i++) if (answer.have[i] === '1') state.has.add(ask[i]); else state.has.delete(ask[i])
          state.said = `holds ${[...answer.have].filter(h => h === '1').length} of ${ask.length} chunks asked`
        } catch (err) {
          state.said = errorText(err)
          if ((err as { code?: string }).code === 'forbidden') state.banned = state.said
          else this.rest(state)
        } finally {
          deadline.dispose()
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(SURVEY_PARALLEL, queue.length) }, async () => await worker()))
  }

  /** starts requests on holders with room in their window, rarest chunks first */
  private assign (): void {
    const now = this.init.clock.now()
    const rarity = new Map<string, number>()
    for (const state of this.peers.values()) if (state.banned === undefined) for (const c of state.has) rarity.set(c, (rarity.get(c) ?? 0) + 1)
    // the least busy holders first, and no holder more than its share of what is left: the load spreads
    const peers = [...this.peers.entries()].filter(([, s]) => s.banned === undefined && s.restUntil <= now && s.has.size > 0).sort((a, b) => a[1].inflight - b[1].inflight)
    const open = [...this.remaining].filter(c => !this.inflight.has(c)).length
    const share = Math.max(1, Math.min(this.opts.batch, Math.ceil(open / Math.max(1, peers.length))))
    for (const [peer, state] of peers) {
      while (state.inflight < this.opts.window) {
        const pick = [...state.has].filter(c => this.remaining.has(c) && !this.inflight.has(c))
          .sort((a, b) => (rarity.get(a) ?? 0) - (rarity.get(b) ?? 0) || this.order(a) - this.order(b)).slice(0, share)
        if (pick.length === 0) break
        for (const c of pick) this.inflight.add(c)
        state.inflight++
        void this.request(peer, state, pick).finally(() => {
          state.inflight--
          for (const c of pick) this.inflight.delete(c)
          this.wake?.()
        })
      }
    }
  }

  /** one `chunks-get` stream: each chunk stored as it arrives, checked against its digest */
  private async request (peer: string, state: PeerState, chunks: string[]): Promise<void> {
    const { mesh, meshId, store, clock, log } = this.init
    const stats = this.fetcher.stats
    stats.requests++
    const deadline = clockDeadline(clock, this.opts.requestMs, this.options.signal)
    let next = 0
    try {
      for await (const bytes of mesh.stream(peer, protocols.chunksGet(meshId), encodeMessage({ type: 'chunks-get', root: this.root, chunks }), { signal: deadline.signal })) {
        const frame = decodeChunkFrame(bytes)
        if (frame.header.type === 'error') {
          state.said = frame.header.message
          if (frame.header.code === 'forbidden') state.banned = frame.header.message
          // it no longer has what it said: ask again before counting on it
          if (frame.header.code === 'missing') for (const c of chunks.slice(next)) state.has.delete(c)
          break
        }
        const expected = chunks[next]
        if (frame.header.digest !== expected) throw new ImageFetchError(`${peer.slice(-8)} sent chunk ${frame.header.digest.slice(0, 12)} instead of ${expected?.slice(0, 12)}`)
        next++
        try {
          if (!store.has(expected)) await store.put(expected, frame.payload)
        } catch (err) {
          if (nameOf(err) !== 'ChunkMismatchError') throw err
          stats.refused++
          state.banned = `sent chunk ${expected.slice(0, 12)} whose bytes do not match its digest`
          state.said = state.banned
          this.init.onRefused?.(peer, expected)
          return
        }
        if (this.remaining.delete(expected)) {
          stats.fetched++
          stats.bytesFetched += frame.payload.length
          this.from[peer] = (this.from[peer] ?? 0) + 1
          this.progress.done++
          this.progress.doneBytes += frame.payload.length
          this.progress.holders = Object.keys(this.from).length
          this.lastProgress = clock.now()
          this.options.onProgress?.({ ...this.progress })
        }
      }
      if (next < chunks.length) this.rest(state)
    } catch (err) {
      stats.failedRequests++
      state.said = errorText(err)
      this.rest(state)
      log('chunks from %s failed: %s', peer, state.said)
    } finally {
      deadline.dispose()
    }
  }

  /**
   * this run's random rank of a chunk, which breaks ties of rarity: fetchers
   * that all start from one holder take different chunks from it, and so
   * have something to give each other (BitTorrent's "random first piece",
   * Cohen 2003, §3.2). In index order they all took the same chunks at the
   * same time and each got nearly all from the first holder
   */
  private order (chunk: string): number {
    let rank = this.ranks.get(chunk)
    if (rank === undefined) this.ranks.set(chunk, rank = Math.random())
    return rank
  }

  private peer (id: string): PeerState {
    let state = this.peers.get(id)
    if (state === undefined) this.peers.set(id, state = { has: new Set(), inflight: 0, failures: 0, restUntil: 0 })
    return state
  }

  /** a failed holder rests a growing while (0.5, 1, 2… s, at most 8) before it is asked again */
  private rest (state: PeerState): void {
    state.failures++
    state.restUntil = this.init.clock.now() + Math.min(8000, 500 * 2 ** (state.failures - 1))
  }

  /** until a request ends or `ms` pass */
  private async idle (ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = this.init.clock.after(ms, () => { this.wake = undefined; resolve() })
      this.wake = () => { timer.cancel(); this.wake = undefined; resolve() }
    })
  }

  private stalled (): ImageFetchError {
    const said = [...this.peers.entries()].map(([peer, s]) => `${peer.slice(-8)}: ${s.banned ?? s.said ?? 'not asked'}`)
    const asked = said.length === 0 ? 'no member was reachable to ask' : said.slice(0, 8).join('; ')
    return new ImageFetchError(`No chunk of ${this.root.slice(0, 12)} arrived for ${Math.round(this.opts.stallMs / 1000)} s; ${this.remaining.size} chunk(s) missing (${asked}). Push the image again from a node that has it (minga image push), or check that its holders are up`)
  }
}

/** a signal that aborts after `ms` of `clock` time, or with `outer` */
export function clockDeadline (clock: Clock, ms: number, outer?: AbortSignal): { signal: AbortSignal, dispose: () => void } {
  const controller = new AbortController()
  const onAbort = (): void => controller.abort(outer?.reason)
  if (outer?.aborted === true) controller.abort(outer.reason)
  else outer?.addEventListener('abort', onAbort, { once: true })
  const timer = clock.after(ms, () => controller.abort(new DOMException(`No answer within ${ms} ms`, 'TimeoutError')))
  return { signal: controller.signal, dispose: () => { timer.cancel(); outer?.removeEventListener('abort', onAbort) } }
}
