/**
 * Sealed secrets: a value encrypted so that only chosen nodes can read it.
 * The value is encrypted once under a fresh random data key (AES-256-GCM,
 * the entry key as associated data, so a sealed value cannot be moved to
 * another secret); the data key is sealed to each recipient node with
 * libsodium's sealed box (X25519 + XSalsa20-Poly1305, an ephemeral key per
 * box) to the node's X25519 key, derived from its Ed25519 node key
 * (`crypto_sign_ed25519_pk_to_curve25519`), so no key directory is needed:
 * the peer id is the public key. The replicated state only ever holds
 * ciphertext.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import sodium from 'sodium-native'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Identity } from './identity.js'
import { isPeerIdString } from './identity.js'
import { InvalidSecretError, messageOf } from './errors.js'

export type SealedSecret = {
  v: 1
  /** base64 of iv (12) ‖ AES-256-GCM ciphertext ‖ tag (16) of the value under the data key */
  data: string
  /** recipient peer id → base64 sealed box of the 32-byte data key */
  keys: Record<string, string>
}

export const SECRET_LIMITS = {
  /** bytes of one secret value */
  maxValueBytes: 8 * 1024,
  /** nodes one secret is sealed to; a service eligible on more nodes must narrow them (allowOrgs, constraints) */
  maxRecipients: 300
} as const

const DOMAIN = 'minga/secret/1'
const IV_BYTES = 12
const TAG_BYTES = 16
const KEY_BYTES = 32
const B64 = /^[A-Za-z0-9+/]*={0,2}$/
const SEALED_KEY_LENGTH = Math.ceil((KEY_BYTES + sodium.crypto_box_SEALBYTES) / 3) * 4

/** a node's X25519 public key, from its peer id */
export function x25519PublicKeyOf (peerId: string): Buffer {
  if (!isPeerIdString(peerId)) throw new InvalidSecretError(`Not an Ed25519 peer id: ${String(peerId).slice(0, 60)}`)
  const raw = peerIdFromString(peerId).publicKey?.raw
  if (raw === undefined || raw.length !== 32) throw new InvalidSecretError(`Peer id carries no Ed25519 key: ${peerId}`)
  const out = Buffer.alloc(sodium.crypto_box_PUBLICKEYBYTES)
  try {
    sodium.crypto_sign_ed25519_pk_to_curve25519(out, Buffer.from(raw))
  } catch {
    throw new InvalidSecretError(`The key of ${peerId} is not a usable Ed25519 point`)
  }
  return out
}

function encrypt (key: Uint8Array, plain: Uint8Array, aad: string): string {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(aad))
  const body = Buffer.concat([cipher.update(plain), cipher.final()])
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64')
}

function decrypt (key: Uint8Array, sealed: string, aad: string): Buffer {
  const bytes = Buffer.from(sealed, 'base64')
  if (bytes.length < IV_BYTES + TAG_BYTES) throw new InvalidSecretError('The sealed value is truncated')
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES))
  decipher.setAAD(Buffer.from(aad))
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES))
  return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()])
}

/** encrypts `value` for `recipients` (peer ids), bound to the state key `key` */
export function sealSecret (key: string, value: Uint8Array, recipients: readonly string[]): SealedSecret {
  if (value.length > SECRET_LIMITS.maxValueBytes) throw new InvalidSecretError(`A secret is at most ${SECRET_LIMITS.maxValueBytes} bytes, this one is ${value.length}`)
  const unique = [...new Set(recipients)].sort()
  if (unique.length === 0) throw new InvalidSecretError('A secret needs at least one node that may read it')
  if (unique.length > SECRET_LIMITS.maxRecipients) {
    throw new InvalidSecretError(`${unique.length} nodes may run this service, more than a secret is sealed to (${SECRET_LIMITS.maxRecipients}); narrow it with allowOrgs or constraints`)
  }
  const dataKey = randomBytes(KEY_BYTES)
  const keys: Record<string, string> = {}
  for (const peer of unique) {
    const box = Buffer.alloc(KEY_BYTES + sodium.crypto_box_SEALBYTES)
    sodium.crypto_box_seal(box, dataKey, x25519PublicKeyOf(peer))
    keys[peer] = box.toString('base64')
  }
  return { v: 1, data: encrypt(dataKey, value, `${DOMAIN}\0${key}`), keys }
}

/** the plain value, for a node the secret was sealed to; throws `InvalidSecretError` otherwise */
export function openSecret (identity: Identity, key: string, sealed: SealedSecret): Uint8Array {
  const wrapped = sealed.keys[identity.peerId]
  if (wrapped === undefined) throw new InvalidSecretError(`${key} is not sealed to this node`)
  try {
    const publicKey = x25519PublicKeyOf(identity.peerId)
    const secretKey = Buffer.alloc(sodium.crypto_box_SECRETKEYBYTES)
    sodium.crypto_sign_ed25519_sk_to_curve25519(secretKey, Buffer.from(identity.privateKey.raw))
    const dataKey = Buffer.alloc(KEY_BYTES)
    const box = Buffer.from(wrapped, 'base64')
    if (box.length !== KEY_BYTES + sodium.crypto_box_SEALBYTES || !sodium.crypto_box_seal_open(dataKey, box, publicKey, secretKey)) {
      throw new InvalidSecretError(`${key} does not open with this node's key; it was damaged or sealed for another key`)
    }
    return new Uint8Array(decrypt(dataKey, sealed.data, `${DOMAIN}\0${key}`))
  } catch (err) {
    if (err instanceof InvalidSecretError) throw err
    throw new InvalidSecretError(`${key} does not open with this node's key (${messageOf(err).slice(0, 80)}); it was damaged or altered`)
  }
}

/** why `value` is not a sealed secret, or undefined */
export function sealedSecretProblem (value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'sealed must be an object'
  const v = value as Record<string, unknown>
  for (const name of Object.keys(v)) if (!['v', 'data', 'keys'].includes(name)) return `sealed.${name} is not a known field`
  if (v.v !== 1) return 'sealed.v must be 1'
  const maxData = Math.ceil((IV_BYTES + SECRET_LIMITS.maxValueBytes + TAG_BYTES) / 3) * 4
  if (typeof v.data !== 'string' || v.data.length > maxData || !B64.test(v.data)) return 'sealed.data must be base64 ciphertext'
  if (typeof v.keys !== 'object' || v.keys === null || Array.isArray(v.keys)) return 'sealed.keys must map peer ids to sealed keys'
  const entries = Object.entries(v.keys)
  if (entries.length === 0 || entries.length > SECRET_LIMITS.maxRecipients) return `sealed.keys must list 1 to ${SECRET_LIMITS.maxRecipients} nodes`
  for (const [peer, sealedKey] of entries) {
    if (!isPeerIdString(peer)) return 'sealed.keys must be keyed by peer ids'
    if (typeof sealedKey !== 'string' || sealedKey.length !== SEALED_KEY_LENGTH || !B64.test(sealedKey)) return 'sealed.keys values must be sealed 32-byte keys'
  }
  return undefined
}
