/**
 * The mesh as it stands before the run, written straight into every
 * node's store instead of replaying the join protocol: the founder's mesh,
 * org and member entries and one invite per organization (every admission
 * names its invite, as `Admission` writes it), each node's own node
 * record, and the initial services, each deployed by a node of its org.
 * All entries are really signed by their authors and pass the same checks
 * as on the wire.
 */
import { createHash } from 'node:crypto'
import { encodeHlc, keys, signEntry, type AuthorMark, type Entry, type Identity, type Json, type NodeRecord, type ServiceSpec } from '@minga/protocol'

export interface GenesisInit {
  seed: number
  identities: Identity[]
  /** org index of every node */
  orgOf: Int32Array
  orgNames: string[]
  /** the node record every node announces */
  record: (v: number) => NodeRecord
  /** initial services, with the node that deploys each */
  services: Array<{ spec: ServiceSpec, by: number }>
  /** wall ms of the first entry */
  start: number
}

export interface Genesis {
  meshId: string
  root: string
  entries: Entry[]
  marks: Record<string, AuthorMark>
}

const TEN_YEARS = 10 * 365 * 86_400_000

/**
 * the genesis entries of a simulated mesh (mesh, orgs, invites, members, node records, the scenario's services) and their marks, signed once and shared by every node
 */
export function buildGenesis (init: GenesisInit): Genesis {
  const { identities, orgOf, orgNames } = init
  const meshId = createHash('sha256').update(`minga-sim-mesh/${init.seed}`).digest('hex').slice(0, 16)
  const root = identities[0]
  const entries: Entry[] = []
  const seqs = new Map<string, number>()
  let tick = 0
  const write = (author: Identity, key: string, value: Json | ((hlc: string) => Json)): void => {
    const seq = (seqs.get(author.peerId) ?? 0) + 1
    seqs.set(author.peerId, seq)
    const hlc = encodeHlc({ wall: init.start + Math.floor(tick / 1000), counter: tick % 1000 })
    tick++
    entries.push(signEntry(meshId, author, { author: author.peerId, seq, hlc, key, value: typeof value === 'function' ? value(hlc) : value }))
  }
  const inviteId = (org: number): string => createHash('sha256').update(`${meshId}/invite/${org}`).digest('hex').slice(0, 32)
  const secretHash = (org: number): string => createHash('sha256').update(`${meshId}/secret/${org}`).digest('hex')

  write(root, keys.mesh(), { id: meshId, root: root.peerId, created: init.start })
  write(root, keys.member(root.peerId), { org: orgNames[orgOf[0]] })
  write(root, keys.org(orgNames[orgOf[0]]), { name: orgNames[orgOf[0]] })
  orgNames.forEach((name, o) => {
    const own = o === orgOf[0]
    write(root, keys.invite(inviteId(o)), { issuerOrg: orgNames[orgOf[0]], newOrg: !own, ...(own ? { org: name } : {}), secretHash: secretHash(o), expires: init.start + TEN_YEARS, uses: 1_000_000 })
    if (!own) write(root, keys.org(name), { name, invite: inviteId(o) })
  })
  for (let v = 1; v < identities.length; v++) write(root, keys.member(identities[v].peerId), { org: orgNames[orgOf[v]], invite: inviteId(orgOf[v]) })
  for (let v = 0; v < identities.length; v++) write(identities[v], keys.node(identities[v].peerId), init.record(v))
  for (const { spec, by } of init.services) {
    write(identities[by], keys.service(spec.org, spec.name), (hlc) => ({ spec, created: hlc }))
  }
  const marks: Record<string, AuthorMark> = {}
  for (const [author, seq] of seqs) marks[author] = { mark: seq, above: [] }
  return { meshId, root: root.peerId, entries, marks }
}
