/**
 * The values stored under each kind of key, and strict checks for them. An
 * entry whose value does not have the shape its key demands is rejected
 * before it can reach anyone's scheduler.
 */
import { messageOf } from './errors.js'
import type { Json } from './canonical.js'
import type { Entry } from './entry.js'
import { createHash } from 'node:crypto'
import { CONFIG_CHUNK_BYTES, type Resources } from './spec.js'
import { sealedSecretProblem, type SealedSecret } from './secret-box.js'
import { isHlc } from './hlc.js'
import { isPeerIdString, type PeerIdString } from './identity.js'
import { NAME_PATTERN, type Key, type KeyKind, type RecordKey } from './keys.js'
import { checkServiceSpec } from './spec-parse.js'
import type { ServiceRecord } from './spec.js'
import {
  imageRecordChecks, type BuildRecord, type BuildResultRecord, type ImageRecord, type PolicyRecord, type ScannerDbRecord, type ScanRecord,
  type TagRecord, type WaiverRecord
} from './image-records.js'
import { serviceSourceProblem, sourceProblem, sourceStatusProblem, type SourceRecord, type SourceStatusRecord } from './source.js'
import { backupRecordProblem, type BackupRecord, type PruneRecord, type SnapshotRecord } from './backup-records.js'

export type MeshRecord = { id: string, root: string, created: number }
export type OrgRecord = { name: string, invite?: string }
/** `recovery`: for a node that joins an org that lost its nodes, the org's recovery key's signature of its admission (recovery.ts) */
export type MemberRecord = { org: string, invite?: string, recovery?: string }
/** an organization's recovery key, as a peer id: secrets and backup passwords are sealed to it too (recovery.ts) */
export type RecoveryRecord = { key: PeerIdString }
export type NodeRecord = {
  labels: Record<string, string>
  /** organizations whose services this node runs; absent = all */
  acceptOrgs?: string[]
  /** share of this node's capacity that other organizations' services may use, 0..1; absent = 1 */
  shareForOthers?: number
  addrs: string[]
  /** addresses of this node's door, where joiners knock */
  door?: string[]
  capacity?: Resources
  /** this node builds images for its organization and for others (`minga up --builder`) */
  builds?: true
}
export type CordonRecord = { reason: string }
/**
 * a removed node: its entries up to `lastSeq` stand, later ones are refused.
 * A node that had already accepted later entries of it raises `lastSeq` to
 * cover them (auth.ts), with one of them as `proof` when it is not of the
 * removed node's org, so every node ends up holding the same entries.
 */
export type RevokedRecord = { lastSeq: number, reason: string, proof?: Entry }
export type InviteRecord = {
  issuerOrg: string
  /** the organization it admits to; absent when it admits a new organization */
  org?: string
  newOrg: boolean
  secretHash: string
  expires: number
  uses: number
  /** HLC from which the invite admits nobody */
  revokedAt?: string
}
/**
 * a governance proposal, immutable: its id is derived from its author and
 * content (`proposalId`). `electorate` is every organization of the mesh
 * when it was opened, the target excepted; it passes when more than half
 * of them have approved.
 */
export type ProposalRecord = { action: 'remove-org', org: string, reason: string, electorate: string[], opened: number }
/** an organization's approval of a proposal; there is no "no": an org that does not approve does not vote */
export type VoteRecord = { approve: true }
/**
 * a secret of a service, sealed to the nodes that may run it (secret-box.ts);
 * `version` is the clock stamp of the `minga secret set` that gave it its
 * value: re-sealing keeps it, so only a new value restarts the replicas
 */
export type SecretRecord = { sealed: SealedSecret, version: string }
/**
 * one chunk of the content of a service's config files (`ConfigFileSpec`):
 * base64 of at most `CONFIG_CHUNK_BYTES` bytes whose sha256 is the key's digest
 */
export type ConfigChunkRecord = { data: string }

/**
 * The one map from a key's kind to the record stored under it: every entry
 * the state merges was checked against it (`checkRecord`), so a value read
 * through a `RecordKey<K>` is a `RecordOf[K]`
 */
export type RecordOf = {
  mesh: MeshRecord
  org: OrgRecord
  member: MemberRecord
  node: NodeRecord
  cordon: CordonRecord
  revoked: RevokedRecord
  invite: InviteRecord
  service: ServiceRecord
  secret: SecretRecord
  config: ConfigChunkRecord
  proposal: ProposalRecord
  vote: VoteRecord
  image: ImageRecord
  tag: TagRecord
  scan: ScanRecord
  policy: PolicyRecord
  waiver: WaiverRecord
  build: BuildRecord
  'build-result': BuildResultRecord
  'scanner-db': ScannerDbRecord
  source: SourceRecord
  'source-status': SourceStatusRecord
  backup: BackupRecord
  snapshot: SnapshotRecord
  prune: PruneRecord
  recovery: RecoveryRecord
}

