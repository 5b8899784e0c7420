/**
 * Invite tokens: what `minga invite` prints and `minga join <token>` reads.
 * A token carries everything a new server needs to reach the mesh and be
 * admitted: the mesh id, its root peer id (the trust anchor), the private
 * network key, a few bootstrap addresses, and a one-off secret whose sha256
 * sits in the replicated `invite/<id>` record, so any member can admit the
 * joiner. The issuer signs it all.
 *
 * Format: `minga1` + base64url(payload ‖ checksum), no padding, where the
 * checksum is the first 4 bytes of sha256(payload), so a typo reads as
 * "damaged" rather than "forged". The payload is binary; `str` is a u8
 * length and that many UTF-8 bytes:
 *
 *     u8 version (1) · u8 flags (bit 0: newOrg) · str meshId · str root
 *     32 bytes: the pnet key · u8 count, then str per bootstrap multiaddr
 *     u8 length, then the invite id's bytes · 32 bytes: secret
 *     str org ("" when newOrg) · u48 expires (ms epoch) · u32 uses
 *     str issuer · 64 bytes: Ed25519 signature
 *
 * The private network key travels as its 32 raw bytes; `psk` in an `Invite`
 * is the full 95-byte `/key/swarm/psk/1.0.0/` file that `@libp2p/pnet`'s
 * `generateKey` writes and `preSharedKey` reads, rebuilt on decoding.
 *
 * The signature covers the canonical JSON of
 * `['minga/invite/1', meshId, root, pskHex, bootstrap, inviteId, secretHex, org | null, newOrg, expires, uses, issuer]`,
 * so it does not depend on this byte layout.
 */
import { createHash, randomBytes } from 'node:crypto'
import { canonicalJson } from './canonical.js'
import { ExpiredInviteError, InvalidInviteError, messageOf } from './errors.js'
import { isPeerIdString, verifySignature, type Identity, type PeerIdString } from './identity.js'
import { NAME_PATTERN } from './keys.js'

export interface Invite {
  /** the mesh this invite opens */
  meshId: string
  /** the founder's peer id: the trust anchor the joiner checks the mesh against */
  root: PeerIdString
  /** the libp2p private network key file (95 bytes, `/key/swarm/psk/1.0.0/\n/base16/\n<64 hex>`) */
  psk: Uint8Array
  /** multiaddrs of members to dial first, each ending in /p2p/<peer id> */
  bootstrap: string[]
  /** hex; names the replicated `invite/<id>` record */
  inviteId: string
  /** 32 random bytes; only their sha256 goes into the replicated state */
  secret: Uint8Array
  /** the organization this invite admits to; absent when it admits a new one */
  org?: string
  newOrg: boolean
  /** ms since the epoch; the invite admits nobody after it */
  expires: number
  /** how many servers it may admit */
  uses: number
  issuer: PeerIdString
  /** the issuer's Ed25519 signature over `inviteSigningBytes` */
  sig: Uint8Array
}

export type InviteFields = Omit<Invite, 'issuer' | 'sig'>

export const INVITE_PREFIX = 'minga1'
export const INVITE_LIMITS = {
  /** characters of a token once whitespace is removed */
  maxTokenLength: 4096,
  /** characters of the text handed in, whitespace included; longer is refused unread */
  maxInputLength: 16 * 1024,
  maxBootstrap: 8,
  /** UTF-8 bytes of one bootstrap multiaddr */
  maxAddrBytes: 255,
  maxMeshIdLength: 128,
  secretBytes: 32,
  maxUses: 2 ** 32 - 1,
  maxExpires: 2 ** 48 - 1
} as const

