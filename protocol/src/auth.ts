/**
 * Who may write what. An entry is judged against facts that only grow (who
 * is a member of which org, which invites exist, who was revoked after which
 * seq) and against its own clock stamp, never against the arrival time, so
 * every node reaches the same verdict whatever order entries arrive in.
 * When a fact the verdict needs has not arrived yet, the entry is `pending`
 * and judged again when membership changes.
 */
import type { Entry } from './entry.js'
import type { InviteRecord, RevokedRecord } from './records.js'
import { hlcWall } from './hlc.js'
import { parseKey, type Key } from './keys.js'
import { checkRecord } from './records.js'

export interface AuthView {
  /** the founder of the mesh: the trust anchor every invite carries */
  readonly root: string
  memberOrg (peer: string): string | undefined
  revoked (peer: string): RevokedRecord | undefined
  invite (id: string): InviteRecord | undefined
}

export type RejectCode =
  | 'bad-key' | 'bad-value' | 'not-member' | 'wrong-org' | 'revoked' | 'bad-invite' | 'invite-expired'
  | 'not-root' | 'no-tombstone' | 'not-self' | 'bad-signature' | 'clock-ahead' | 'malformed'

export type Verdict =
  | { ok: true }
  | { ok: false, pending: boolean, code: RejectCode, reason: string }

const OK: Verdict = { ok: true }
const reject = (code: RejectCode, reason: string): Verdict => ({ ok: false, pending: false, code, reason })
const wait = (code: RejectCode, reason: string): Verdict => ({ ok: false, pending: true, code, reason })

/** keys that are facts: never deleted, so verdicts that rest on them never flip */
const UNDELETABLE = new Set<Key['kind']>(['mesh', 'org', 'member', 'revoked', 'invite', 'proposal', 'vote'])

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
  if (revoked !== undefined && entry.seq > revoked.lastSeq) return reject('revoked', `${entry.author} was removed from the mesh`)

  if (entry.author === view.root && (key.kind === 'mesh' || (key.kind === 'member' && key.peer === view.root))) {
    return key.kind === 'mesh' && (entry.value as any)?.root !== view.root ? reject('not-root', 'the mesh record must name its root') : OK
  }
  if (key.kind === 'mesh') return reject('not-root', 'only the mesh founder writes the mesh record')

  const authorOrg = view.memberOrg(entry.author)
  if (authorOrg === undefined) return wait('not-member', `${entry.author} is not a member (yet)`)

  switch (key.kind) {
    case 'member':
      return authorizeMember(entry, view)
    case 'org':
      return authorOrg === key.org ? OK : authorizeByInvite(entry, (entry.value as any)?.invite, undefined, view)
    case 'node':
      return entry.author === key.peer ? OK : reject('not-self', 'only a node writes its own node record')
    case 'cordon':
    case 'revoked':
      return sameOrgAs(entry.author, key.peer, authorOrg, view)
    case 'invite': {
      const existing = view.invite(key.id)
      const value = entry.value as unknown as InviteRecord
      if (existing !== undefined && existing.issuerOrg !== authorOrg) return reject('wrong-org', 'only the issuing org changes an invite')
      if (value.issuerOrg !== authorOrg) return reject('wrong-org', `invite issuerOrg ${value.issuerOrg} is not the author's org ${authorOrg}`)
      if (!value.newOrg && value.org !== authorOrg) return reject('wrong-org', `members of ${authorOrg} invite only to ${authorOrg} or to a new org`)
      return OK
    }
    case 'service':
    case 'secret':
    case 'vote':
      return authorOrg === key.org ? OK : reject('wrong-org', `only members of ${key.org} write ${key.kind} entries of ${key.org}`)
    case 'proposal':
      return OK
  }
}

function authorizeMember (entry: Entry, view: AuthView): Verdict {
  // a conflicting second admission is not refused here but loses the merge (state.ts: the first admission wins)
  const value = entry.value as { org: string, invite?: string }
  return authorizeByInvite(entry, value.invite, value.org, view)
}

/** admissions ride on an invite: valid at the entry's own clock, for that org or for a new one */
function authorizeByInvite (entry: Entry, inviteId: string | undefined, org: string | undefined, view: AuthView): Verdict {
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