/** a live entry of kind K: its key and its value typed */
export type RecordEntry<K extends KeyKind = KeyKind> = Omit<Entry, 'key' | 'value'> & { key: RecordKey<K>, value: RecordOf[K] }

/**
 * An entry's value as the record of its key's kind: for entries the state
 * holds (every one passed `checkRecord`) or an entry being authorized after
 * its check; undefined on a tombstone. `kind` names what the caller knows
 * the key to be
 */
export function recordValue<K extends KeyKind> (entry: Pick<Entry, 'value'>, kind: K): RecordOf[K] | undefined {
  return entry.value as RecordOf[K] | undefined
}

/** organizations one proposal can count; more would not fit an entry */
export const MAX_ELECTORATE = 500

/** the check of one kind's record: `v` is an object (checkRecord made sure), `k` its parsed key */
type Check<K extends Key['kind']> = (v: Record<string, unknown>, k: Extract<Key, { kind: K }>) => string | undefined

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)
const isName = (value: unknown): value is string => typeof value === 'string' && NAME_PATTERN.test(value)
const isShortString = (value: unknown, max = 1024): value is string => typeof value === 'string' && value.length <= max
const isStringMap = (value: unknown): boolean => isObject(value) && Object.keys(value).length <= 64 && Object.values(value).every(v => isShortString(v, 256))

function fields (value: Record<string, unknown>, required: string[], optional: string[] = []): string | undefined {
  for (const name of required) if (value[name] === undefined) return `value.${name} is missing`
  for (const name of Object.keys(value)) if (!required.includes(name) && !optional.includes(name)) return `value.${name} is not a known field`
  return undefined
}

const checks: { [K in Key['kind']]: Check<K> } = {
  mesh: (v) => fields(v, ['id', 'root', 'created']) ?? (
    isShortString(v.id, 128) && isPeerIdString(v.root) && Number.isSafeInteger(v.created) ? undefined : 'mesh record needs id, root peer id and created time'),
  org: (v, k) => fields(v, ['name'], ['invite']) ?? (v.name === k.org ? undefined : 'org record name must match its key'),
  member: (v) => fields(v, ['org'], ['invite', 'recovery']) ?? (isName(v.org) && (v.invite === undefined || isShortString(v.invite, 64)) && (v.recovery === undefined || (typeof v.recovery === 'string' && /^[A-Za-z0-9+/]{86}==$/.test(v.recovery))) ? undefined : 'member record needs an org name (and a recovery proof is a base64 signature)'),
  recovery: (v) => fields(v, ['key']) ?? (isPeerIdString(v.key) ? undefined : 'recovery key must be an Ed25519 peer id'),
  node: (v) => fields(v, ['labels', 'addrs'], ['acceptOrgs', 'shareForOthers', 'capacity', 'door', 'builds']) ?? checkNode(v),
  cordon: (v) => fields(v, ['reason']) ?? (isShortString(v.reason) ? undefined : 'cordon reason must be text'),
  revoked: (v) => fields(v, ['lastSeq', 'reason'], ['proof']) ?? (Number.isSafeInteger(v.lastSeq) && (v.lastSeq as number) >= 0 && isShortString(v.reason) && (v.proof === undefined || isObject(v.proof))
    ? undefined
    : 'revocation needs lastSeq, a reason and at most a proof entry'),
  invite: (v) => fields(v, ['issuerOrg', 'newOrg', 'secretHash', 'expires', 'uses'], ['org', 'revokedAt']) ?? checkInvite(v),
  service: (v, k) => checkService(v, k),
  secret: (v) => fields(v, ['sealed', 'version']) ?? (isHlc(v.version) ? sealedSecretProblem(v.sealed) : 'secret version must be a clock stamp'),
  config: (v, k) => fields(v, ['data']) ?? checkConfigChunk(v.data, k.digest),
  proposal: (v) => fields(v, ['action', 'org', 'reason', 'electorate', 'opened']) ?? checkProposal(v),
  vote: (v) => fields(v, ['approve']) ?? (v.approve === true ? undefined : 'vote.approve must be true (not approving is not voting)'),
  image: (v) => imageRecordChecks.image(v),
  tag: (v, k) => imageRecordChecks.tag(v, k.id),
  scan: (v) => imageRecordChecks.scan(v),
  policy: (v) => imageRecordChecks.policy(v),
  waiver: (v) => imageRecordChecks.waiver(v),
  build: (v) => imageRecordChecks.build(v),
  'build-result': (v) => imageRecordChecks.buildResult(v),
  'scanner-db': (v) => imageRecordChecks.scannerDb(v),
  source: (v) => fields(v, ['url', 'ref', 'path', 'interval', 'prune'], ['signers']) ?? sourceProblem(v),
  'source-status': (v) => fields(v, ['node'], ['commit', 'applied', 'rejected', 'error', 'of']) ?? sourceStatusProblem(v),
  backup: (v, k) => backupRecordProblem(k, v),
  snapshot: (v, k) => backupRecordProblem(k, v),
  prune: (v, k) => backupRecordProblem(k, v)
}