const VERSION = 1
const SIGNING_DOMAIN = 'minga/invite/1'
const CHECKSUM_BYTES = 4
const SIG_BYTES = 64
const PSK_KEY_BYTES = 32
const PSK_HEADER = '/key/swarm/psk/1.0.0/\n/base16/\n'
const PSK_FILE_PATTERN = /^\/key\/swarm\/psk\/1\.0\.0\/\r?\n\/base16\/\r?\n([0-9a-fA-F]{64})\s*$/
const INVITE_ID_PATTERN = /^(?:[0-9a-f]{2}){8,32}$/
const BOOTSTRAP_PATTERN = /^(?:\/[^/\s]+)+\/p2p\/(12D3KooW[1-9A-HJ-NP-Za-km-z]{44})$/
// eslint-disable-next-line no-control-regex
const CONTROL_PATTERN = /[\u0000-\u001f\u007f]/
const TOKEN_BODY_PATTERN = /^[A-Za-z0-9_-]+$/
const ASK = 'ask a member for a new one with "minga invite"'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** a fresh invite id: 16 random bytes, hex */
export function newInviteId (): string {
  return randomBytes(16).toString('hex')
}

/** a fresh invite secret: 32 random bytes */
export function newInviteSecret (): Uint8Array {
  return new Uint8Array(randomBytes(INVITE_LIMITS.secretBytes))
}

/** hex sha256 of an invite secret: what the replicated `invite/<id>` record holds */
export function inviteSecretHash (secret: Uint8Array): string {
  return createHash('sha256').update(secret).digest('hex')
}

/** a fresh private network key file, in the format `@libp2p/pnet` reads */
export function newSwarmKey (): Uint8Array {
  return swarmKeyFile(randomBytes(PSK_KEY_BYTES))
}

/** the 95-byte `/key/swarm/psk/1.0.0/` file for 32 key bytes */
export function swarmKeyFile (key: Uint8Array): Uint8Array {
  if (key.length !== PSK_KEY_BYTES) throw new InvalidInviteError(`A private network key is ${PSK_KEY_BYTES} bytes, not ${key.length}`)
  return encoder.encode(PSK_HEADER + Buffer.from(key).toString('hex'))
}

/** the 32 key bytes of a `/key/swarm/psk/1.0.0/` file (base16 encoding, as `generateKey` writes) */
export function swarmKeyBytes (file: Uint8Array): Uint8Array {
  const match = PSK_FILE_PATTERN.exec(Buffer.from(file).toString('latin1'))
  if (match === null) throw new InvalidInviteError('The private network key must be a /key/swarm/psk/1.0.0/ file with a base16 key, as @libp2p/pnet generateKey writes it')
  return new Uint8Array(Buffer.from(match[1], 'hex'))
}

/** the bytes the issuer signs */
export function inviteSigningBytes (invite: InviteFields & { issuer: string }): Uint8Array {
  return encoder.encode(canonicalJson([
    SIGNING_DOMAIN, invite.meshId, invite.root, Buffer.from(swarmKeyBytes(invite.psk)).toString('hex'), invite.bootstrap,
    invite.inviteId, Buffer.from(invite.secret).toString('hex'), invite.org ?? null, invite.newOrg, invite.expires, invite.uses, invite.issuer
  ]))
}

/** signs `fields` as `identity` and returns the token to hand out */
export function createInvite (identity: Identity, fields: InviteFields): string {
  const problem = inviteProblem({ ...fields, issuer: identity.peerId, sig: new Uint8Array(SIG_BYTES) })
  if (problem !== undefined) throw new InvalidInviteError(`Cannot create this invite: ${problem}`)
  const unsigned = { ...fields, issuer: identity.peerId }
  return encodeInvite({ ...unsigned, sig: identity.sign(inviteSigningBytes(unsigned)) })
}

/** the token for an already signed invite */
export function encodeInvite (invite: Invite): string {
  const problem = inviteProblem(invite)
  if (problem !== undefined) throw new InvalidInviteError(`Cannot encode this invite: ${problem}`)
  const parts: Uint8Array[] = []
  const u8 = (value: number): void => { parts.push(Uint8Array.of(value)) }
  const str = (value: string): void => {
    const bytes = encoder.encode(value)
    u8(bytes.length)
    parts.push(bytes)
  }
  u8(VERSION)
  u8(invite.newOrg ? 1 : 0)
  str(invite.meshId)
  str(invite.root)
  parts.push(swarmKeyBytes(invite.psk))
  u8(invite.bootstrap.length)
  invite.bootstrap.forEach(str)
  const id = Buffer.from(invite.inviteId, 'hex')
  u8(id.length)
  parts.push(id)
  parts.push(invite.secret)
  str(invite.org ?? '')
  const numbers = Buffer.alloc(10)
  numbers.writeUIntBE(invite.expires, 0, 6)
  numbers.writeUInt32BE(invite.uses, 6)
  parts.push(numbers)
  str(invite.issuer)
  parts.push(invite.sig)
  const payload = Buffer.concat(parts)
  return INVITE_PREFIX + Buffer.concat([payload, checksum(payload)]).toString('base64url')
}

