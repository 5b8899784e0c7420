/**
 * control API: operating the mesh. Logs and mesh-wide events stream as
 * newline-delimited JSON (one item a line, `type` says which); metrics are
 * Prometheus text.
 *
 *   GET /v1/logs?service=web[&follow=1][&since=10m][&tail=100][&replica=0,2]
 *   GET /v1/mesh/events[?since=1h][&follow=1][&limit=200]
 *   GET /v1/metrics
 *   GET /v1/http          where the dashboard and /metrics listen
 */
import { DURATION_RULES, durationRuleText, parseDuration } from '@minga/protocol'
import { BadRequestError } from '../errors.js'
import type { ApiContext, ApiRoutes } from './api-types.js'
import { streamNdjson } from './ndjson.js'

/** operating the mesh: logs and mesh-wide events (NDJSON streams), metrics, where HTTP listens */
export function opsRoutes (routes: ApiRoutes, { operations: ops, node }: ApiContext): void {
  routes.add('GET', '/v1/logs', async ({ query, res }) => {
    const ref = query.get('service')
    if (ref === null || ref.trim() === '') throw new BadRequestError('Name the service: /v1/logs?service=NAME (or ORG/NAME)')
    const record = ops.serviceRecord(ref.trim())
    const service = `${record.spec.org}/${record.spec.name}`
    const replicas = parseReplicas(query.get('replica'), record.spec.replicas, service)
    const options = {
      service,
      follow: parseFlag(query.get('follow'), 'follow'),
      since: parseSince(query.get('since'), ops.now()),
      tail: parseCount(query.get('tail'), 'tail', 1_000_000),
      replicas
    }
    const abort = new AbortController()
    await streamNdjson(res, ops.logs({ ...options, signal: abort.signal }), abort)
  })

  routes.add('GET', '/v1/mesh/events', async ({ query, res }) => {
    const now = ops.now()
    const since = parseSince(query.get('since'), now) ?? now - 3_600_000
    const limit = parseCount(query.get('limit'), 'limit', 2000) ?? 200
    const abort = new AbortController()
    if (parseFlag(query.get('follow'), 'follow')) {
      await streamNdjson(res, ops.followEvents({ since, signal: abort.signal }), abort)
      return
    }
    const items = await ops.gatherEvents({ since, limit, signal: abort.signal })
    await streamNdjson(res, (async function * () { yield * items })(), abort)
  })

  routes.add('GET', '/v1/metrics', async ({ res }) => {
    const { contentType, text } = await node.metrics()
    res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) })
    res.end(text)
  })

  routes.add('GET', '/v1/http', async () => ({ url: node.httpUrl() ?? null }))
}

function parseFlag (value: string | null, name: string): boolean {
  if (value === null || value === '' || value === '0' || value === 'false') return false
  if (value === '1' || value === 'true') return true
  throw new BadRequestError(`${name} is 1 or 0, not "${value}"`)
}

/** `10m` (that long ago), an ISO time, or ms since epoch */
export function parseSince (value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined
  const text = value.trim()
  if (/^\d{12,}$/.test(text)) return Number(text)
  const duration = parseDuration(text, DURATION_RULES.since)
  if (!Number.isNaN(duration)) return now - duration
  if (/^\d{4}-\d\d-\d\d/.test(text)) {
    const time = Date.parse(text)
    if (!Number.isNaN(time)) return time
  }
  throw new BadRequestError(`since is a time (2026-11-26T10:00:00Z) or a duration back from now; a duration ${durationRuleText(DURATION_RULES.since)}. Not "${text.slice(0, 40)}"`)
}

function parseCount (value: string | null, name: string, max: number): number | undefined {
  if (value === null || value === '') return undefined
  if (!/^\d+$/.test(value) || Number(value) > max) throw new BadRequestError(`${name} is a whole number from 0 to ${max}, not "${value}"`)
  return Number(value)
}

function parseReplicas (value: string | null, count: number, service: string): number[] | undefined {
  if (value === null || value === '') return undefined
  const replicas = value.split(',').map(v => v.trim())
  if (replicas.length > 1000 || !replicas.every(r => /^\d+$/.test(r))) throw new BadRequestError(`replica is a replica number or a comma-separated list of them, not "${value}"`)
  const numbers = replicas.map(Number)
  const outside = numbers.find(r => r >= count)
  if (outside !== undefined) throw new BadRequestError(`${service} has ${count} replica(s), numbered 0 to ${count - 1}; there is no replica ${outside}`)
  return numbers
}
