/**
 * The replicated facts about images, builds and scans (issue 15). Every key
 * is scoped by the organization whose nodes write it:
 *
 * - `image/<org>/<hex>`: <org> made the image whose id is `sha256:<hex>`
 *   available in the mesh (pushed, built or pulled from a registry); the
 *   record names its chunk index (blob-index.ts), its size and tags, and
 *   whether only <org>'s nodes may fetch it.
 * - `tag/<org>/<sha256 of the ref>`: what <org>'s tag (`acme/web:1`) names now.
 * - `scan/<org>/<hex>`: the last scan of that image by a node of <org>.
 * - `policy/<org>`: what <org>'s deploys must pass (the scan gate).
 * - `waiver/<org>/<service>/<vulnerability>`: <org> accepts that finding in
 *   that service's image digest, signed by the node that wrote it.
 * - `build/<org>/<id>`: <org> asks a builder organization to build.
 * - `build-result/<org>/<id>`: a node of <org> built (or failed to build) it.
 * - `scanner-db/<org>/<scanner>`: the scanner database <org>'s nodes use.
 *
 * The checks throw nothing: they return what is wrong, as every record
 * check does (records.ts).
 */
import { createHash } from 'node:crypto'
import { messageOf } from './errors.js'
import { NAME_PATTERN } from './keys.js'
import { fail, list, object, pattern, text, whole } from './wire-check.js'