/**
 * Reads a token (whitespace anywhere in it is ignored, as terminals wrap
 * long lines) and checks its checksum, its fields, the issuer's signature
 * and its expiry at `now`. Throws `InvalidInviteError` or `ExpiredInviteError`
 * saying what to do.
 */
export function decodeInvite (token: string, options: { now: number }): Invite {
  if (!Number.isFinite(options?.now)) throw new TypeError('decodeInvite needs options.now, in ms since the epoch')
  if (typeof token !== 'string') throw new InvalidInviteError(`An invite is text starting with ${INVITE_PREFIX}; ${ASK}`)
  if (token.length > INVITE_LIMITS.maxInputLength) throw tooLong(token.length)
  const compact = token.replace(/\s+/g, '')
  if (compact.length > INVITE_LIMITS.maxTokenLength) throw tooLong(compact.length)
  if (!compact.startsWith(INVITE_PREFIX)) {
    const version = /^minga(\d+)/.exec(compact)
    if (version !== null && version[1] !== '1' && /^[A-Za-z0-9_-]+$/.test(compact)) {
      throw new InvalidInviteError(`This invite (${compact.slice(0, version[0].length)}…) is not one this minga reads: upgrade minga on this server, or ${ASK}`)
    }
    throw new InvalidInviteError(`This is not a minga invite, or it is damaged (an invite starts with ${INVITE_PREFIX}); copy it again in full, or ${ASK}`)
  }
  const body = compact.slice(INVITE_PREFIX.length)
  const damaged = new InvalidInviteError(`This invite is damaged (a character is wrong, missing or extra); copy it again in full, or ${ASK}`)
  if (!TOKEN_BODY_PATTERN.test(body)) throw damaged
  const bytes = Buffer.from(body, 'base64url')
  // Buffer ignores stray trailing bits; a token that does not re-encode to itself has been altered
  if (bytes.toString('base64url') !== body || bytes.length <= CHECKSUM_BYTES) throw damaged
  const payload = bytes.subarray(0, bytes.length - CHECKSUM_BYTES)
  if (!checksum(payload).equals(bytes.subarray(bytes.length - CHECKSUM_BYTES))) throw damaged

  const invite = readPayload(payload)
  if (typeof invite === 'string') throw new InvalidInviteError(`This invite is malformed (${invite}); ${ASK}`)
  const problem = inviteProblem(invite)
  if (problem !== undefined) throw new InvalidInviteError(`This invite is malformed (${problem}); ${ASK}`)
  if (!verifySignature(invite.issuer, inviteSigningBytes(invite), invite.sig)) {
    throw new InvalidInviteError(`This invite's signature does not match its issuer ${invite.issuer}: it was altered or forged; ${ASK}`)
  }
  if (options.now > invite.expires) {
    throw new ExpiredInviteError(`This invite expired at ${new Date(invite.expires).toISOString()}; ${ASK}`)
  }
  return invite
}

function tooLong (length: number): InvalidInviteError {
  return new InvalidInviteError(`This is ${length} characters long, more than an invite can be (${INVITE_LIMITS.maxTokenLength}); copy just the token, or ${ASK}`)
}

function checksum (payload: Uint8Array): Buffer {
  return createHash('sha256').update(payload).digest().subarray(0, CHECKSUM_BYTES)
}

