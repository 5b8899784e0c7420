/**
 * The Compose translator as a fuzz target: random text, YAML of any shape,
 * services assembled from Compose's own fields with hostile values, line
 * edits and byte mutations of real Compose files, and alias bombs. Every
 * input translates or is refused with InvalidSpecError; bench/fuzz.mjs runs
 * the same target for throughput.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { stringify } from 'yaml'
import { mutated, type FuzzTarget } from '@minga/protocol/fuzz'
import { parseComposeFile } from '../src/index.js'

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url))
const enc = new TextEncoder()

/** the example files, and a project folder with a few files a translation may read */
function setting (): { valid: string[], dir: string } {
  const valid = readdirSync(FIXTURES).map(name => readFileSync(join(FIXTURES, name, 'compose.yaml'), 'utf8'))
  const dir = join(mkdtempSync(join(tmpdir(), 'minga-fuzz-')), 'fuzz')
  mkdirSync(join(dir, 'conf'), { recursive: true })
  writeFileSync(join(dir, 'conf', 'app.conf'), 'a=1\n')
  writeFileSync(join(dir, 'secret.txt'), 's3cret')
  writeFileSync(join(dir, 'web.env'), 'A=1\nB="two"\n')
  return { valid, dir }
}

const word = fc.constantFrom('web', 'db', 'db_data', 'x', '/data', './conf', './conf/app.conf', '../up', '/var/run/docker.sock', '~/home', 'secret.txt', 'web.env', '')
const hostile = fc.oneof(
  word,
  fc.string({ maxLength: 30 }),
  fc.constantFrom('${X}', '${X:-1}', '${X:?no}', '$$', '${', '${X/a/b}', '0', '-1', '1e9', 'NaN', '65536', '8000-9000:80', '127.0.0.1::80', '[::1]:80:80/udp', 'true', '0777', '1.5G', 'lots', '10s', '1h30m'),
  fc.integer({ min: -5, max: 70_000 }).map(String)
)
const value = fc.oneof(hostile, fc.array(hostile, { maxLength: 4 }), fc.dictionary(word, hostile, { maxKeys: 3 }), fc.constant(null))

const FIELDS = ['image', 'command', 'entrypoint', 'environment', 'env_file', 'ports', 'volumes', 'tmpfs', 'configs', 'secrets', 'user', 'healthcheck',
  'deploy', 'depends_on', 'networks', 'expose', 'restart', 'build', 'profiles', 'mem_limit', 'cpus', 'labels', 'privileged', 'x-extra']
const service = fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 8 }).map(s => ({ image: 'busybox:1', ...s }))
const deploy = fc.record({
  replicas: hostile,
  resources: fc.record({ limits: fc.dictionary(fc.constantFrom('cpus', 'memory', 'pids'), hostile), reservations: fc.dictionary(fc.constantFrom('cpus', 'memory'), hostile) }),
  update_config: fc.dictionary(fc.constantFrom('parallelism', 'order', 'delay'), hostile),
  placement: fc.record({ constraints: fc.array(fc.oneof(hostile, hostile.map(v => `node.labels.${v} == x`), hostile.map(v => `node.labels.k != ${v}`)), { maxLength: 3 }) })
}, { requiredKeys: [] })
const file = fc.record({
  services: fc.dictionary(word.filter(w => w !== ''), fc.tuple(service, deploy).map(([s, d]) => ({ ...s, deploy: d })), { minKeys: 1, maxKeys: 3 }),
  volumes: fc.dictionary(word, fc.oneof(fc.constant(null), fc.dictionary(fc.constantFrom('driver', 'external', 'name'), hostile)), { maxKeys: 3 }),
  configs: fc.dictionary(word, fc.dictionary(fc.constantFrom('file', 'content', 'environment', 'external'), hostile), { maxKeys: 2 }),
  secrets: fc.dictionary(word, fc.dictionary(fc.constantFrom('file', 'environment'), hostile), { maxKeys: 2 }),
  name: hostile
}, { requiredKeys: ['services'] }).map(doc => stringify(doc))

export function composeTarget (): FuzzTarget<string> {
  const { valid, dir } = setting()
  const lines = fc.record({ base: fc.constantFrom(...valid), drop: fc.option(fc.nat()), insert: fc.option(fc.tuple(fc.nat(), fc.string({ maxLength: 40 }))) }).map(({ base, drop, insert }) => {
    const list = base.split('\n')
    if (drop !== null) list.splice(drop % list.length, 1)
    if (insert !== null) list.splice(insert[0] % list.length, 0, insert[1])
    return list.join('\n')
  })
  const bomb = fc.integer({ min: 2, max: 9 }).map(n => ['x-a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: n }, (_, i) => `x-${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill('*' + String.fromCharCode(97 + i)).join(',')}]`), 'services:\n  a:\n    image: x'].join('\n'))
  return {
    name: 'compose',
    inputs: fc.oneof(
      { arbitrary: file, weight: 4 },
      { arbitrary: fc.constantFrom(...valid), weight: 1 },
      { arbitrary: lines, weight: 2 },
      { arbitrary: mutated(valid.map(s => enc.encode(s))).map(b => Buffer.from(b).toString('utf8')), weight: 2 },
      { arbitrary: fc.string({ maxLength: 800 }), weight: 1 },
      { arbitrary: fc.jsonValue({ maxDepth: 4 }).map(v => JSON.stringify(v)), weight: 1 },
      { arbitrary: bomb, weight: 1 }
    ),
    run: (text) => { parseComposeFile(text, { org: 'acme', dir, project: 'fuzz', env: { X: 'x', EMPTY: '' } }) },
    refusals: ['InvalidSpecError']
  }
}
