/**
 * Fuzzing the control API of a running node: random and half-right JSON
 * bodies and raw garbage on every route that changes something. Each answer
 * comes in bounded time, is never a 5xx, and a refused request (4xx)
 * changes nothing (same state digest); the node stays up throughout.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { request } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { startCluster, writeSpec, type Cluster } from '../src/index.js'

let mesh: Cluster
let specs: string

test.before(async () => {
  specs = await mkdtemp(join(tmpdir(), 'minga-fuzz-api-'))
  mesh = await startCluster({ nodes: ['acme'] })
  await mesh.cli(mesh.nodes[0], 'deploy', '-f', await writeSpec(specs, 'web'))
})

test.after(async () => {
  await mesh?.stop()
  await rm(specs, { recursive: true, force: true })
})

async function call (socketPath: string, method: string, path: string, body?: Uint8Array): Promise<{ status: number, json: any }> {
  return await new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': body.length }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: any
        try { json = JSON.parse(text) } catch { json = text }
        resolve({ status: res.statusCode ?? 0, json })
      })
    })
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${path} within 10 s`)))
    req.on('error', reject)
    req.end(body)
  })
}

const ROUTES: Array<[string, string]> = [
  ['POST', '/v1/deploy'], ['POST', '/v1/scale'], ['POST', '/v1/invite'], ['POST', '/v1/cordon'], ['POST', '/v1/uncordon'],
  ['POST', '/v1/nodes/remove'], ['POST', '/v1/orgs/remove'], ['POST', '/v1/proposals/0123456789abcdef/approve'], ['POST', '/v1/secrets'],
  ['DELETE', '/v1/services/acme/nope'], ['DELETE', '/v1/secrets/acme/web/NOPE'], ['GET', '/v1/audit?limit=-3&kind=%00'], ['GET', '/v1/ps?service=a/b/c']
]
const FIELDS = ['text', 'source', 'specs', 'service', 'replicas', 'node', 'reason', 'org', 'newOrg', 'ttl', 'uses', 'name', 'value', 'encoding', 'blocked']
const odd = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom<unknown>('web', 'acme/web', 'acme', '', '0', -1, 1e308, '1h', 'base64', 'name: x\nimage: y\n', '&a [*a]', 'x'.repeat(5000), null))
const body = fc.oneof(
  fc.dictionary(fc.constantFrom(...FIELDS), odd, { maxKeys: 5 }).map(v => new TextEncoder().encode(JSON.stringify(v))),
  fc.jsonValue({ maxDepth: 4 }).map(v => new TextEncoder().encode(JSON.stringify(v))),
  fc.uint8Array({ maxLength: 512 }),
  fc.constant(new TextEncoder().encode('{"text": "' + 'a'.repeat(2 * 1024 * 1024) + '"}'))
)

test('random bodies on every mutating route: never a 5xx, never a hang, and a refusal changes nothing', async () => {
  const node = mesh.nodes[0]
  const socket = join(node.dir, 'api.sock')
  const digestOf = async (): Promise<string> => (await call(socket, 'GET', '/v1/status')).json.digest
  let digest = await digestOf()
  let refused = 0
  let accepted = 0
  await fc.assert(fc.asyncProperty(fc.constantFrom(...ROUTES), body, async ([method, path], payload) => {
    const { status, json } = await call(socket, method, path, method === 'GET' ? undefined : payload)
    if (status >= 500) throw new Error(`${method} ${path} answered ${status}: ${JSON.stringify(json).slice(0, 300)}`)
    const after = await digestOf()
    if (status >= 400) {
      refused++
      if (typeof json?.error !== 'string' || typeof json?.code !== 'string') throw new Error(`${status} without {error, code}: ${JSON.stringify(json).slice(0, 200)}`)
      if (after !== digest) throw new Error(`${method} ${path} was refused (${status}) but changed the state`)
    } else {
      accepted++
      digest = after
    }
  }), { numRuns: 250 })
  assert.ok(refused > 150, `only ${refused} refusals`)
  assert.ok((await call(socket, 'GET', '/v1/status')).json.org === 'acme', 'the node still answers')
  console.log(`  control API fuzz: ${refused} refused, ${accepted} accepted`)
})

test.run()