/** the invite in `payload`, or what is wrong with its layout */
function readPayload (payload: Buffer): Invite | string {
  let offset = 0
  const take = (length: number): Buffer => {
    if (offset + length > payload.length) throw new RangeError('the token ends too early')
    const bytes = payload.subarray(offset, offset + length)
    offset += length
    return bytes
  }
  const u8 = (): number => take(1)[0]
  const str = (): string => decoder.decode(take(u8()))
  try {
    const version = u8()
    if (version !== VERSION) return `version ${version}: upgrade minga on this server`
    const flags = u8()
    if (flags > 1) return 'unknown flags'
    const meshId = str()
    const root = str() as PeerIdString
    const psk = swarmKeyFile(take(PSK_KEY_BYTES))
    const bootstrap: string[] = []
    const count = u8()
    if (count > INVITE_LIMITS.maxBootstrap) return `${count} bootstrap addresses`
    for (let i = 0; i < count; i++) bootstrap.push(str())
    const inviteId = take(u8()).toString('hex')
    const secret = new Uint8Array(take(INVITE_LIMITS.secretBytes))
    const org = str()
    const expires = take(6).readUIntBE(0, 6)
    const uses = take(4).readUInt32BE(0)
    const issuer = str() as PeerIdString
    const sig = new Uint8Array(take(SIG_BYTES))
    if (offset !== payload.length) return 'extra bytes at the end'
    const newOrg = flags === 1
    if (newOrg && org !== '') return 'it admits a new organization and names one'
    return { meshId, root, psk, bootstrap, inviteId, secret, ...(newOrg || org === '' ? {} : { org }), newOrg, expires, uses, issuer, sig }
  } catch (err) {
    return err instanceof RangeError ? 'it ends too early' : `unreadable text (${messageOf(err).slice(0, 80)})`
  }
}

/** what is wrong with an invite's fields, or undefined */
function inviteProblem (invite: Invite): string | undefined {
  const { meshId, bootstrap } = invite
  if (typeof meshId !== 'string' || meshId.length === 0 || meshId.length > INVITE_LIMITS.maxMeshIdLength || CONTROL_PATTERN.test(meshId)) {
    return `meshId must be 1 to ${INVITE_LIMITS.maxMeshIdLength} characters without control characters`
  }
  if (!isPeerIdString(invite.root)) return 'root must be an Ed25519 peer id'
  if (!isPeerIdString(invite.issuer)) return 'issuer must be an Ed25519 peer id'
  if (!(invite.psk instanceof Uint8Array)) return 'psk must be the bytes of a private network key file'
  try {
    swarmKeyBytes(invite.psk)
  } catch (err) {
    return messageOf(err)
  }
  if (!Array.isArray(bootstrap) || bootstrap.length === 0 || bootstrap.length > INVITE_LIMITS.maxBootstrap) {
    return `bootstrap must list 1 to ${INVITE_LIMITS.maxBootstrap} multiaddrs`
  }
  for (const addr of bootstrap) {
    if (typeof addr !== 'string' || encoder.encode(addr).length > INVITE_LIMITS.maxAddrBytes || !BOOTSTRAP_PATTERN.test(addr)) {
      return `bootstrap address ${JSON.stringify(String(addr).slice(0, 80))} must be a multiaddr ending in /p2p/<peer id>, at most ${INVITE_LIMITS.maxAddrBytes} bytes`
    }
  }
  if (typeof invite.inviteId !== 'string' || !INVITE_ID_PATTERN.test(invite.inviteId)) return 'inviteId must be 16 to 64 lower-case hex digits, an even number'
  if (!(invite.secret instanceof Uint8Array) || invite.secret.length !== INVITE_LIMITS.secretBytes) return `secret must be ${INVITE_LIMITS.secretBytes} bytes`
  if (typeof invite.newOrg !== 'boolean') return 'newOrg must be true or false'
  if (invite.newOrg && invite.org !== undefined) return 'an invite names an org or admits a new one, not both'
  if (!invite.newOrg && (typeof invite.org !== 'string' || !NAME_PATTERN.test(invite.org))) return 'org must be an organization name (or set newOrg)'
  if (!Number.isSafeInteger(invite.expires) || invite.expires < 0 || invite.expires > INVITE_LIMITS.maxExpires) return 'expires must be a time in ms since the epoch'
  if (!Number.isSafeInteger(invite.uses) || invite.uses < 1 || invite.uses > INVITE_LIMITS.maxUses) return 'uses must be a whole number of at least 1'
  if (!(invite.sig instanceof Uint8Array) || invite.sig.length !== SIG_BYTES) return `sig must be ${SIG_BYTES} bytes`
  return undefined
}
