/**
 * The key space of the replicated state. Keys name what they describe; the
 * first segment decides who may write it (auth.ts) and what its value looks
 * like (records.ts).
 */
import { isPeerIdString } from './identity.js'

export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
const INVITE_ID_PATTERN = /^[0-9a-f]{16,64}$/
/** names of secrets: an environment variable name, or a file name under /run/secrets */
export const SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/
const SHA256_PATTERN = /^[0-9a-f]{64}$/
const PROPOSAL_ID_PATTERN = /^[0-9a-f]{16,64}$/

export type Key =
  | { kind: 'mesh' }
  | { kind: 'org', org: string }
  | { kind: 'member', peer: string }
  | { kind: 'node', peer: string }
  | { kind: 'cordon', peer: string }
  | { kind: 'revoked', peer: string }
  | { kind: 'invite', id: string }
  | { kind: 'service', org: string, name: string }
  | { kind: 'secret', org: string, service: string, name: string }
  | { kind: 'config', org: string, service: string, digest: string }
  | { kind: 'proposal', id: string }
  | { kind: 'vote', id: string, org: string }
  | { kind: 'source', org: string, name: string }
  | { kind: 'source-status', org: string, name: string }
  | { kind: 'backup', org: string, service: string }
  | { kind: 'snapshot', org: string, service: string, volume: string, peer: string }
  | { kind: 'prune', org: string, service: string }
  | { kind: 'recovery', org: string }

export type KeyKind = Key['kind']

declare const recordKind: unique symbol
/**
 * A key of kind K, as `keys` makes it: the state reads and writes the value
 * under it as `RecordOf[K]` (records.ts). A plain string is a key too, but
 * its value reads as untyped JSON
 */
export type RecordKey<K extends KeyKind = KeyKind> = string & { readonly [recordKind]: K }

const typed = <K extends KeyKind>(text: string): RecordKey<K> => text as RecordKey<K>

/** the keys of the state, by kind; each names what it describes */
export const keys = {
  mesh: () => typed<'mesh'>('mesh'),
  org: (org: string) => typed<'org'>(`org/${org}`),
  member: (peer: string) => typed<'member'>(`member/${peer}`),
  node: (peer: string) => typed<'node'>(`node/${peer}`),
  cordon: (peer: string) => typed<'cordon'>(`cordon/${peer}`),
  revoked: (peer: string) => typed<'revoked'>(`revoked/${peer}`),
  invite: (id: string) => typed<'invite'>(`invite/${id}`),
  service: (org: string, name: string) => typed<'service'>(`service/${org}/${name}`),
  secret: (org: string, service: string, name: string) => typed<'secret'>(`secret/${org}/${service}/${name}`),
  /** one chunk of config content of a service, by the sha256 (hex) of its bytes */
  config: (org: string, service: string, digest: string) => typed<'config'>(`config/${org}/${service}/${digest}`),
  proposal: (id: string) => typed<'proposal'>(`proposal/${id}`),
  vote: (id: string, org: string) => typed<'vote'>(`vote/${id}/${org}`),
  /** a git repository an organization's desired state follows (`minga apply --git URL --watch`) */
  source: (org: string, name: string) => typed<'source'>(`source/${org}/${name}`),
  /** what the node watching a source last applied or refused */
  sourceStatus: (org: string, name: string) => typed<'source-status'>(`source-status/${org}/${name}`),
  /** a service's backup repository: its password, sealed like a secret (backup-records.ts) */
  backup: (org: string, service: string) => typed<'backup'>(`backup/${org}/${service}`),
  /** the latest snapshot of a volume that node <peer> took or chose */
  snapshot: (org: string, service: string, volume: string, peer: string) => typed<'snapshot'>(`snapshot/${org}/${service}/${volume}/${peer}`),
  /** what holders of a service's backups may drop */
  prune: (org: string, service: string) => typed<'prune'>(`prune/${org}/${service}`),
  /** an organization's recovery key, as a peer id (recovery.ts) */
  recovery: (org: string) => typed<'recovery'>(`recovery/${org}`)
}

