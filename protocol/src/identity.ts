/**
 * Identities. A node is its libp2p Ed25519 key: the peer id names it, the
 * private key signs its entries, heartbeats and invites. Signing and checking
 * go through Node's native Ed25519 (tens of thousands per second), with the
 * public key read out of the peer id itself, so no key directory is needed.
 */
import { createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { InvalidIdentityError } from './errors.js'

/** base58btc peer id string, `12D3KooW…` */
export type PeerIdString = string & { __brand: 'PeerIdString' }

export interface Identity {
  readonly peerId: PeerIdString
  readonly privateKey: PrivateKey
  sign (bytes: Uint8Array): Uint8Array
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const PEER_ID_PATTERN = /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/

export async function generateIdentity (): Promise<Identity> {
  return identityFromPrivateKey(await generateKeyPair('Ed25519'))
}

export function identityFromPrivateKey (privateKey: PrivateKey): Identity {
  if (privateKey.type !== 'Ed25519') throw new InvalidIdentityError(`Node keys must be Ed25519, not ${privateKey.type}`)
  const seed = privateKey.raw.subarray(0, 32)
  const keyObject = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  return {
    peerId: peerIdFromPrivateKey(privateKey).toString() as PeerIdString,
    privateKey,
    sign: (bytes) => new Uint8Array(edSign(null, bytes, keyObject))
  }
}

/** the key file format: libp2p's protobuf private key encoding */
export function encodeIdentity (identity: Identity): Uint8Array {
  return privateKeyToProtobuf(identity.privateKey)
}

export function decodeIdentity (bytes: Uint8Array): Identity {
  try {
    return identityFromPrivateKey(privateKeyFromProtobuf(bytes))
  } catch (err: any) {
    throw new InvalidIdentityError(`The node key file is damaged (${err.message}); restore it from a backup or start a new node with a fresh data dir`)
  }
}

export function isPeerIdString (text: unknown): text is PeerIdString {
  return typeof text === 'string' && PEER_ID_PATTERN.test(text)
}

const MAX_CACHED_KEYS = 100_000
const publicKeys = new Map<string, KeyObject>()

function publicKeyOf (peerId: string): KeyObject {
  let key = publicKeys.get(peerId)
  if (key === undefined) {
    if (!isPeerIdString(peerId)) throw new InvalidIdentityError(`Not an Ed25519 peer id: ${peerId.slice(0, 60)}`)
    const raw = peerIdFromString(peerId).publicKey?.raw
    if (raw === undefined || raw.length !== 32) throw new InvalidIdentityError(`Peer id carries no Ed25519 key: ${peerId}`)
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' })
    if (publicKeys.size >= MAX_CACHED_KEYS) publicKeys.clear()
    publicKeys.set(peerId, key)
  }
  return key
}

/** true when `signature` is `peerId`'s signature of `bytes`; false (never a throw) for anything malformed */
export function verifySignature (peerId: string, bytes: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false
  try {
    return edVerify(null, bytes, publicKeyOf(peerId), signature)
  } catch {
    return false
  }
}
