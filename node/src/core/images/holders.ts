/**
 * Which nodes hold a whole image now: each live member is asked which of
 * the root's chunks it holds (`chunks-has`, at most MAX_HAS_CHUNKS a
 * question); a node holds the image when it has every one. `minga deploy
 * --wait` waits on this, so a node lost right after the deploy cannot take
 * the only copy of a new image with it.
 */
import { MAX_HAS_CHUNKS, chunksOfIndex, decodeChunksResponse, encodeMessage, protocols, type BlobIndex } from '@minga/protocol'
import type { Clock } from '../clock.js'
import type { Mesh } from '../mesh.js'
import type { AbortOptions } from '../../runtime/types.js'
import { clockDeadline } from './fetcher.js'

export interface HoldersComponents {
  mesh: Mesh
  meshId: string
  clock: Clock
}

/** the peers of `peers` that hold every chunk of `root` (an unreachable peer holds none), in their order */
export async function wholeHolders (c: HoldersComponents, root: string, index: BlobIndex, peers: readonly string[], options: AbortOptions = {}): Promise<string[]> {
  const chunks = [root, ...chunksOfIndex(index)]
  const holds = async (peer: string): Promise<boolean> => {
    for (let i = 0; i < chunks.length; i += MAX_HAS_CHUNKS) {
      const ask = chunks.slice(i, i + MAX_HAS_CHUNKS)
      const deadline = clockDeadline(c.clock, 5000, options.signal)
      try {
        const answer = decodeChunksResponse(await c.mesh.request(peer, protocols.chunks(c.meshId), encodeMessage({ type: 'chunks-has', root, chunks: ask }), { signal: deadline.signal }), 'chunks-have')
        if (answer.have.length !== ask.length || answer.have.includes('0')) return false
      } catch {
        return false
      } finally {
        deadline.dispose()
      }
    }
    return true
  }
  const answers = await Promise.all(peers.map(async peer => await holds(peer)))
  return peers.filter((_, i) => answers[i])
}
