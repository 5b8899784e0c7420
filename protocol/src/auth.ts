/**
 * Who may write what. An entry is judged against facts that only grow (who
 * is a member of which org, which invites exist, who was revoked, which
 * proposals passed) and against its own clock stamp, never against the
 * arrival time, so every node reaches the same verdict whatever order entries
 * arrive in. When a fact the verdict needs has not arrived yet — or may
 * still arrive and make the entry valid — the entry is `pending`, held back
 * and judged again when membership or governance changes; it is `rejected`
 * only when nothing that can arrive later would make it valid.
 *
 * The rules, by key:
 * - `service/<org>/*`, `secret/<org>/*`, `config/<org>/*`, `source/<org>/*`, `source-status/<org>/*`: nodes of <org>; once <org>'s removal
 *   has passed, anyone may delete them (that is how the removal takes effect)
 * - `backup/<org>/*`, `prune/<org>/*`: nodes of <org>; `snapshot/<org>/<service>/<volume>/<peer>`:
 *   <peer> itself (it took the snapshot, whatever its org), deleted by it or by nodes of <org>
 *   (backup-records.ts); anyone deletes them once <org>'s removal has passed
 * - `cordon/<peer>`: the node itself or nodes of its org
 * - `revoked/<peer>`: the node itself or nodes of its org; anyone once the
 *   peer's org was removed; anyone raising an existing revocation with the
 *   removed node's own signed entry as proof
 * - `node/<peer>`: the node itself; `invite/*`: the issuing org (anyone may
 *   mark an invite of a removed org revoked)
 * - `member/*`, `org/*`: an admission, riding on a valid invite
 * - `proposal/*`: any member, with an id that matches its content and an
 *   electorate that leaves out no org; `vote/<id>/<org>`: nodes of <org>,
 *   if <org> is in the proposal's electorate
 * - entries of a revoked node above its revocation's `lastSeq`: pending
 */
import { messageOf } from './errors.js'
import { compareEntries, parseEntry, verifyEntry, type Entry } from './entry.js'
import type { InviteRecord, RecordEntry, RecordOf, RevokedRecord } from './records.js'
import type { Json } from './canonical.js'
import { hlcWall } from './hlc.js'
import { keys, mergeRule, parseKey, type Key, type KeyKind, type RecordKey } from './keys.js'
import { checkRecord, recordValue } from './records.js'
import { proposalId, removalOf } from './governance.js'
import { backupWriteProblem } from './backup-records.js'
import { verifyRecoveryProof } from './recovery.js'

export interface AuthView {
  /** the founder of the mesh: the trust anchor every invite carries */
  readonly root: string
  readonly meshId: string
  memberOrg (peer: string): string | undefined
  revoked (peer: string): RevokedRecord | undefined
  invite (id: string): InviteRecord | undefined
  get (key: string): Entry | undefined
  value<K extends KeyKind> (key: RecordKey<K>): RecordOf[K] | undefined
  value (key: string): Json | undefined
  list (prefix: string): Entry[]
  records<K extends KeyKind> (kind: K, under?: string): Array<RecordEntry<K>>
}

export type RejectCode =
  | 'bad-key' | 'bad-value' | 'not-member' | 'wrong-org' | 'revoked' | 'bad-invite' | 'invite-expired'
  | 'not-root' | 'no-tombstone' | 'not-self' | 'bad-signature' | 'clock-ahead' | 'malformed' | 'no-proposal'

export type Verdict =
  | { ok: true }
  | { ok: false, pending: boolean, code: RejectCode, reason: string }

const OK: Verdict = { ok: true }
const reject = (code: RejectCode, reason: string): Verdict => ({ ok: false, pending: false, code, reason })
const wait = (code: RejectCode, reason: string): Verdict => ({ ok: false, pending: true, code, reason })

/** keys that are facts: never deleted, so verdicts that rest on them never flip */
const UNDELETABLE = new Set<Key['kind']>(['mesh', 'org', 'member', 'revoked', 'invite', 'proposal', 'vote', 'recovery'])

/**
 * The verdict on one entry: `ok`, refused for good (`pending: false`, with a RejectCode and a reason),
 * or pending until a membership fact it needs arrives. Depends only on facts that are never deleted and on
 * the entry's own stamp, so every node reaches the same verdict. Does not check the signature (State does)
 */
