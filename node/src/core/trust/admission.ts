/**
 * Admission: any member admits a joiner that holds a valid invite, not only
 * the node that issued it, because the invite's id, hashed secret, org,
 * expiry and uses are entries in the replicated state. The admitting node
 * writes `member/<peer>` (and `org/<name>` for a new org); the joiner gets
 * the state in the answer and keeps up by anti-entropy. A new-organization
 * invite also admits a node into an org that exists when the request carries
 * that org's recovery key's signature of the admission (an org that lost its
 * nodes comes back: protocol's recovery.ts).
 */
import { timingSafeEqual } from 'node:crypto'
import { inviteSecretHash, keys, NAME_PATTERN, verifyRecoveryProof, type JoinRequestMessage, type JoinResponseMessage, type PeerIdString } from '@minga/protocol'
import type { CoreComponents } from '../components.js'

export type AdmissionComponents = Pick<CoreComponents, 'identity' | 'state' | 'clock' | 'events'>

/** how many entries a join answer carries at most; the rest comes by anti-entropy */
const MAX_JOIN_ENTRIES = 5000

/** Admits joiners (see above): `admit(request, from)` answers a join request from the authenticated peer `from` */
export class Admission {
  constructor (private readonly init: AdmissionComponents) {}

  /** judge a join request that arrived from the authenticated peer `from` */
  async admit (request: JoinRequestMessage, from: string): Promise<JoinResponseMessage> {
    const refuse = (code: string, error: string): JoinResponseMessage => ({ type: 'join-response', ok: false, code, error })
    const { state, clock, identity } = this.init
    if (request.peerId !== from) return refuse('bad-request', 'The join request names another peer than the one that sent it')
    const invite = state.invite(request.inviteId)
    if (invite === undefined) return refuse('unknown-invite', 'This invite is not known to the mesh (it may not have reached this node yet, or it was never issued); ask a member for a new one with "minga invite"')
    const secretHash = inviteSecretHash(Buffer.from(request.secret, 'base64'))
    if (!timingSafeEqual(Buffer.from(secretHash), Buffer.from(invite.secretHash))) return refuse('bad-secret', 'The invite secret does not match; the token was damaged or forged. Ask a member for a new one with "minga invite"')
    if (invite.revokedAt !== undefined) return refuse('revoked-invite', 'This invite was revoked; ask a member for a new one with "minga invite"')
    if (clock.now() > invite.expires) return refuse('expired-invite', `This invite expired at ${new Date(invite.expires).toISOString()}; ask a member for a new one with "minga invite"`)
    if (state.revoked(from) !== undefined) return refuse('revoked', 'This node was removed from the mesh; start over with a fresh data dir and a new invite')

    const existing = state.value(keys.member(from))
    if (existing !== undefined) return this.welcome(existing.org)

    const used = state.records('member').filter(e => e.value.invite === request.inviteId).length
    if (used >= invite.uses) return refuse('used-invite', `This invite was already used ${used} time(s), its limit; ask a member for a new one with "minga invite"`)
    let org = invite.org
    if (invite.newOrg) {
      if (request.org === undefined || !NAME_PATTERN.test(request.org)) return refuse('bad-org', 'This invite starts a new organization: pass its name with --org NAME (lowercase letters, digits and dashes)')
      org = request.org
      if (state.value(keys.org(org)) !== undefined) {
        const recovery = state.value(keys.recovery(org))
        if (request.recovery === undefined) return refuse('org-exists', `Organization ${org} already exists in this mesh; pick another name with --org, ask a member of ${org} for an invite, or, if ${org} lost all its nodes, join with its recovery key (--recover FILE)`)
        if (recovery === undefined) return refuse('no-recovery-key', `Organization ${org} has no recovery key in this mesh; a member of ${org} must invite this node`)
        if (!verifyRecoveryProof(recovery.key, request.recovery, state.meshId, org, from, request.inviteId)) return refuse('bad-recovery', `The recovery proof is not ${org}'s recovery key's signature; check the file given to --recover`)
        await state.write(identity, keys.member(from), { org, invite: request.inviteId, recovery: request.recovery })
        this.init.events.emit({ time: clock.now(), node: identity.peerId, kind: 'node-joined', subject: from, reason: `admitted to ${org} with its recovery key (invite ${request.inviteId})` })
        return this.welcome(org)
      }
      await state.write(identity, keys.org(org), { name: org, invite: request.inviteId })
    } else if (request.recovery !== undefined) {
      return refuse('bad-request', 'A recovery key joins with an invite that admits a new organization (minga invite --new-org), from any member')
    }
    await state.write(identity, keys.member(from), { org: org!, invite: request.inviteId })
    this.init.events.emit({ time: clock.now(), node: identity.peerId, kind: 'node-joined', subject: from, reason: `admitted to ${org!} with invite ${request.inviteId}` })
    return this.welcome(org!)
  }

  private welcome (org: string): JoinResponseMessage {
    const { state } = this.init
    const { entries } = state.entriesSince({}, { limit: MAX_JOIN_ENTRIES })
    return { type: 'join-response', ok: true, org, meshId: state.meshId, root: state.root as PeerIdString, entries }
  }
}
