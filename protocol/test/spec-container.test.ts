/**
 * What a container is made of beyond image, command and env: entrypoint,
 * user, tmpfs, anonymous volumes, ports bound to an address, secret files,
 * config files (their content in chunk entries), reservations, excluded
 * labels and the project; in spec files and in the stored form.
 */
import { createHash } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CONFIG_CHUNK_BYTES, checkRecord, checkServiceSpec, parseKey, parseServiceSpec, splitWords, type Json, type ServiceSpec } from '../src/index.js'
import { buildFixture } from './fixtures.js'

const MiB = 1024 * 1024
const base = 'name: web\nimage: nginx:1.27\n'
const one = (text: string): ServiceSpec => parseServiceSpec(base + text, { org: 'acme' })[0]
function problemsOf (text: string): string[] {
  try {
    parseServiceSpec(base + text, { org: 'acme' })
  } catch (err: any) {
    return err.problems
  }
  assert.unreachable(`parsed: ${text}`)
  return []
}

const stored: ServiceSpec = {
  name: 'web',
  org: 'acme',
  image: 'nginx:1.27',
  env: {},
  replicas: 1,
  resources: { cpu: 100, memory: 64 * MiB },
  spread: 'org',
  constraints: {},
  ports: [],
  update: { maxUnavailable: 1 },
  singleton: false,
  volumes: []
}
const storedProblems = (extra: Record<string, unknown>): string[] => {
  try {
    checkServiceSpec({ ...stored, ...extra })
    return []
  } catch (err: any) {
    return err.problems
  }
}
const sha = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex')

test('spec files: entrypoint (a string split into words, no shell; empty resets), user, project', () => {
  const s = one('entrypoint: /docker-entrypoint.sh --verbose\ncommand: ["nginx"]\nuser: "101:101"\nproject: shop\n')
  assert.equal([s.entrypoint, s.command, s.user, s.project], [['/docker-entrypoint.sh', '--verbose'], ['nginx'], '101:101', 'shop'])
  assert.equal(one('entrypoint: []\n').entrypoint, [])
  assert.equal(splitWords('a "b c" \'d e\' f\\ g ""'), { words: ['a', 'b c', 'd e', 'f g', ''] })
  assert.match(problemsOf('entrypoint: "run | tee"\n')[0], 'entrypoint: "run | tee" uses the shell operator "|"')
  assert.match(problemsOf('user: "root; rm"\n')[0], 'user: must be a user, or user:group')
})

test('spec files: tmpfs, anonymous volumes, secret files; mount paths unique across them all', () => {
  const s = one('tmpfs: ["/run", { path: /cache, size: 64Mi, mode: "1777" }]\nvolumes: ["/var/lib/data", "data:/data:ro"]\nsecretFiles: [{ secret: db_password }, { secret: TOKEN, path: /etc/token, mode: 0400, uid: 101 }]\n')
  assert.equal(s.tmpfs, [{ path: '/run' }, { path: '/cache', size: 64 * MiB, mode: 0o1777 }])
  assert.equal(s.volumes, [{ path: '/var/lib/data', readOnly: false }, { name: 'data', path: '/data', readOnly: true }])
  assert.equal(s.secretFiles, [{ secret: 'db_password', path: '/run/secrets/db_password', mode: 0o444 }, { secret: 'TOKEN', path: '/etc/token', mode: 0o400, uid: 101 }])
  assert.equal(problemsOf('tmpfs: ["/data"]\nvolumes: ["/data"]\n'), ['tmpfs[0].path: /data is mounted twice (first at volumes[0])'])
  assert.match(problemsOf('tmpfs: [{ path: /x, mode: "9999" }]\n')[0], 'tmpfs[0].mode: must be permission bits')
  assert.match(problemsOf('secretFiles: [{ secret: "9bad" }]\n')[0], 'secretFiles[0].secret: must be a secret name')
  assert.match(problemsOf('configs: [{ path: /etc/x, source: x.conf }]\n')[0], 'configs: config files name files beside the spec file')
})

test('spec files: ports bound to one address, IPv4 and IPv6; the same port on two addresses is two ports', () => {
  const s = one('ports: ["127.0.0.1:8080:80", "[::1]:8080:80", { container: 53, host: 53, hostIp: 10.0.0.1, protocol: udp }]\n')
  assert.equal(s.ports, [
    { container: 80, host: 8080, hostIp: '127.0.0.1', protocol: 'tcp' }, { container: 80, host: 8080, hostIp: '::1', protocol: 'tcp' },
    { container: 53, host: 53, hostIp: '10.0.0.1', protocol: 'udp' }
  ])
  assert.equal(problemsOf('ports: ["8080:80", "127.0.0.1:8080:80"]\n'), ['ports[1].host: port 8080/tcp is published twice on 127.0.0.1'])
  assert.match(problemsOf('ports: [{ container: 80, hostIp: 127.0.0.1 }]\n')[0], 'ports[0].hostIp: binds a published port: give host too')
  assert.match(problemsOf('ports: [{ container: 80, host: 80, hostIp: localhost }]\n')[0], 'ports[0].hostIp: must be an IP address')
})

