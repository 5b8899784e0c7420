/**
 * The serving side of the chunks protocol (wire-chunks.ts): any member may
 * ask which chunks of a root this node holds and take them, if the records
 * that name the root let it read it (access.ts) and the chunks belong to
 * that root. Chunks are read through the store, which checks each against
 * its digest before it is sent; a damaged one is dropped, never served.
 * A node that is still fetching a root serves the chunks it has: that is
 * how a new image spreads from many nodes at once.
 */
import {
  chunksOfIndex, decodeBlobIndex, decodeChunksRequest, encodeChunkFrame, encodeMessage, errorMessage, protocols,
  type BlobIndex, type ChunksRequest, type WireMessage
} from '@minga/protocol'
import type { Mesh } from '../mesh.js'
import { errorText, type Logger } from '../logger.js'
import type { RootAccess } from './access.js'
import type { ChunkStore } from './types.js'

export interface ChunkServerComponents {
  mesh: Mesh
  meshId: string
  store: ChunkStore
  access: Pick<RootAccess, 'mayRead'>
  log: Logger
  /** `chunks-get` streams served at once, at most; more are answered `busy` */
  maxStreams?: number
}

export interface ChunkServerStats {
  served: number
  bytesServed: number
  refusedRequests: number
}

const DEFAULT_MAX_STREAMS = 16
const INDEX_CACHE = 64

/** serves the chunks this node holds to members allowed to read them */
export class ChunkServer {
  readonly stats: ChunkServerStats = { served: 0, bytesServed: 0, refusedRequests: 0 }
  private readonly indexes = new Map<string, { index: BlobIndex, chunks: Set<string> }>()
  private streams = 0

  constructor (private readonly init: ChunkServerComponents) {}

  start (): void {
    const { mesh, meshId } = this.init
    mesh.handle(protocols.chunks(meshId), async (data, from) => encodeMessage(await this.answer(data, from)))
    mesh.handleStream(protocols.chunksGet(meshId), (data, from, signal) => this.send(data, from, signal))
  }

  /** the decoded index of a root held here (cached), or undefined */
  async index (root: string): Promise<{ index: BlobIndex, chunks: Set<string> } | undefined> {
    const cached = this.indexes.get(root)
    if (cached !== undefined) return cached
    const bytes = await this.init.store.get(root)
    if (bytes === undefined) return undefined
    const index = decodeBlobIndex(bytes, root)
    const entry = { index, chunks: new Set(chunksOfIndex(index)) }
    if (this.indexes.size >= INDEX_CACHE) this.indexes.delete(this.indexes.keys().next().value as string)
    this.indexes.set(root, entry)
    return entry
  }

  private async answer (data: Uint8Array, from: string): Promise<WireMessage> {
    let request: ChunksRequest
    try {
      request = decodeChunksRequest(data)
    } catch (err) {
      this.stats.refusedRequests++
      this.init.log.error('bad chunks request from %s: %s', from, errorText(err))
      return errorMessage('bad-request', errorText(err))
    }
    if (request.type === 'chunks-held') {
      return { type: 'chunks-held-ok', roots: this.init.store.roots().filter(root => this.init.access.mayRead(root, from)).slice(0, 4096) }
    }
    if (request.type !== 'chunks-has') return errorMessage('bad-request', 'chunks-get is a stream request')
    if (!this.init.access.mayRead(request.root, from)) {
      this.stats.refusedRequests++
      return errorMessage('forbidden', `This node does not serve ${request.root.slice(0, 12)} to ${from.slice(-8)}: no record lets that node's organization read it`)
    }
    const held = this.init.store.has(request.root) ? await this.index(request.root) : undefined
    const have = request.chunks.map(c => (c === request.root ? this.init.store.has(c) : held?.chunks.has(c) === true && this.init.store.has(c)) ? '1' : '0').join('')
    return { type: 'chunks-have', have }
  }

  private async * send (data: Uint8Array, from: string, signal: AbortSignal): AsyncIterable<Uint8Array> {
    let request: ChunksRequest
    try {
      request = decodeChunksRequest(data)
    } catch (err) {
      this.stats.refusedRequests++
      yield encodeChunkFrame({ type: 'error', code: 'bad-request', message: errorText(err) })
      return
    }
    if (request.type !== 'chunks-get') {
      yield encodeChunkFrame({ type: 'error', code: 'bad-request', message: `${request.type} is not a stream request` })
      return
    }
    if (!this.init.access.mayRead(request.root, from)) {
      this.stats.refusedRequests++
      yield encodeChunkFrame({ type: 'error', code: 'forbidden', message: `This node does not serve ${request.root.slice(0, 12)} to ${from.slice(-8)}` })
      return
    }
    if (this.streams >= (this.init.maxStreams ?? DEFAULT_MAX_STREAMS)) {
      yield encodeChunkFrame({ type: 'error', code: 'busy', message: 'This node serves as many chunk streams as it can; ask another holder or again soon' })
      return
    }
    this.streams++
    try {
      const held = request.chunks.some(c => c !== request.root) ? await this.index(request.root) : undefined
      for (const digest of request.chunks) {
        if (signal.aborted) return
        const belongs = digest === request.root || held?.chunks.has(digest) === true
        const bytes = belongs ? await this.init.store.get(digest) : undefined
        if (bytes === undefined) {
          yield encodeChunkFrame({ type: 'error', code: 'missing', message: `This node does not hold chunk ${digest.slice(0, 12)} of ${request.root.slice(0, 12)}` })
          return
        }
        this.stats.served++
        this.stats.bytesServed += bytes.length
        yield encodeChunkFrame({ type: 'chunk', digest, size: bytes.length }, bytes)
      }
    } finally {
      this.streams--
    }
  }
}
