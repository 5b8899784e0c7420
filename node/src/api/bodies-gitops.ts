/**
 * The bodies of the change-set and git-source routes (`POST /v1/apply`,
 * `POST /v1/sources`), checked as every body is: exact fields, bounded
 * lists and strings, BadRequestError naming the field.
 */
import { check } from '@minga/protocol'
import { checked, MAX_DEPLOY_SPECS } from './bodies.js'
import type { ApplyBody, SourceBody } from './contract.js'

const MAX_SECRETS = 200
const MAX_PROVIDED = 4096

/** `POST /v1/apply`: `{ specs, secrets?, prune?, dryRun?, source?, provided? }` (specs checked one by one by the route) */
export function applyBody (body: unknown): ApplyBody {
  return checked(body, 'POST /v1/apply', (r) => {
    check.object(r, 'body', new Set(['specs', 'secrets', 'prune', 'dryRun', 'source', 'provided']))
    const out: ApplyBody = { specs: check.list(r.specs, 'body.specs', MAX_DEPLOY_SPECS * 5) }
    if (r.secrets !== undefined) {
      out.secrets = check.list(r.secrets, 'body.secrets', MAX_SECRETS).map((s, i) => {
        const o = check.object(s, `body.secrets[${i}]`, new Set(['service', 'name', 'value']))
        return { service: check.name(o.service, `body.secrets[${i}].service`), name: check.text(o.name, `body.secrets[${i}].name`, 128), value: check.text(o.value, `body.secrets[${i}].value`, 256 * 1024) }
      })
    }
    if (r.prune !== undefined) out.prune = check.bool(r.prune, 'body.prune')
    if (r.dryRun !== undefined) out.dryRun = check.bool(r.dryRun, 'body.dryRun')
    if (r.source !== undefined) {
      const o = check.object(r.source, 'body.source', new Set(['name', 'commit']))
      out.source = { name: check.name(o.name, 'body.source.name'), commit: check.pattern(o.commit, 'body.source.commit', /^[0-9a-f]{40}([0-9a-f]{24})?$/, 'a full commit id') }
    }
    if (r.provided !== undefined) out.provided = check.list(r.provided, 'body.provided', MAX_PROVIDED).map((d, i) => check.pattern(d, `body.provided[${i}]`, /^[0-9a-f]{64}$/, 'a sha256 digest'))
    return out
  }, '{"specs": [...], "secrets"?: [{"service", "name", "value": "<base64>"}], "prune"?: true, "dryRun"?: true}')
}

/** `POST /v1/sources`: `{ name, url, ref, path, interval, prune, signers? }` (the record's own check follows in the core) */
export function sourceBody (body: unknown): SourceBody {
  return checked(body, 'POST /v1/sources', (r) => {
    check.object(r, 'body', new Set(['name', 'url', 'ref', 'path', 'interval', 'prune', 'signers']))
    const out: SourceBody = {
      name: check.name(r.name, 'body.name'),
      url: check.text(r.url, 'body.url', 1024),
      ref: check.text(r.ref, 'body.ref', 200),
      path: check.text(r.path, 'body.path', 1024),
      interval: check.text(r.interval, 'body.interval', 64),
      prune: check.bool(r.prune, 'body.prune')
    }
    if (r.signers !== undefined) out.signers = check.list(r.signers, 'body.signers', 32).map((s, i) => check.text(s, `body.signers[${i}]`, 1024))
    return out
  }, '{"name", "url", "ref", "path", "interval": "1m", "prune": false, "signers"?: ["ssh-ed25519 AAAA…"]}')
}
