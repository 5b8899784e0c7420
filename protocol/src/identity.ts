/**
 * Identities. A node is its libp2p Ed25519 key: the peer id names it, the
 * private key signs its entries, heartbeats and invites. Signing and checking
 * go through libsodium (sodium-native, about twice as fast as Node's own
 * Ed25519 here), with the public key read out of the peer id itself, so no
 * key directory is needed.
 */
import sodium from 'sodium-native'
import { generateKeyPair, generateKeyPairFromSeed, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { createHash } from 'node:crypto'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { InvalidIdentityError, messageOf } from './errors.js'

/** base58btc peer id string, `12D3KooW…` */
export type PeerIdString = string & { __brand: 'PeerIdString' }

export interface Identity {
  readonly peerId: PeerIdString
  readonly privateKey: PrivateKey
  sign (bytes: Uint8Array): Uint8Array
}

const PEER_ID_PATTERN = /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/

/** a new node identity: a fresh Ed25519 key pair and the peer id derived from it */
export async function generateIdentity (): Promise<Identity> {
  return identityFromPrivateKey(await generateKeyPair('Ed25519'))
}

/**
 * The identity derived from a name (SHA-256 of it as the Ed25519 seed): the
 * same name, the same peer id, every time. For simulations and tests, which
 * need reproducible runs; never for a real node
 */
export async function identityFromName (name: string): Promise<Identity> {
  return identityFromPrivateKey(await generateKeyPairFromSeed('Ed25519', createHash('sha256').update(name).digest()))
}

/** the identity of a libp2p private key; InvalidIdentityError unless it is Ed25519 */
export function identityFromPrivateKey (privateKey: PrivateKey): Identity {
  if (privateKey.type !== 'Ed25519') throw new InvalidIdentityError(`Node keys must be Ed25519, not ${privateKey.type}`)
  // libp2p's raw Ed25519 private key is seed ‖ public key: libsodium's secret key format
  const secretKey = Buffer.from(privateKey.raw)
  if (secretKey.length !== sodium.crypto_sign_SECRETKEYBYTES) throw new InvalidIdentityError('An Ed25519 private key must be 64 bytes (seed and public key)')
  return {
    peerId: peerIdFromPrivateKey(privateKey).toString() as PeerIdString,
    privateKey,
    sign: (bytes) => {
      const signature = Buffer.alloc(sodium.crypto_sign_BYTES)
      sodium.crypto_sign_detached(signature, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), secretKey)
      return new Uint8Array(signature.buffer, signature.byteOffset, signature.byteLength)
    }
  }
}

/** the key file format: libp2p's protobuf private key encoding */
export function encodeIdentity (identity: Identity): Uint8Array {
  return privateKeyToProtobuf(identity.privateKey)
}

/** an identity from its stored form (libp2p's protobuf private key); InvalidIdentityError when damaged */
export function decodeIdentity (bytes: Uint8Array): Identity {
  try {
    return identityFromPrivateKey(privateKeyFromProtobuf(bytes))
  } catch (err) {
    throw new InvalidIdentityError(`The node key file is damaged (${messageOf(err)}); restore it from a backup or start a new node with a fresh data dir`)
  }
}

/** true for the text of an Ed25519 peer id (`12D3KooW` and 44 base58 characters) */
export function isPeerIdString (text: unknown): text is PeerIdString {
  return typeof text === 'string' && PEER_ID_PATTERN.test(text)
}

const MAX_CACHED_KEYS = 100_000
const publicKeys = new Map<string, Buffer>()

function publicKeyOf (peerId: string): Buffer {
  let key = publicKeys.get(peerId)
  if (key === undefined) {
    if (!isPeerIdString(peerId)) throw new InvalidIdentityError(`Not an Ed25519 peer id: ${peerId.slice(0, 60)}`)
    const raw = peerIdFromString(peerId).publicKey?.raw
    if (raw === undefined || raw.length !== 32) throw new InvalidIdentityError(`Peer id carries no Ed25519 key: ${peerId}`)
    key = Buffer.from(raw)
    if (publicKeys.size >= MAX_CACHED_KEYS) publicKeys.clear()
    publicKeys.set(peerId, key)
  }
  return key
}

/** true when `signature` is `peerId`'s signature of `bytes`; false (never a throw) for anything malformed */
export function verifySignature (peerId: string, bytes: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false
  try {
    return sodium.crypto_sign_verify_detached(asBuffer(signature), asBuffer(bytes), publicKeyOf(peerId))
  } catch {
    return false
  }
}

function asBuffer (bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
