/**
 * Git as the source of an organization's desired state: the repository a
 * mesh follows (`source/<org>/<name>`, written by `minga apply --git URL
 * --watch`), what the node watching it last did (`source-status/<org>/<name>`),
 * and the commit a service came from (`ServiceRecord.source`).
 */
import { createHash } from 'node:crypto'
import { canonicalJson } from './canonical.js'
import { NAME_PATTERN } from './keys.js'

/** the repository, branch and folder an organization's services follow */
export type SourceRecord = {
  /** what `git fetch` takes: https://…, ssh://…, git@host:path, file:///…, or a path on the watching node */
  url: string
  /** a branch or tag */
  ref: string
  /** the folder of the repository that holds the spec and Compose files; '' for its root */
  path: string
  /** ms between polls */
  interval: number
  /** remove the services this source created that its files no longer declare */
  prune: boolean
  /**
   * SSH public keys (`ssh-ed25519 AAAA… comment`) whose signatures make a
   * commit acceptable; absent: any commit is applied
   */
  signers?: string[]
}

/** what the watching node did last; written only when it changes */
export type SourceStatusRecord = {
  /** the last commit applied (hex); absent before the first */
  commit?: string
  /** ms since epoch of that apply */
  applied?: number
  /** the node that watches (wrote this) */
  node: string
  /** the last commit that failed its checks, and why; cleared once a later commit applies */
  rejected?: { commit: string, error: string }
  /** a fetch that failed (the next poll retries), cleared by the next that works */
  error?: string
  /** `sourceFingerprint` of the source these facts are about: a changed source applies its commit again */
  of?: string
}

/** the commit a service came from: its source's name and the commit that last changed it */
export type ServiceSource = { name: string, commit: string }

export const SOURCE_LIMITS = {
  url: 1024,
  ref: 200,
  path: 1024,
  signers: 32,
  signer: 1024,
  error: 2000,
  minInterval: 5_000,
  maxInterval: 86_400_000
} as const

const COMMIT_PATTERN = /^[0-9a-f]{40}([0-9a-f]{24})?$/
// git's check-ref-format, roughly: no spaces, control characters, "..", or a leading "-"
const REF_PATTERN = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/@+-]+$/
const SIGNER_PATTERN = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]+( [^\n\r]*)?$/

const isText = (value: unknown, max: number): value is string => typeof value === 'string' && value.length <= max

/** is `value` a full commit id (40 or 64 hex characters) */
export function isCommit (value: unknown): value is string {
  return typeof value === 'string' && COMMIT_PATTERN.test(value)
}

/** why a source record cannot stand, or undefined; each message names the flag that sets the field */
export function sourceProblem (v: Record<string, unknown>): string | undefined {
  if (!isText(v.url, SOURCE_LIMITS.url) || v.url.trim() === '' || v.url.startsWith('-') || /[\0\r\n]/.test(v.url)) return `the repository URL must be 1 to ${SOURCE_LIMITS.url} characters on one line, not starting with "-"`
  if (/^ext::/i.test(v.url)) return 'git\'s ext:: transport runs commands; give an https://, ssh:// or file:// URL'
  if (!isText(v.ref, SOURCE_LIMITS.ref) || !REF_PATTERN.test(v.ref)) return '--ref must name a branch or tag (letters, digits, ".", "_", "/", "-"; no "..")'
  if (!isText(v.path, SOURCE_LIMITS.path) || v.path.startsWith('/') || v.path.split('/').includes('..') || /[\0\r\n]/.test(v.path)) return '--path must be a folder inside the repository (relative, no "..")'
  if (!Number.isSafeInteger(v.interval) || (v.interval as number) < SOURCE_LIMITS.minInterval || (v.interval as number) > SOURCE_LIMITS.maxInterval) return '--watch must be from 5s to 24h'
  if (typeof v.prune !== 'boolean') return 'prune must be true or false'
  if (v.signers !== undefined) {
    if (!Array.isArray(v.signers) || v.signers.length === 0 || v.signers.length > SOURCE_LIMITS.signers) return `signers must list 1 to ${SOURCE_LIMITS.signers} SSH public keys`
    for (const signer of v.signers) if (!isText(signer, SOURCE_LIMITS.signer) || !SIGNER_PATTERN.test(signer)) return 'each signer must be an SSH public key line, e.g. "ssh-ed25519 AAAA… alice@example.org"'
  }
  return undefined
}

/** sha256 (hex, 16 characters) of what decides a source's change set: url, ref, path, prune, signers */
export function sourceFingerprint (source: SourceRecord): string {
  const { url, ref, path, prune, signers } = source
  return createHash('sha256').update(canonicalJson({ url, ref, path, prune, signers: signers ?? [] })).digest('hex').slice(0, 16)
}

/** why a source status cannot stand, or undefined */
export function sourceStatusProblem (v: Record<string, unknown>): string | undefined {
  if (v.commit !== undefined && !isCommit(v.commit)) return 'status commit must be a full commit id'
  if (v.applied !== undefined && !Number.isSafeInteger(v.applied)) return 'status applied must be a time in ms'
  if (!isText(v.node, 128)) return 'status node must be a peer id'
  if (v.of !== undefined && !(typeof v.of === 'string' && /^[0-9a-f]{16}$/.test(v.of))) return 'status of must be a source fingerprint'
  if (v.error !== undefined && !isText(v.error, SOURCE_LIMITS.error)) return `status error must be text of at most ${SOURCE_LIMITS.error} characters`
  if (v.rejected !== undefined) {
    const r = v.rejected as Record<string, unknown>
    if (typeof r !== 'object' || r === null || Array.isArray(r) || Object.keys(r).some(k => k !== 'commit' && k !== 'error') || !isCommit(r.commit) || !isText(r.error, SOURCE_LIMITS.error)) return 'status rejected must be {commit, error}'
  }
  return undefined
}

/** why a service's source cannot stand, or undefined */
export function serviceSourceProblem (v: unknown): string | undefined {
  const s = v as Record<string, unknown>
  if (typeof s !== 'object' || s === null || Array.isArray(s) || Object.keys(s).some(k => k !== 'name' && k !== 'commit')) return 'service source must be {name, commit}'
  return typeof s.name === 'string' && NAME_PATTERN.test(s.name) && isCommit(s.commit) ? undefined : 'service source needs a source name and a full commit id'
}
