/**
 * Keeping a repository's blobs where they belong, over time:
 *
 * - `ensureCopies` (the owner's side): every blob a current manifest lists
 *   is asked for on its top-R holders (in batches of `blob-has`); a copy a
 *   holder lacks — it died and was replaced, its disk lost the file, it
 *   joined and now ranks higher — is fetched from wherever one is good and
 *   sent there. This is what keeps "no acknowledged snapshot is lost while
 *   fewer than R holders fail" true over a sequence of failures, not only
 *   for one.
 * - `dropUnlisted` (a holder's side): on the owner's signed prune entry,
 *   drops the blobs of the repository that no kept manifest lists and that
 *   were stored before the prune's time; a repository the owner deleted is
 *   dropped whole.
 */
import { MAX_HAS_HASHES, type RepoId } from '@minga/protocol'
import type { AbortOptions } from '../runtime/types.js'
import type { BlobClient } from './blob-client.js'
import type { BlobStore } from './blob-store.js'

export interface CopiesReport {
  /** blobs checked */
  blobs: number
  /** copies found missing on a top-R holder and sent there */
  restored: number
  /** blobs that have no good copy anywhere asked */
  lost: string[]
  /** holders that did not answer */
  unreachable: string[]
}

/**
 * Checks that each blob (hash → size) is on its top-R holders and sends the
 * missing copies. `rank` is the client's ranking of live holders
 */
export async function ensureCopies (client: BlobClient, repo: RepoId, blobs: ReadonlyMap<string, number>, rank: (hash: string) => string[], options: AbortOptions = {}): Promise<CopiesReport> {
  const report: CopiesReport = { blobs: blobs.size, restored: 0, lost: [], unreachable: [] }
  // which blobs to ask each holder about
  const asks = new Map<string, string[]>()
  for (const hash of blobs.keys()) {
    for (const holder of rank(hash).slice(0, client.copies)) {
      let list = asks.get(holder)
      if (list === undefined) asks.set(holder, list = [])
      list.push(hash)
    }
  }
  const lacking = new Map<string, string[]>()
  for (const [holder, hashes] of asks) {
    for (let i = 0; i < hashes.length; i += MAX_HAS_HASHES) {
      const batch = hashes.slice(i, i + MAX_HAS_HASHES)
      let sizes: number[]
      try {
        sizes = await client.has(holder, repo, batch, options)
      } catch {
        report.unreachable.push(holder)
        break
      }
      batch.forEach((hash, j) => {
        if (sizes[j] >= 0) return
        let list = lacking.get(hash)
        if (list === undefined) lacking.set(hash, list = [])
        list.push(holder)
      })
    }
  }
  for (const [hash, holders] of lacking) {
    try {
      report.restored += await client.copyTo(repo, hash, blobs.get(hash) ?? 0, holders, options)
    } catch {
      report.lost.push(hash)
    }
  }
  return report
}

/**
 * Drops blobs of `repo` not in `keep` and stored before `before` (ms); with
 * `keep` undefined, the whole repository (the owner deleted it). Resolves
 * with the number of blobs dropped
 */
export async function dropUnlisted (store: BlobStore, repo: RepoId, keep: ReadonlySet<string> | undefined, before: number): Promise<number> {
  if (keep === undefined) return await store.deleteRepo(repo)
  let dropped = 0
  for (const blob of await store.list(repo)) {
    if (keep.has(blob.hash) || blob.stored >= before) continue
    if (await store.delete(repo, blob.hash)) dropped++
  }
  return dropped
}
