/**
 * The holder's side of the blob protocol (protocols.blobs, protocols.blobGet):
 * it answers other nodes' puts, has and gets against its `BlobStore`. It
 * needs no key: blobs are ciphertext named by their hash, and the store
 * checks every byte against the name. Who may write a repository's blobs is
 * the owner's decision (`mayWrite`, from replicated state); `from` is the
 * mesh's authenticated sender, never a claim in the message.
 */
import {
  decodeBlobFrame, encodeBlobFrame, protocols, type BlobErrorCode, type BlobHeader, type BlobRequest, type RepoId
} from '@minga/protocol'
import type { Mesh } from '../core/mesh.js'
import type { BlobStore } from './blob-store.js'
import { BlobError } from './errors.js'

export interface BlobHolderInit {
  mesh: Mesh
  meshId: string
  store: BlobStore
  /** may `from` store blobs of `repo` here (a node the owning org trusts with it) */
  mayWrite: (from: string, repo: RepoId) => boolean
  /** may `from` read blobs of `repo` (ciphertext; any member, by default) */
  mayRead?: (from: string, repo: RepoId) => boolean
}

export class BlobHolder {
  readonly stats = { puts: 0, stored: 0, gets: 0, refused: 0, corrupt: 0 }

  constructor (private readonly init: BlobHolderInit) {}

  start (): void {
    const { mesh, meshId } = this.init
    mesh.handle(protocols.blobs(meshId), async (data, from) => await this.answer(data, from))
    mesh.handleStream(protocols.blobGet(meshId), (data, from, signal) => this.serveGet(data, from, signal))
  }

  private async answer (data: Uint8Array, from: string): Promise<Uint8Array> {
    let request: BlobRequest
    let payload: Uint8Array
    try {
      ({ header: request, payload } = decodeBlobFrame(data, ['blob-put', 'blob-has']))
    } catch (err: any) {
      return refusal('bad-request', err.message)
    }
    const { store } = this.init
    try {
      if (request.type === 'blob-has') {
        if (!this.mayRead(from, request.repo)) return this.refuse(from, request.repo, 'read')
        return encodeBlobFrame({ type: 'blob-has-ok', sizes: await Promise.all(request.hashes.map(async h => await store.has(request.repo, h))) })
      }
      if (request.type !== 'blob-put') return refusal('bad-request', 'Only blob-put and blob-has are asked here')
      if (!this.init.mayWrite(from, request.repo)) return this.refuse(from, request.repo, 'store')
      this.stats.puts++
      const result = await store.put(from, request.repo, request.hash, request.offset, request.size, payload)
      if (result.complete && request.offset + payload.length === request.size) this.stats.stored++
      return encodeBlobFrame({ type: 'blob-stored', have: result.have, complete: result.complete })
    } catch (err: any) {
      return err instanceof BlobError ? refusal(err.code, err.message) : refusal('failed', `The holder could not store it: ${String(err?.message ?? err).slice(0, 200)}`)
    }
  }

  private async * serveGet (data: Uint8Array, from: string, signal: AbortSignal): AsyncIterable<Uint8Array> {
    let header: BlobHeader
    try {
      header = decodeBlobFrame(data, ['blob-get']).header
    } catch (err: any) {
      yield refusal('bad-request', err.message)
      return
    }
    if (header.type !== 'blob-get') return
    if (!this.mayRead(from, header.repo)) {
      yield this.refuse(from, header.repo, 'read')
      return
    }
    this.stats.gets++
    let reader
    try {
      reader = await this.init.store.read(header.repo, header.hash)
    } catch (err: any) {
      if (err instanceof BlobError && err.code === 'bad-hash') {
        this.stats.corrupt++
        yield refusal('corrupt', err.message)
      } else {
        yield refusal('failed', String(err?.message ?? err).slice(0, 200))
      }
      return
    }
    if (reader === undefined) {
      yield refusal('missing', `This holder has no blob ${header.hash.slice(0, 12)} of ${header.repo}`)
      return
    }
    let offset = 0
    if (reader.size === 0) yield encodeBlobFrame({ type: 'blob-chunk', offset: 0, size: 0 })
    for await (const chunk of reader.chunks()) {
      if (signal.aborted) return
      yield encodeBlobFrame({ type: 'blob-chunk', offset, size: reader.size }, chunk)
      offset += chunk.length
    }
  }

  private mayRead (from: string, repo: RepoId): boolean {
    return this.init.mayRead?.(from, repo) ?? true
  }

  private refuse (from: string, repo: RepoId, what: 'store' | 'read'): Uint8Array {
    this.stats.refused++
    return refusal('forbidden', `${from} may not ${what} blobs of ${repo}: only nodes of ${repo.split('/')[0]}, and those it lets run the service, do`)
  }
}

function refusal (code: BlobErrorCode, message: string): Uint8Array {
  return encodeBlobFrame({ type: 'error', code, message: message.slice(0, 1000) })
}