export function authorize (entry: Entry, view: AuthView): Verdict {
  const key = parseKey(entry.key)
  if (key === undefined) return reject('bad-key', `unknown key ${entry.key.slice(0, 80)}`)
  if (entry.tombstone === true) {
    if (UNDELETABLE.has(key.kind)) return reject('no-tombstone', `${key.kind} entries cannot be deleted`)
  } else {
    const problem = checkRecord(key, entry.value!)
    if (problem !== undefined) return reject('bad-value', `${entry.key}: ${problem}`)
  }
  const revoked = view.revoked(entry.author)
  // pending, not refused: a node that accepted it before the revocation arrived raises lastSeq to cover it
  if (revoked !== undefined && entry.seq > revoked.lastSeq) return wait('revoked', `${entry.author} was removed from the mesh`)

  if (entry.author === view.root && (key.kind === 'mesh' || (key.kind === 'member' && key.peer === view.root))) {
    return key.kind === 'mesh' && recordValue(entry, 'mesh')?.root !== view.root ? reject('not-root', 'the mesh record must name its root') : OK
  }
  if (key.kind === 'mesh') return reject('not-root', 'only the mesh founder writes the mesh record')

  const authorOrg = view.memberOrg(entry.author)
  if (authorOrg === undefined) return wait('not-member', `${entry.author} is not a member (yet)`)

  switch (key.kind) {
    case 'member': {
      const member = recordValue(entry, 'member')
      const byInvite = authorizeByInvite(entry, member?.invite, member?.org, view)
      return !byInvite.ok || member?.recovery === undefined ? byInvite : authorizeRecovery(view, member.org, key.peer, member.invite, member.recovery)
    }
    case 'recovery':
      return authorOrg === key.org ? OK : reject('wrong-org', `only members of ${key.org} record its recovery key`)
    case 'org':
      return authorOrg === key.org ? OK : authorizeByInvite(entry, recordValue(entry, 'org')?.invite, undefined, view)
    case 'node':
      return entry.author === key.peer ? OK : reject('not-self', 'only a node writes its own node record')
    case 'cordon':
      return sameOrgAs(entry.author, key.peer, authorOrg, view)
    case 'revoked':
      return authorizeRevocation(entry, key.peer, authorOrg, view)
    case 'invite':
      return authorizeInvite(entry, key.id, authorOrg, view)
    case 'service':
    case 'secret':
    case 'config':
    case 'source':
    case 'source-status':
      if (authorOrg === key.org) return OK
      if (entry.tombstone !== true) return reject('wrong-org', `only members of ${key.org} write ${key.kind} entries of ${key.org}`)
      return removalOf(view, key.org) !== undefined ? OK : wait('wrong-org', `only members of ${key.org} delete its ${key.kind}s, until the mesh removes ${key.org}`)
    case 'backup':
    case 'snapshot':
    case 'prune': {
      const problem = backupWriteProblem(key, entry.author, authorOrg, entry.tombstone === true)
      if (problem === undefined) return OK
      // once the mesh removed the owning org, anyone may delete what is left of its backups
      if (entry.tombstone === true && removalOf(view, key.org) !== undefined) return OK
      return reject('wrong-org', problem)
    }
    case 'vote':
      return authorizeVote(key.id, key.org, authorOrg, view)
    case 'proposal':
      return authorizeProposal(entry, key.id, view)
  }
}

/**
 * The merge order of two valid entries of one key (state.ts): the higher
 * (hlc, author) wins, except facts — the first admission, org, proposal and
 * vote win for good — and revocations, where the one covering more of the
 * removed node's entries wins, so it can only grow
 */
export function supersedes (entry: Entry, current: Entry): boolean {
  const order = compareEntries(entry, current)
  switch (mergeRule(entry.key)) {
    case 'first-wins':
      return order < 0
    case 'most-seqs': {
      const mine = (entry.value as { lastSeq?: number } | undefined)?.lastSeq ?? -1
      const theirs = (current.value as { lastSeq?: number } | undefined)?.lastSeq ?? -1
      return mine !== theirs ? mine > theirs : order > 0
    }
    default:
      return order > 0
  }
}

/**
 * an admission into an org that lost its nodes carries the org's recovery
 * key's signature of it (recovery.ts): valid once `recovery/<org>` is known
 * and the signature checks out against it
 */
function authorizeRecovery (view: AuthView, org: string, peer: string, invite: string | undefined, signature: string): Verdict {
  const recovery = view.value(keys.recovery(org))
  if (recovery === undefined) return wait('bad-invite', `the recovery key of ${org} is not known (yet)`)
  if (invite === undefined || !verifyRecoveryProof(recovery.key, signature, view.meshId, org, peer, invite)) return reject('bad-invite', `the recovery proof of ${peer} is not ${org}'s recovery key's signature of this admission`)
  return OK
}