function checkNode (v: Record<string, unknown>): string | undefined {
  if (!isStringMap(v.labels)) return 'node labels must map names to short strings'
  for (const field of ['addrs', 'door'] as const) {
    const list = v[field]
    if (list !== undefined && (!Array.isArray(list) || list.length > 16 || !list.every(a => isShortString(a, 256)))) return `node ${field} must be at most 16 multiaddrs`
  }
  if (v.acceptOrgs !== undefined && (!Array.isArray(v.acceptOrgs) || !v.acceptOrgs.every(isName))) return 'acceptOrgs must be a list of org names'
  if (v.shareForOthers !== undefined && !(typeof v.shareForOthers === 'number' && v.shareForOthers >= 0 && v.shareForOthers <= 1)) return 'shareForOthers must be a number from 0 to 1'
  if (v.builds !== undefined && v.builds !== true) return 'builds must be true when present'
  if (v.capacity !== undefined && !(isObject(v.capacity) && Number.isSafeInteger(v.capacity.cpu) && Number.isSafeInteger(v.capacity.memory))) return 'capacity must be {cpu, memory}'
  return undefined
}

const MAX_CHUNK_BASE64 = Math.ceil(CONFIG_CHUNK_BYTES / 3) * 4

function checkConfigChunk (data: unknown, digest: string): string | undefined {
  if (typeof data !== 'string' || data.length === 0 || data.length > MAX_CHUNK_BASE64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return `config data must be base64 of 1 to ${CONFIG_CHUNK_BYTES} bytes`
  const bytes = Buffer.from(data, 'base64')
  if (bytes.toString('base64') !== data) return 'config data must be canonical base64'
  return createHash('sha256').update(bytes).digest('hex') === digest ? undefined : 'config data does not match the digest in its key'
}

function checkProposal (v: Record<string, unknown>): string | undefined {
  if (v.action !== 'remove-org') return 'proposal action must be remove-org'
  if (!isName(v.org) || !isShortString(v.reason)) return 'proposal needs the org to remove and a reason'
  if (!Number.isSafeInteger(v.opened)) return 'proposal opened must be a time in ms'
  const electorate = v.electorate
  if (!Array.isArray(electorate) || electorate.length === 0 || electorate.length > MAX_ELECTORATE || !electorate.every(isName)) return `proposal electorate must list 1 to ${MAX_ELECTORATE} orgs`
  for (let i = 1; i < electorate.length; i++) if (electorate[i - 1] >= electorate[i]) return 'proposal electorate must be sorted, without repeats'
  if (electorate.includes(v.org)) return 'the org to remove does not vote on its own removal'
  return undefined
}

function checkInvite (v: Record<string, unknown>): string | undefined {
  if (!isName(v.issuerOrg)) return 'invite issuerOrg must be an org name'
  if (typeof v.newOrg !== 'boolean') return 'invite newOrg must be true or false'
  if (v.newOrg ? v.org !== undefined : !isName(v.org)) return 'an invite names an org, or admits a new org, not both'
  if (typeof v.secretHash !== 'string' || !/^[0-9a-f]{64}$/.test(v.secretHash)) return 'invite secretHash must be a sha256 hex digest'
  if (!Number.isSafeInteger(v.expires) || !Number.isSafeInteger(v.uses) || (v.uses as number) < 1) return 'invite needs integer expires and uses ≥ 1'
  if (v.revokedAt !== undefined && !isHlc(v.revokedAt)) return 'invite revokedAt must be a clock stamp'
  return undefined
}

function checkService (record: Record<string, unknown>, key: Extract<Key, { kind: 'service' }>): string | undefined {
  const problem = fields(record, ['spec', 'created'], ['source'])
  if (problem !== undefined) return problem
  if (!isHlc(record.created)) return 'service created must be a clock stamp'
  if (record.source !== undefined) {
    const bad = serviceSourceProblem(record.source)
    if (bad !== undefined) return bad
  }
  try {
    const spec = checkServiceSpec(record.spec)
    if (spec.org !== key.org || spec.name !== key.name) return `spec names ${spec.org}/${spec.name} but the key is service/${key.org}/${key.name}`
  } catch (err) {
    return messageOf(err)
  }
  return undefined
}

/** why this value cannot stand under this key, or undefined when it can; tombstones are checked by auth */
export function checkRecord (key: Key, value: Json): string | undefined {
  if (!isObject(value)) return 'value must be an object'
  // each kind's check takes its own key: the map is indexed by the key's kind
  return (checks[key.kind] as Check<Key['kind']>)(value, key)
}