/** hex digest of a blob, an image id's hex part */
export const HEX_DIGEST_PATTERN = /^[0-9a-f]{64}$/
/** `sha256:<hex>` */
export const IMAGE_ID_PATTERN = /^sha256:[0-9a-f]{64}$/
/** vulnerability ids as scanners name them: CVE-2024-1234, GHSA-xxxx-xxxx-xxxx, DLA-3482-1 */
export const VULNERABILITY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$/
export const BUILD_ID_PATTERN = /^[0-9a-f]{16,32}$/
/** an image reference: `[host[:port]/]path[:tag]`, no digest (a tag names what may change) */
export const IMAGE_REF_PATTERN = /^(?:([a-zA-Z0-9][a-zA-Z0-9.-]*(?::[0-9]+)?)\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?$/

export const IMAGE_LIMITS = {
  tags: 16,
  refLength: 255,
  /** bytes of an image, config and layers */
  imageBytes: 64 * 1024 ** 3,
  findings: 200,
  tailBytes: 4096,
  textLength: 1024
} as const

/** a Dockerfile stage name (`FROM … AS name`) */
export const BUILD_TARGET_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
export const BUILD_LIMITS = {
  args: 64
} as const

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'] as const
export type Severity = typeof SEVERITIES[number]
export type SeverityCounts = Record<Severity, number>

export type ImageSource = 'push' | 'build' | 'registry'

export type ImageRecord = {
  /** sha256 (hex) of the image's chunk index (blob-index.ts) */
  index: string
  /** bytes of its config and layers */
  size: number
  layers: number
  /** the references it was pushed with, e.g. `acme/web:1` */
  tags: string[]
  /** only nodes of the org fetch and serve it */
  private?: true
  source: ImageSource
  /** where a registry pull came from: `docker.io/library/nginx@sha256:…` */
  registry?: string
  /** the build that made it (`minga build logs ID`) */
  build?: string
  /** ms since epoch */
  pushed: number
}

/** what a tag of the org names now */
export type TagRecord = { ref: string, digest: string }

export type Finding = { id: string, severity: Severity, package: string, installed: string, fixed?: string }

export type ScanRecord = {
  /** the scanner and its version, as it says: `trivy 0.50.1`, `grype 0.74.0`, or the org's command */
  scanner: string
  /** ms since epoch */
  at: number
  /** the scanner's vulnerability database: when it was built (ms), and its blob when it came through the mesh */
  db?: { built: number, index?: string }
  counts: SeverityCounts
  /** findings with a fixed version, by severity */
  fixable: SeverityCounts
  /** the findings, most severe first, at most IMAGE_LIMITS.findings */
  findings: Finding[]
  /** findings left out of the list */
  truncated?: number
  /** the scan failed: why (the counts are then zero and mean nothing) */
  error?: string
}

export const BLOCK_LEVELS = ['none', 'critical', 'critical-fixable', 'high', 'high-fixable'] as const
export type BlockLevel = typeof BLOCK_LEVELS[number]

export type PolicyRecord = {
  /** findings that refuse a deploy: `critical-fixable` refuses critical findings that have a fix */
  block: BlockLevel
  /** ms: a scan made with an older database does not count */
  maxDbAge?: number
  /** the org's scanner: a command line run with `sh -c`, printing Trivy or Grype JSON */
  scanner?: string
}

export type WaiverRecord = {
  /** the image id the waiver applies to: a new image is judged again */
  digest: string
  reason: string
}

export type BuildSource = { url: string } | { bundle: string }

export type BuildRecord = {
  /** a git URL the builder clones, or the chunk index of a git bundle carried by the mesh */
  source: BuildSource
  ref: string
  /** the build context: a folder of the repository (default: its top) */
  context?: string
  /** the Dockerfile, relative to the context (Docker's and Compose's rule) */
  file: string
  /** build arguments (`--build-arg`, Compose `build.args`) */
  args?: Record<string, string>
  /** the stage of a multi-stage Dockerfile to build (`--target`) */
  target?: string
  /** the test command, run with `sh -c` in a container of the new image */
  test?: string
  tag: string
  /** the organization asked to build it */
  builderOrg: string
  private?: true
  /** ms since epoch */
  requested: number
}

export type BuildStatus = 'running' | 'passed' | 'failed'

export type BuildResultRecord = {
  /** the organization the image is for */
  org: string
  status: BuildStatus
  started: number
  finished?: number
  /** the reference the image is tagged with in the mesh of \`org\` */
  tag?: string
  /** the commit built */
  commit?: string
  /** the image id, once built */
  digest?: string
  /** its chunk index, once pushed into the mesh */
  index?: string
  /** the test command's exit code, when it ran (0 = passed) */
  testExit?: number
  /** the whole log's chunk index */
  log?: string
  /** the log's last lines */
  tail: string
  /** why it failed, in a line */
  error?: string
}

export type ScannerDbRecord = {
  /** chunk index of the database file */
  index: string
  size: number
  /** ms since epoch: when the database was built */
  built: number
  /** ms since epoch */
  pushed: number
}

/** the key part of a tag: sha256 (hex) of the reference */
export function tagKeyId (ref: string): string {
  return createHash('sha256').update(ref).digest('hex')
}

/** `nginx` → `nginx:latest`; a reference with a tag stays as it is */
export function withTag (ref: string): string {
  const last = ref.slice(ref.lastIndexOf('/') + 1)
  return last.includes(':') ? ref : `${ref}:latest`
}

/** a reference docker reads as one: a first component without "." or ":" (or localhost) is a path, so lower case */
export function isImageRef (value: unknown): value is string {
  if (typeof value !== 'string' || value.length > IMAGE_LIMITS.refLength) return false
  const match = IMAGE_REF_PATTERN.exec(value)
  const host = match?.[1]
  return match !== null && (host === undefined || host === 'localhost' || /[.:]/.test(host) || host === host.toLowerCase())
}

const hex = (value: unknown, path: string): string => pattern(value, path, HEX_DIGEST_PATTERN, 'must be a sha256 hex digest')
const ms = (value: unknown, path: string): number => whole(value, path, 0)
const ref = (value: unknown, path: string): string => {
  if (!isImageRef(value)) fail(path, 'must be an image reference with a tag, like acme/web:1')
  return value
}
const counts = (value: unknown, path: string): SeverityCounts => {
  const r = object(value, path, new Set(SEVERITIES))
  for (const s of SEVERITIES) whole(r[s], `${path}.${s}`, 0, 1_000_000)
  return r as SeverityCounts
}

function problemOf (check: () => void): string | undefined {
  try {
    check()
    return undefined
  } catch (err) {
    return messageOf(err)
  }
}

function checkImage (v: Record<string, unknown>): void {
  object(v, 'image', new Set(['index', 'size', 'layers', 'tags', 'private', 'source', 'registry', 'build', 'pushed']))
  hex(v.index, 'image.index')
  whole(v.size, 'image.size', 0, IMAGE_LIMITS.imageBytes)
  whole(v.layers, 'image.layers', 0, 1024)
  list(v.tags, 'image.tags', IMAGE_LIMITS.tags).forEach((t, i) => ref(t, `image.tags[${i}]`))
  if (v.private !== undefined && v.private !== true) fail('image.private', 'must be true when present')
  if (!['push', 'build', 'registry'].includes(v.source as string)) fail('image.source', 'must be push, build or registry')
  if (v.registry !== undefined) text(v.registry, 'image.registry', IMAGE_LIMITS.refLength + 72)
  if (v.build !== undefined) pattern(v.build, 'image.build', BUILD_ID_PATTERN, 'must be a build id')
  ms(v.pushed, 'image.pushed')
}

function checkTag (v: Record<string, unknown>, id: string): void {
  object(v, 'tag', new Set(['ref', 'digest']))
  ref(v.ref, 'tag.ref')
  pattern(v.digest, 'tag.digest', IMAGE_ID_PATTERN, 'must be an image id (sha256:<hex>)')
  if (tagKeyId(v.ref as string) !== id) fail('tag.ref', 'does not match the key (sha256 of the reference)')
}

function checkFinding (value: unknown, path: string): void {
  const f = object(value, path, new Set(['id', 'severity', 'package', 'installed', 'fixed']))
  pattern(f.id, `${path}.id`, VULNERABILITY_PATTERN, 'must be a vulnerability id like CVE-2024-1234')
  if (!(SEVERITIES as readonly unknown[]).includes(f.severity)) fail(`${path}.severity`, `must be one of ${SEVERITIES.join(', ')}`)
  text(f.package, `${path}.package`, 256)
  text(f.installed, `${path}.installed`, 128)
  if (f.fixed !== undefined) text(f.fixed, `${path}.fixed`, 256)
}

function checkScan (v: Record<string, unknown>): void {
  object(v, 'scan', new Set(['scanner', 'at', 'db', 'counts', 'fixable', 'findings', 'truncated', 'error']))
  text(v.scanner, 'scan.scanner', 256)
  ms(v.at, 'scan.at')
  if (v.db !== undefined) {
    const db = object(v.db, 'scan.db', new Set(['built', 'index']))
    ms(db.built, 'scan.db.built')
    if (db.index !== undefined) hex(db.index, 'scan.db.index')
  }
  counts(v.counts, 'scan.counts')
  counts(v.fixable, 'scan.fixable')
  list(v.findings, 'scan.findings', IMAGE_LIMITS.findings).forEach((f, i) => checkFinding(f, `scan.findings[${i}]`))
  if (v.truncated !== undefined) whole(v.truncated, 'scan.truncated', 1)
  if (v.error !== undefined) text(v.error, 'scan.error')
}

function checkPolicy (v: Record<string, unknown>): void {
  object(v, 'policy', new Set(['block', 'maxDbAge', 'scanner']))
  if (!(BLOCK_LEVELS as readonly unknown[]).includes(v.block)) fail('policy.block', `must be one of ${BLOCK_LEVELS.join(', ')}`)
  if (v.maxDbAge !== undefined) whole(v.maxDbAge, 'policy.maxDbAge', 60_000)
  if (v.scanner !== undefined && (text(v.scanner, 'policy.scanner').trim() === '')) fail('policy.scanner', 'must be a command line')
}

function checkWaiver (v: Record<string, unknown>): void {
  object(v, 'waiver', new Set(['digest', 'reason']))
  pattern(v.digest, 'waiver.digest', IMAGE_ID_PATTERN, 'must be an image id (sha256:<hex>)')
  text(v.reason, 'waiver.reason')
}

function checkBuild (v: Record<string, unknown>): void {
  object(v, 'build', new Set(['source', 'ref', 'context', 'file', 'args', 'target', 'test', 'tag', 'builderOrg', 'private', 'requested']))
  const source = object(v.source, 'build.source', new Set(['url', 'bundle']))
  if ((source.url === undefined) === (source.bundle === undefined)) fail('build.source', 'must have a url or a bundle')
  if (source.url !== undefined) text(source.url, 'build.source.url')
  if (source.bundle !== undefined) hex(source.bundle, 'build.source.bundle')
  text(v.ref, 'build.ref', 256)
  if (v.context !== undefined) text(v.context, 'build.context', 256)
  text(v.file, 'build.file', 256)
  if (v.target !== undefined) pattern(v.target, 'build.target', BUILD_TARGET_PATTERN, 'must be a stage name of the Dockerfile')
  if (v.args !== undefined) {
    const args = object(v.args, 'build.args')
    if (Object.keys(args).length > BUILD_LIMITS.args) fail('build.args', `must have at most ${BUILD_LIMITS.args} arguments`)
    for (const [name, value] of Object.entries(args)) {
      pattern(name, 'build.args', /^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'names must be like NODE_VERSION')
      text(value, `build.args.${name}`, 4096)
    }
  }
  if (v.test !== undefined) text(v.test, 'build.test', 4096)
  ref(v.tag, 'build.tag')
  pattern(v.builderOrg, 'build.builderOrg', NAME_PATTERN, 'must be an org name')
  if (v.private !== undefined && v.private !== true) fail('build.private', 'must be true when present')
  ms(v.requested, 'build.requested')
}

function checkBuildResult (v: Record<string, unknown>): void {
  object(v, 'build-result', new Set(['org', 'status', 'started', 'finished', 'tag', 'commit', 'digest', 'index', 'testExit', 'log', 'tail', 'error']))
  pattern(v.org, 'build-result.org', NAME_PATTERN, 'must be an org name')
  if (!['running', 'passed', 'failed'].includes(v.status as string)) fail('build-result.status', 'must be running, passed or failed')
  ms(v.started, 'build-result.started')
  if (v.finished !== undefined) ms(v.finished, 'build-result.finished')
  if (v.tag !== undefined) ref(v.tag, 'build-result.tag')
  if (v.testExit !== undefined) whole(v.testExit, 'build-result.testExit', 0, 255)
  if (v.commit !== undefined) pattern(v.commit, 'build-result.commit', /^[0-9a-f]{40,64}$/, 'must be a git commit id')
  if (v.digest !== undefined) pattern(v.digest, 'build-result.digest', IMAGE_ID_PATTERN, 'must be an image id (sha256:<hex>)')
  if (v.index !== undefined) hex(v.index, 'build-result.index')
  if (v.log !== undefined) hex(v.log, 'build-result.log')
  text(v.tail, 'build-result.tail', IMAGE_LIMITS.tailBytes)
  if (v.error !== undefined) text(v.error, 'build-result.error')
  if (v.status === 'passed' && (v.digest === undefined || v.index === undefined)) fail('build-result', 'of a passed build names its image (digest and index)')
}

function checkScannerDb (v: Record<string, unknown>): void {
  object(v, 'scanner-db', new Set(['index', 'size', 'built', 'pushed']))
  hex(v.index, 'scanner-db.index')
  whole(v.size, 'scanner-db.size', 0, IMAGE_LIMITS.imageBytes)
  ms(v.built, 'scanner-db.built')
  ms(v.pushed, 'scanner-db.pushed')
}

/** the record checks of the image kinds, for records.ts: each returns what is wrong, or undefined */
export const imageRecordChecks = {
  image: (v: Record<string, unknown>) => problemOf(() => checkImage(v)),
  tag: (v: Record<string, unknown>, id: string) => problemOf(() => checkTag(v, id)),
  scan: (v: Record<string, unknown>) => problemOf(() => checkScan(v)),
  policy: (v: Record<string, unknown>) => problemOf(() => checkPolicy(v)),
  waiver: (v: Record<string, unknown>) => problemOf(() => checkWaiver(v)),
  build: (v: Record<string, unknown>) => problemOf(() => checkBuild(v)),
  buildResult: (v: Record<string, unknown>) => problemOf(() => checkBuildResult(v)),
  scannerDb: (v: Record<string, unknown>) => problemOf(() => checkScannerDb(v))
}