/** admissions ride on an invite: valid at the entry's own clock, for that org or for a new one */
function authorizeByInvite (entry: Entry, inviteId: string | undefined, org: string | undefined, view: AuthView): Verdict {
  // a conflicting second admission is not refused here but loses the merge (the first admission wins)
  if (inviteId === undefined) return reject('bad-invite', 'an admission must name the invite it uses')
  const invite = view.invite(inviteId)
  if (invite === undefined) return wait('bad-invite', `invite ${inviteId} is not known (yet)`)
  if (hlcWall(entry.hlc) > invite.expires) return reject('invite-expired', `invite ${inviteId} expired before this admission`)
  if (invite.revokedAt !== undefined && entry.hlc >= invite.revokedAt) return reject('bad-invite', `invite ${inviteId} was revoked`)
  if (org !== undefined && !invite.newOrg && invite.org !== org) return reject('wrong-org', `invite ${inviteId} admits to ${invite.org}, not ${org}`)
  if (org === undefined && !invite.newOrg) return reject('bad-invite', `invite ${inviteId} does not admit a new org`)
  return OK
}

function sameOrgAs (author: string, peer: string, authorOrg: string, view: AuthView): Verdict {
  if (author === peer) return OK
  const peerOrg = view.memberOrg(peer)
  if (peerOrg === undefined) return wait('not-member', `${peer} is not a member (yet)`)
  return peerOrg === authorOrg ? OK : reject('wrong-org', `only members of ${peerOrg} act on its nodes`)
}

function authorizeRevocation (entry: Entry, peer: string, authorOrg: string, view: AuthView): Verdict {
  const peerOrg = view.memberOrg(peer)
  if (peerOrg === undefined) return wait('not-member', `${peer} is not a member (yet)`)
  if (entry.author === peer || peerOrg === authorOrg) return OK
  if (removalOf(view, peerOrg) !== undefined) return OK
  const record = recordValue(entry, 'revoked')!
  if (record.proof === undefined) return wait('wrong-org', `only members of ${peerOrg} remove its nodes, until the mesh removes ${peerOrg}`)
  if (view.revoked(peer) === undefined) return wait('revoked', `a raise of ${peer}'s revocation waits for the revocation`)
  let proof: Entry
  try {
    proof = parseEntry(record.proof)
  } catch (err) {
    return reject('bad-value', `the proof is not an entry: ${messageOf(err)}`)
  }
  if (proof.author !== peer || proof.seq !== record.lastSeq || !verifyEntry(view.meshId, proof)) {
    return reject('bad-value', `the proof must be ${peer}'s own signed entry of seq ${record.lastSeq}`)
  }
  return OK
}

function authorizeInvite (entry: Entry, id: string, authorOrg: string, view: AuthView): Verdict {
  const existing = view.invite(id)
  const value = recordValue(entry, 'invite')!
  if (existing === undefined || existing.issuerOrg === authorOrg) {
    if (value.issuerOrg !== authorOrg) return reject('wrong-org', `invite issuerOrg ${value.issuerOrg} is not the author's org ${authorOrg}`)
    if (!value.newOrg && value.org !== authorOrg) return reject('wrong-org', `members of ${authorOrg} invite only to ${authorOrg} or to a new org`)
    return OK
  }
  // another org may only mark revoked the invites of an org the mesh removed
  if (value.revokedAt === undefined || value.issuerOrg !== existing.issuerOrg) return reject('wrong-org', 'only the issuing org changes an invite')
  return removalOf(view, existing.issuerOrg) !== undefined ? OK : wait('wrong-org', `only ${existing.issuerOrg} revokes its invites, until the mesh removes it`)
}

function authorizeVote (id: string, org: string, authorOrg: string, view: AuthView): Verdict {
  if (authorOrg !== org) return reject('wrong-org', `only nodes of ${org} cast ${org}'s vote`)
  const proposal = view.value(keys.proposal(id))
  if (proposal === undefined) return wait('no-proposal', `proposal ${id} is not known (yet)`)
  if (!proposal.electorate.includes(org)) return reject('wrong-org', `${org} is not in the electorate of proposal ${id}`)
  return OK
}

function authorizeProposal (entry: Entry, id: string, view: AuthView): Verdict {
  const proposal = recordValue(entry, 'proposal')!
  if (proposalId(entry.author, proposal) !== id) return reject('bad-value', `proposal id ${id} does not match its author and content`)
  if (view.value(`org/${proposal.org}`) === undefined) return wait('no-proposal', `org ${proposal.org} is not known (yet)`)
  for (const org of proposal.electorate) {
    if (view.value(`org/${org}`) === undefined) return wait('no-proposal', `org ${org} of the electorate is not known (yet)`)
  }
  // every org that existed before the proposal votes, unless the mesh removed it since
  const electorate = new Set(proposal.electorate)
  for (const org of view.list('org/')) {
    const name = org.key.slice('org/'.length)
    if (name === proposal.org || electorate.has(name) || org.hlc >= entry.hlc) continue
    if (removalOf(view, name) === undefined) return wait('bad-value', `the electorate of proposal ${id} leaves out ${name}`)
  }
  return OK
}
