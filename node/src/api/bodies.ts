/**
 * The control API's request bodies, checked on arrival with protocol's
 * wire checkers: exact types, no unknown fields, bounded strings and lists.
 * Each checker returns the clean body or throws BadRequestError naming the
 * field and what it must be.
 */
import { check, InvalidMessageError } from '@minga/protocol'
import { BadRequestError } from '../errors.js'
import type {
  BackupBody, CordonBody, ConfigsBody, DeployBody, DeployImageOptions, ImagePushBody, ImageScanBody, InviteBody, PolicyBody, NodeRemoveBody,
  OrgRemoveBody, PartitionBody, RestoreBody, ScaleBody, ScannerDbBody, SecretBody, UncordonBody
} from './contract.js'

/** services one deploy declares, at most */
export const MAX_DEPLOY_SPECS = 100
/** config chunks one request carries, at most (each at most 32 KiB: the body limit of 1 MiB binds first) */
const MAX_CHUNKS = 64
const MAX_REASON = 1024
const MAX_REF = 300
const MAX_SPEC_TEXT = 1024 * 1024
const MAX_PARTITION = 1000

/** the checked body, or BadRequestError saying what was wrong and what to send */
export function checked<T> (body: unknown, route: string, read: (record: Record<string, unknown>) => T, hint: string): T {
  try {
    return read(check.object(body, 'body'))
  } catch (err) {
    if (err instanceof InvalidMessageError) throw new BadRequestError(`${err.message}; ${route} takes ${hint}`)
    throw err
  }
}

const ref = (value: unknown, path: string): string => check.text(value, path, MAX_REF)
const reason = (value: unknown, path: string): string | undefined => value === undefined ? undefined : nonEmpty(value, path, MAX_REASON)
const optional = <T>(value: unknown, read: (v: unknown) => T): T | undefined => value === undefined ? undefined : read(value)

function nonEmpty (value: unknown, path: string, max: number): string {
  const text = check.text(value, path, max)
  if (text.length === 0) check.fail(path, `must be text of 1 to ${max} characters`)
  return text
}

/**
 * `POST /v1/deploy`: `{ text, source? }` (a spec file, at most 1 MiB) or `{ specs }` (at most 100 normalized specs, each checked by the route)
 */
export function deployBody (body: unknown): DeployBody {
  return checked(body, 'POST /v1/deploy', (r) => {
    const images = deployImageOptions(r)
    if (r.specs !== undefined) {
      check.object(r, 'body', new Set(['specs', ...IMAGE_OPTIONS]))
      return { specs: check.list(r.specs, 'body.specs', MAX_DEPLOY_SPECS), ...images }
    }
    check.object(r, 'body', new Set(['text', 'source', ...IMAGE_OPTIONS]))
    const source = optional(r.source, v => check.text(v, 'body.source', 256))
    return { text: check.text(r.text, 'body.text', MAX_SPEC_TEXT), ...(source === undefined ? {} : { source }), ...images }
  }, '{"text": "<spec file>"} or normalized specs as {"specs": [...]}, with "waive"?: ["CVE-…"], "reason"?: "why", "unpinned"?: true')
}

const IMAGE_OPTIONS = ['waive', 'reason', 'unpinned']

/** a deploy's image options: waivers (at most 100 ids), their reason, unpinned */
function deployImageOptions (r: Record<string, unknown>): DeployImageOptions {
  const out: DeployImageOptions = {}
  if (r.waive !== undefined) out.waive = check.list(r.waive, 'body.waive', 100).map((id, i) => nonEmpty(id, `body.waive[${i}]`, 80))
  const why = reason(r.reason, 'body.reason')
  if (why !== undefined) out.reason = why
  if (r.unpinned !== undefined) out.unpinned = check.bool(r.unpinned, 'body.unpinned')
  return out
}

/** `POST /v1/images/push`: `{ image, private? }` */
export function imagePushBody (body: unknown): ImagePushBody {
  return checked(body, 'POST /v1/images/push', (r) => {
    check.object(r, 'body', new Set(['image', 'private']))
    const out: ImagePushBody = { image: nonEmpty(r.image, 'body.image', MAX_REF) }
    if (r.private !== undefined) out.private = check.bool(r.private, 'body.private')
    return out
  }, '{"image": "acme/web:1", "private"?: true}')
}

