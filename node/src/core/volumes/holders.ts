/**
 * Where a backup blob lives, from the replicated state: the live members of
 * the mesh (revoked nodes and removed organizations aside), ranked for the
 * blob by the scheduler's rendezvous choice (other organizations first).
 * Every node computes the same ranking, so the writer and any later reader
 * agree on the holders without asking anyone.
 */
import { removedOrgs, type RepoId, type State } from '@minga/protocol'
import { rankHolders, type HolderCandidate } from '@minga/scheduler'

export interface HolderRankerInit {
  state: State
  /** live peers (this node included or not) */
  live: () => readonly string[]
  self: string
}

/** `(repo, hash) → nodes, best holder first` (the writer itself excluded) */
export function holderRanker (init: HolderRankerInit): (repo: RepoId, hash: string) => string[] {
  let cached: { key: string, candidates: HolderCandidate[] } | undefined
  const candidates = (): HolderCandidate[] => {
    const live = init.live()
    const key = `${init.state.digest()}|${live.join(',')}`
    if (cached?.key === key) return cached.candidates
    const removed = removedOrgs(init.state)
    const out: HolderCandidate[] = []
    for (const peer of live) {
      const org = init.state.memberOrg(peer)
      if (peer === init.self || org === undefined || removed.has(org) || init.state.revoked(peer) !== undefined) continue
      out.push({ node: peer, org })
    }
    cached = { key, candidates: out }
    return out
  }
  const exclude = new Set([init.self])
  return (repo, hash) => rankHolders(hash, candidates(), { ownerOrg: repo.split('/')[0], exclude }).map(c => c.node)
}
