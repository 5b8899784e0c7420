/**
 * Signed entries: the unit of replicated state. Each carries its author (a
 * peer id), the author's sequence number, a hybrid-logical-clock stamp, a key
 * and a value or a tombstone, signed by the author over the canonical bytes
 * of all of that plus the mesh id (so an entry cannot be replayed into
 * another mesh).
 */
import { canonicalJson, type Json } from './canonical.js'
import { isHlc } from './hlc.js'
import { isPeerIdString, verifySignature, type Identity } from './identity.js'
import { InvalidEntryError, messageOf } from './errors.js'

export type Entry = {
  author: string
  seq: number
  hlc: string
  key: string
  /** absent on a tombstone */
  value?: Json
  tombstone?: true
  /** base64 Ed25519 signature */
  sig: string
}

export type UnsignedEntry = {
  author: string
  seq: number
  hlc: string
  key: string
  value?: Json
  tombstone?: true
}

export const MAX_KEY_LENGTH = 256
/** canonical bytes of one value; specs are far smaller */
export const MAX_VALUE_BYTES = 64 * 1024

const SIGNING_DOMAIN = 'minga/entry/1'
const encoder = new TextEncoder()

/** the bytes an entry's signature covers: canonical JSON of the domain, the mesh id and every field but `sig` */
export function signingBytes (meshId: string, entry: UnsignedEntry): Uint8Array {
  const body = entry.tombstone === true ? null : entry.value ?? null
  return encoder.encode(canonicalJson([SIGNING_DOMAIN, meshId, entry.author, entry.seq, entry.hlc, entry.key, entry.tombstone === true, body]))
}

/**
 * Signs an entry for `meshId` with `identity`'s Ed25519 key (libsodium): the unsigned fields plus `sig`,
 * base64 of 64 bytes. Throws TypeError when the value cannot be canonical JSON
 */
export function signEntry (meshId: string, identity: Identity, unsigned: UnsignedEntry): Entry {
  if (unsigned.author !== identity.peerId) throw new InvalidEntryError('An entry must be signed by its own author')
  const sig = Buffer.from(identity.sign(signingBytes(meshId, unsigned))).toString('base64')
  return { ...unsigned, sig }
}

/**
 * true when `entry.sig` is the author's Ed25519 signature over `signingBytes(meshId, entry)`; the author's public key is read from its peer id
 */
export function verifyEntry (meshId: string, entry: Entry): boolean {
  return verifySignature(entry.author, signingBytes(meshId, entry), Buffer.from(entry.sig, 'base64'))
}

/**
 * Checks the shape of something that claims to be an entry (from the wire or
 * the disk) and returns it as a clean `Entry`, without extra fields. Throws
 * `InvalidEntryError` saying what is wrong.
 */
export function parseEntry (input: unknown): Entry {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new InvalidEntryError('An entry must be an object')
  const raw = input as Record<string, unknown>
  if (!isPeerIdString(raw.author)) throw new InvalidEntryError('entry.author must be an Ed25519 peer id')
  if (!Number.isSafeInteger(raw.seq) || (raw.seq as number) < 1) throw new InvalidEntryError('entry.seq must be a positive integer')
  if (!isHlc(raw.hlc)) throw new InvalidEntryError('entry.hlc must be a clock stamp like 001764000000000.000000')
  if (typeof raw.key !== 'string' || raw.key.length === 0 || raw.key.length > MAX_KEY_LENGTH) throw new InvalidEntryError(`entry.key must be a string of 1 to ${MAX_KEY_LENGTH} characters`)
  if (typeof raw.sig !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(raw.sig)) throw new InvalidEntryError('entry.sig must be a base64 Ed25519 signature')
  const entry: Entry = { author: raw.author, seq: raw.seq as number, hlc: raw.hlc, key: raw.key, sig: raw.sig }
  if (raw.tombstone === true) {
    if (raw.value !== undefined) throw new InvalidEntryError('A tombstone carries no value')
    entry.tombstone = true
  } else {
    if (raw.tombstone !== undefined) throw new InvalidEntryError('entry.tombstone must be true or absent')
    if (raw.value === undefined) throw new InvalidEntryError('entry.value is missing (or set tombstone: true)')
    let size: number
    try {
      size = canonicalJson(raw.value).length
    } catch (err) {
      throw new InvalidEntryError(`entry.value is not signable JSON: ${messageOf(err)}`)
    }
    if (size > MAX_VALUE_BYTES) throw new InvalidEntryError(`entry.value is ${size} bytes; the limit is ${MAX_VALUE_BYTES}`)
    entry.value = raw.value as Json
  }
  return entry
}

/**
 * Total order used by the merge: highest (hlc, author) wins. An author never
 * issues one stamp twice, but a faulty one might; seq and then the signature
 * break that tie so that every node still picks the same winner.
 */
export function compareEntries (a: Entry, b: Entry): number {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1
  if (a.author !== b.author) return a.author < b.author ? -1 : 1
  if (a.seq !== b.seq) return a.seq - b.seq
  if (a.sig !== b.sig) return a.sig < b.sig ? -1 : 1
  return 0
}

/** a short, stable name for an entry in logs and sets */
export function entryId (entry: Pick<Entry, 'author' | 'seq'>): string {
  return `${entry.author}#${entry.seq}`
}