/** `POST /v1/images/scan`: `{ image }` */
export function imageScanBody (body: unknown): ImageScanBody {
  return checked(body, 'POST /v1/images/scan', (r) => {
    check.object(r, 'body', new Set(['image']))
    return { image: nonEmpty(r.image, 'body.image', MAX_REF) }
  }, '{"image": "acme/web:1"}')
}

/** `POST /v1/policy`: `{ block, maxDbAge?, scanner? }` (maxDbAge in the duration grammar, checked by the route) */
export function policyBody (body: unknown): PolicyBody {
  return checked(body, 'POST /v1/policy', (r) => {
    check.object(r, 'body', new Set(['block', 'maxDbAge', 'scanner']))
    const out: PolicyBody = { block: nonEmpty(r.block, 'body.block', 32) }
    if (r.maxDbAge !== undefined) out.maxDbAge = nonEmpty(r.maxDbAge, 'body.maxDbAge', 64)
    if (r.scanner !== undefined) out.scanner = nonEmpty(r.scanner, 'body.scanner', MAX_REASON)
    return out
  }, '{"block": "critical-fixable", "maxDbAge"?: "7d", "scanner"?: "CMD"}')
}

/** `POST /v1/scanner-db`: `{ path, built, scanner? }` */
export function scannerDbBody (body: unknown): ScannerDbBody {
  return checked(body, 'POST /v1/scanner-db', (r) => {
    check.object(r, 'body', new Set(['path', 'built', 'scanner']))
    const out: ScannerDbBody = { path: nonEmpty(r.path, 'body.path', 4096), built: nonEmpty(r.built, 'body.built', 64) }
    if (r.scanner !== undefined) out.scanner = nonEmpty(r.scanner, 'body.scanner', 32)
    return out
  }, '{"path": "/abs/trivy-db.tar.gz", "built": "2026-11-29T06:00:00Z", "scanner"?: "trivy"}')
}

/** `POST /v1/configs`: `{ service, chunks }`, at most 64 base64 chunks */
export function configsBody (body: unknown): ConfigsBody {
  return checked(body, 'POST /v1/configs', (r) => {
    check.object(r, 'body', new Set(['service', 'chunks']))
    return { service: ref(r.service, 'body.service'), chunks: check.list(r.chunks, 'body.chunks', MAX_CHUNKS).map((c, i) => check.text(c, `body.chunks[${i}]`, 64 * 1024)) }
  }, '{"service": "NAME", "chunks": ["<base64>", ...]}')
}

/** `POST /v1/scale`: `{ service, replicas }`, replicas a whole number from 0 to 1000 */
export function scaleBody (body: unknown): ScaleBody {
  return checked(body, 'POST /v1/scale', (r) => {
    check.object(r, 'body', new Set(['service', 'replicas']))
    return { service: ref(r.service, 'body.service'), replicas: check.whole(r.replicas, 'body.replicas', 0, 1000) }
  }, '{"service": "NAME", "replicas": N} with N from 0 to 1000')
}

/** `POST /v1/invite`: `{ org?, newOrg?, ttl?, uses? }` (ttl in the duration grammar, checked by the route) */
export function inviteBody (body: unknown): InviteBody {
  return checked(body, 'POST /v1/invite', (r) => {
    check.object(r, 'body', new Set(['org', 'newOrg', 'ttl', 'uses']))
    const out: InviteBody = {}
    if (r.org !== undefined) out.org = check.name(r.org, 'body.org')
    if (r.newOrg !== undefined) out.newOrg = check.bool(r.newOrg, 'body.newOrg')
    if (r.ttl !== undefined) out.ttl = check.text(r.ttl, 'body.ttl', 64)
    if (r.uses !== undefined) out.uses = check.whole(r.uses, 'body.uses', 1, 1_000_000)
    return out
  }, '{"org"?: "NAME", "newOrg"?: true, "ttl"?: "24h", "uses"?: N}')
}

/** `POST /v1/cordon`: `{ node, reason? }` */
export function cordonBody (body: unknown): CordonBody {
  return nodeAndReason(body, 'POST /v1/cordon')
}

