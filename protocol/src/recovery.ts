/**
 * An organization's recovery key: how an organization that lost every one of
 * its nodes comes back (a phoenix server) with its services' secrets and the
 * passwords of their backups, which were sealed to nodes that are gone.
 *
 * It is an Ed25519 key like a node's; its public half, as a peer id, is the
 * fact `recovery/<org>` (first written wins, never deleted), and every
 * secret and backup password of the org is sealed to it too. Its private
 * half is printed once, when the org is made, for the operator to keep
 * offline. A new server that holds it joins the org with any member's
 * new-organization invite (`minga join TOKEN --org acme --recover FILE`): its
 * admission carries the key's signature of what it is admitted as, which
 * every node checks against `recovery/<org>`; with the key it opens what was
 * sealed, and seals it again to itself.
 */
import { decodeIdentity, encodeIdentity, verifySignature, type Identity } from './identity.js'
import { InvalidIdentityError } from './errors.js'

const DOMAIN = 'minga/recover/1'
const PREFIX = 'minga-recovery-key-1:'

/** what a recovery signature signs: that this peer joins this org of this mesh with this invite */
export function recoveryProofBytes (meshId: string, org: string, peer: string, invite: string): Uint8Array {
  return new TextEncoder().encode(`${DOMAIN}\0${meshId}\0${org}\0${peer}\0${invite}`)
}

/** the recovery key's signature (base64) of a joiner's admission */
export function signRecoveryProof (recovery: Identity, meshId: string, org: string, peer: string, invite: string): string {
  return Buffer.from(recovery.sign(recoveryProofBytes(meshId, org, peer, invite))).toString('base64')
}

/** true when `signature` (base64) is the recovery key `recoveryId`'s signature of this admission */
export function verifyRecoveryProof (recoveryId: string, signature: string, meshId: string, org: string, peer: string, invite: string): boolean {
  return verifySignature(recoveryId, recoveryProofBytes(meshId, org, peer, invite), Buffer.from(signature, 'base64'))
}

/** the text an operator keeps: `minga-recovery-key-1:<base64 of the key>` */
export function encodeRecoveryKey (identity: Identity): string {
  return `${PREFIX}${Buffer.from(encodeIdentity(identity)).toString('base64')}`
}

/** the recovery key from its text (blanks around it ignored); InvalidIdentityError naming what is wrong */
export function decodeRecoveryKey (text: string): Identity {
  const trimmed = text.trim()
  if (!trimmed.startsWith(PREFIX)) throw new InvalidIdentityError(`A recovery key starts with ${PREFIX}; this file holds something else`)
  return decodeIdentity(new Uint8Array(Buffer.from(trimmed.slice(PREFIX.length), 'base64')))
}
