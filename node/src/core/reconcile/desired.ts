/**
 * What the scheduler sees, derived from the replicated state and the live
 * set: desired services with their container hashes, and the live member nodes
 * with their capacity, labels, policy and cordons. Every node derives the
 * same view from the same entries and live set, so all of them place alike.
 */
import { keys, containerHash, type State } from '@minga/protocol'
import type { DesiredService, NodeInfo } from '@minga/scheduler'
import { secretVersions, withSecrets } from '../trust/secret-versions.js'
import { memberList } from '../membership/shared-lists.js'

const hashes = new WeakMap<object, string>()
/**
 * The last lists by state digest. The digest is a hash of the winning entries, so equal digests mean equal
 * lists: states that agree (the simulator's nodes) share one list, and a node's passes reuse it until its state changes
 */
const byDigest = new Map<string, DesiredService[]>()
const BY_DIGEST_CAPACITY = 16

/** the desired services of the state, with their container hashes (secret versions folded in); cached by state digest */
export function desiredServices (state: State): DesiredService[] {
  const digest = state.digest()
  const cached = byDigest.get(digest)
  if (cached !== undefined) return cached
  const out: DesiredService[] = []
  const secrets = secretVersions(state)
  for (const entry of state.records('service')) {
    const record = entry.value
    let hash = hashes.get(record)
    if (hash === undefined) {
      hash = containerHash(record.spec)
      hashes.set(record, hash)
    }
    const id = `${record.spec.org}/${record.spec.name}`
    out.push({ id, spec: record.spec, created: record.created, hash: withSecrets(hash, secrets.get(id)) })
  }
  if (byDigest.size >= BY_DIGEST_CAPACITY) byDigest.delete(byDigest.keys().next().value!)
  byDigest.set(digest, out)
  return out
}

/** the `peers` (the live members for `place()`'s nodes, every member for its `MemberPlacement`) that have announced themselves with a node record */
export function nodeInfos (state: State, peers: Iterable<string>): NodeInfo[] {
  const out: NodeInfo[] = []
  for (const peer of peers) {
    const org = state.memberOrg(peer)
    const record = state.value(keys.node(peer))
    if (org === undefined || record?.capacity === undefined) continue
    out.push({
      id: peer,
      org,
      capacity: record.capacity,
      labels: record.labels,
      cordoned: state.value(keys.cordon(peer)) !== undefined,
      acceptOrgs: record.acceptOrgs,
      shareForOthers: record.shareForOthers
    })
  }
  return out
}

/** members that have not been removed (the cached member list's length: a pass over every member only when it changes) */
export function memberCount (state: State): number {
  return memberList(state).length
}