test('spec files: reservations (within the limits) and constraints as == / != expressions', () => {
  const s = one('resources: { cpu: 1, memory: 1Gi }\nreservations: { cpu: 250m, memory: 256Mi }\nconstraints: ["disk == ssd", "zone != east", "zone != west"]\n')
  assert.equal(s.reservations, { cpu: 250, memory: 256 * MiB })
  assert.equal([s.constraints, s.excludedLabels], [{ disk: 'ssd' }, { zone: ['east', 'west'] }])
  assert.equal(one('constraints: { disk: ssd }\nexcludedLabels: { zone: [east] }\n').excludedLabels, { zone: ['east'] })
  assert.match(problemsOf('reservations: { memory: 1Gi }\n')[0], 'reservations.memory: reserves 1073741824 bytes, more than the limit of 67108864')
  assert.match(problemsOf('constraints: ["disk == ssd", "disk == hdd"]\n')[0], 'disk cannot equal both')
})

test('stored specs: config files must name their chunks and add up; every new field is checked', () => {
  const chunk = sha('x')
  assert.equal(storedProblems({ configs: [{ path: '/etc/a', size: 1, chunks: [chunk], mode: 0o444 }], entrypoint: [], user: '1000' }), [])
  assert.equal(storedProblems({ configs: [{ path: '/etc/a', size: 0, chunks: [], mode: 0o644, uid: 0, gid: 0 }] }), [], 'an empty file')
  const bad = storedProblems({
    configs: [{ path: '/etc/a', size: CONFIG_CHUNK_BYTES + 1, chunks: [chunk], mode: 0o444 }, { path: 'relative', size: 1, chunks: ['nothex'], mode: 0o444 }],
    secretFiles: [{ secret: 'x', path: '/run/secrets/x', mode: 0o10000 }],
    tmpfs: [{ path: '/', size: 1 }],
    reservations: { cpu: -1 },
    excludedLabels: { zone: [] },
    project: 'Bad_Name',
    extra: 1
  })
  for (const expected of ['configs[0].size', 'configs[1].path', 'configs[1].chunks', 'secretFiles[0].mode', 'tmpfs[0].path', 'tmpfs[0].size', 'reservations.cpu', 'excludedLabels.zone', 'project', 'extra']) {
    assert.ok(bad.some(p => p.startsWith(expected)), `${expected} in ${bad.join('\n')}`)
  }
  const many = Array.from({ length: 40 }, (_, i) => ({ path: `/f${i}`, size: CONFIG_CHUNK_BYTES, chunks: [chunk], mode: 0o444 }))
  assert.match(storedProblems({ configs: many }).join('\n'), 'configs: the files hold 1310720 bytes together; at most 1048576 per service')
})

test('config chunk entries: keyed by the sha256 of their content, which the record check verifies; only the org writes them', async () => {
  const data = Buffer.from('global:\n  scrape_interval: 15s\n')
  const key = `config/acme/prom/${sha(data)}`
  assert.equal(parseKey(key), { kind: 'config', org: 'acme', service: 'prom', digest: sha(data) })
  assert.is(parseKey('config/acme/prom/abc'), undefined)
  const parsed = parseKey(key)!
  assert.is(checkRecord(parsed, { data: data.toString('base64') }), undefined)
  assert.match(checkRecord(parsed, { data: Buffer.from('other').toString('base64') }) ?? '', 'does not match the digest')
  assert.ok(checkRecord(parsed, { data: 'not base64!' }))
  assert.ok(checkRecord(parsed, { data: Buffer.alloc(CONFIG_CHUNK_BYTES + 1).toString('base64') }))
  assert.ok(checkRecord(parsed, { data: data.toString('base64'), extra: 1 } as unknown as Json))
  const f = await buildFixture()
  await f.write(f.acme2, key, { data: data.toString('base64') })
  try {
    await f.write(f.beta, `config/acme/prom/${sha('beta')}`, { data: Buffer.from('beta').toString('base64') })
    assert.unreachable('beta wrote acme\'s config')
  } catch (err: any) {
    assert.is(err.name, 'UnauthorizedWriteError')
  }
})

test.run()
