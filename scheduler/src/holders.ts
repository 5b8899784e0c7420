/**
 * Which nodes hold a backup blob: rendezvous (highest-random-weight) hashing
 * of (blob hash, node), as Thaler and Ravishankar's HRW ("Using name-based
 * mappings to increase hit rates", IEEE/ACM ToN 1998), with the mesh's
 * spread rule on top: other organizations first, one node per organization
 * before a second node of any, and the owner's own nodes last (they can read
 * the backup anyway, and they go down with the owner's trouble more often
 * than a stranger's). Every node computes the same ranking from the same
 * member list, so a reader finds a blob where the writer put it without
 * asking anyone; when members come and go, only the blobs whose top nodes
 * changed have to move (about R/N of them per node).
 *
 * Pure and synchronous, like the rest of the scheduler.
 */
import { hashString } from './hash.js'

export interface HolderCandidate {
  /** peer id */
  node: string
  org: string
}

export interface HolderOptions {
  /** the organization whose backup it is */
  ownerOrg: string
  /** nodes that never hold it, e.g. the writer itself (a copy on the node that may die with the volume protects nothing) */
  exclude?: ReadonlySet<string>
}

/** copies of each backup blob, by default */
export const DEFAULT_BACKUP_COPIES = 2

/**
 * Every eligible candidate, best holder first: the first R are where the
 * blob lives; the rest are where to look next when some of those are gone.
 * Ties cannot matter (scores differ by node id), and the order of the
 * input does not change the output.
 */
export function rankHolders (blob: string, candidates: readonly HolderCandidate[], options: HolderOptions): HolderCandidate[] {
  const scored: Array<{ candidate: HolderCandidate, score: number, own: boolean, round: number }> = []
  const seen = new Set<string>()
  for (const candidate of candidates) {
    if (seen.has(candidate.node) || options.exclude?.has(candidate.node) === true) continue
    seen.add(candidate.node)
    scored.push({ candidate, score: hashString(`${blob}\u0000${candidate.node}`), own: candidate.org === options.ownerOrg, round: 0 })
  }
  scored.sort(byScore)
  // the k-th best node of its organization goes in round k: one per organization before a second of any
  const perOrg = new Map<string, number>()
  for (const s of scored) {
    const rank = perOrg.get(s.candidate.org) ?? 0
    s.round = rank
    perOrg.set(s.candidate.org, rank + 1)
  }
  scored.sort((a, b) => Number(a.own) - Number(b.own) || a.round - b.round || byScore(a, b))
  return scored.map(s => s.candidate)
}

/** the R nodes that hold `blob` (fewer when fewer are eligible) */
export function chooseHolders (blob: string, candidates: readonly HolderCandidate[], options: HolderOptions & { copies?: number }): string[] {
  return rankHolders(blob, candidates, options).slice(0, options.copies ?? DEFAULT_BACKUP_COPIES).map(c => c.node)
}

function byScore (a: { score: number, candidate: HolderCandidate }, b: { score: number, candidate: HolderCandidate }): number {
  return b.score - a.score || (a.candidate.node < b.candidate.node ? -1 : a.candidate.node > b.candidate.node ? 1 : 0)
}