/** the key as a key of `kind` when it is one minga knows of that kind, else undefined */
export function keyOfKind<K extends KeyKind> (key: string, kind: K): RecordKey<K> | undefined {
  return parseKey(key)?.kind === kind ? typed<K>(key) : undefined
}

/** the parsed key, or undefined when the key is not one minga knows */
export function parseKey (key: string): Key | undefined {
  const parts = key.split('/')
  const [kind, a, b, c] = parts
  switch (kind) {
    case 'mesh':
      return parts.length === 1 ? { kind } : undefined
    case 'org':
    case 'recovery':
      return parts.length === 2 && NAME_PATTERN.test(a) ? { kind, org: a } : undefined
    case 'member':
    case 'node':
    case 'cordon':
    case 'revoked':
      return parts.length === 2 && isPeerIdString(a) ? { kind, peer: a } : undefined
    case 'invite':
      return parts.length === 2 && INVITE_ID_PATTERN.test(a) ? { kind, id: a } : undefined
    case 'service':
    case 'source':
    case 'source-status':
      return parts.length === 3 && NAME_PATTERN.test(a) && NAME_PATTERN.test(b) ? { kind, org: a, name: b } : undefined
    case 'secret':
      return parts.length === 4 && NAME_PATTERN.test(a) && NAME_PATTERN.test(b) && SECRET_NAME_PATTERN.test(c) ? { kind, org: a, service: b, name: c } : undefined
    case 'config':
      return parts.length === 4 && NAME_PATTERN.test(a) && NAME_PATTERN.test(b) && SHA256_PATTERN.test(c) ? { kind, org: a, service: b, digest: c } : undefined
    case 'proposal':
      return parts.length === 2 && PROPOSAL_ID_PATTERN.test(a) ? { kind, id: a } : undefined
    case 'vote':
      return parts.length === 3 && PROPOSAL_ID_PATTERN.test(a) && NAME_PATTERN.test(b) ? { kind, id: a, org: b } : undefined
    case 'backup':
    case 'prune':
      return parts.length === 3 && NAME_PATTERN.test(a) && NAME_PATTERN.test(b) ? { kind, org: a, service: b } : undefined
    case 'snapshot':
      return parts.length === 5 && NAME_PATTERN.test(a) && NAME_PATTERN.test(b) && NAME_PATTERN.test(c) && isPeerIdString(parts[4]) ? { kind, org: a, service: b, volume: c, peer: parts[4] } : undefined
    default:
      return undefined
  }
}

/**
 * keys whose entries change who may write what: a change re-checks entries
 * held back for them (governance entries included: a passed removal
 * authorizes the entries that carry it out)
 */
export function isMembershipKey (key: string): boolean {
  return key === 'mesh' || key.startsWith('member/') || key.startsWith('invite/') || key.startsWith('revoked/') || key.startsWith('org/') ||
    key.startsWith('proposal/') || key.startsWith('vote/') || key.startsWith('recovery/')
}

/**
 * How two valid entries for one key are ordered by the merge:
 * - `last-wins`: the highest (hlc, author) wins (desired state)
 * - `first-wins`: the lowest wins, so a fact, once made, never changes
 *   wherever later writes arrive (admissions, orgs, proposals, votes)
 * - `most-seqs`: revocations; the highest `lastSeq` wins, so a revocation
 *   only ever grows to cover what some node had already accepted (auth.ts)
 */
export type MergeRule = 'last-wins' | 'first-wins' | 'most-seqs'

/** the rule by which two valid entries for `key` are ordered (see MergeRule) */
export function mergeRule (key: string): MergeRule {
  if (key.startsWith('member/') || key.startsWith('org/') || key.startsWith('proposal/') || key.startsWith('vote/') || key.startsWith('recovery/')) return 'first-wins'
  if (key.startsWith('revoked/')) return 'most-seqs'
  return 'last-wins'
}