/** `POST /v1/uncordon`: `{ node }` */
export function uncordonBody (body: unknown): UncordonBody {
  return checked(body, 'POST /v1/uncordon', (r) => {
    check.object(r, 'body', new Set(['node']))
    return { node: nonEmpty(r.node, 'body.node', MAX_REF) }
  }, '{"node": "ID"}')
}

/** `POST /v1/nodes/remove`: `{ node, reason? }` */
export function nodeRemoveBody (body: unknown): NodeRemoveBody {
  return nodeAndReason(body, 'POST /v1/nodes/remove')
}

/** `{ node, reason? }`, the body of the routes that act on a node */
function nodeAndReason (body: unknown, route: string): { node: string, reason?: string } {
  return checked(body, route, (r) => {
    check.object(r, 'body', new Set(['node', 'reason']))
    const why = reason(r.reason, 'body.reason')
    return { node: nonEmpty(r.node, 'body.node', MAX_REF), ...(why === undefined ? {} : { reason: why }) }
  }, '{"node": "ID", "reason"?: "why"}')
}

/** `POST /v1/orgs/remove`: `{ org, reason }` */
export function orgRemoveBody (body: unknown): OrgRemoveBody {
  return checked(body, 'POST /v1/orgs/remove', (r) => {
    check.object(r, 'body', new Set(['org', 'reason']))
    return { org: nonEmpty(r.org, 'body.org', MAX_REF), reason: nonEmpty(r.reason, 'body.reason', MAX_REASON) }
  }, '{"org": "NAME", "reason": "why"}')
}

/** `POST /v1/secrets`: `{ service, name, value, encoding?, ifChanged? }`, the value at most 1 MiB of text */
export function secretBody (body: unknown): SecretBody {
  return checked(body, 'POST /v1/secrets', (r) => {
    check.object(r, 'body', new Set(['service', 'name', 'value', 'encoding', 'ifChanged']))
    const out: SecretBody = { service: nonEmpty(r.service, 'body.service', MAX_REF), name: nonEmpty(r.name, 'body.name', MAX_REASON), value: check.text(r.value, 'body.value', MAX_SPEC_TEXT) }
    if (r.encoding !== undefined) {
      if (r.encoding !== 'utf8' && r.encoding !== 'base64') check.fail('body.encoding', 'must be "utf8" or "base64"')
      out.encoding = r.encoding
    }
    if (r.ifChanged !== undefined) out.ifChanged = check.bool(r.ifChanged, 'body.ifChanged')
    return out
  }, '{"service", "name", "value"} (value: a string, or base64 with "encoding": "base64")')
}

/** `POST /v1/test/partition` (test mode): `{ blocked }`, at most 1000 peer ids */
export function partitionBody (body: unknown): PartitionBody {
  return checked(body, 'POST /v1/test/partition', (r) => {
    check.object(r, 'body', new Set(['blocked']))
    return { blocked: check.list(r.blocked, 'body.blocked', MAX_PARTITION).map((p, i) => check.text(p, `body.blocked[${i}]`, 128)) }
  }, '{"blocked": [peer ids]}')
}

/** `POST /v1/backup`: `{ service }` */
export function backupBody (body: unknown): BackupBody {
  return checked(body, 'POST /v1/backup', (r) => {
    check.object(r, 'body', new Set(['service']))
    return { service: ref(r.service, 'body.service') }
  }, '{"service": "NAME"}')
}

/** `POST /v1/restore`: `{ service, snapshot? }`, the snapshot an id or a prefix of 4 to 64 hex digits */
export function restoreBody (body: unknown): RestoreBody {
  return checked(body, 'POST /v1/restore', (r) => {
    check.object(r, 'body', new Set(['service', 'snapshot']))
    const snapshot = optional(r.snapshot, (v) => check.pattern(v, 'body.snapshot', /^[0-9a-f]{4,64}$/, 'must be a snapshot id or its first 4 or more hex digits'))
    return { service: ref(r.service, 'body.service'), ...(snapshot === undefined ? {} : { snapshot }) }
  }, '{"service": "NAME", "snapshot": "ID"} (snapshot optional: the latest)')
}
