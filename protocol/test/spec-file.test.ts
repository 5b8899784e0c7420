/**
 * Spec files written back from specs (`minga export`): they read back to
 * the same specs, the same specs give the same bytes, and config content
 * is named through files. Field diffs (`minga diff`); source records and a
 * service's source; several writes as one change.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  canonicalJson, checkRecord, configChunks, keys, parseKey, parseServiceSpec, specChanges, specFileText,
  type ConfigFileSpec, type ServiceSpec
} from '../src/index.js'
import { buildFixture, serviceValue } from './fixtures.js'

const content = Buffer.from('server { listen 80; }\n')
const full: ServiceSpec = {
  name: 'web',
  org: 'acme',
  project: 'shop',
  image: 'nginx:1.27@sha256:' + 'a'.repeat(64),
  entrypoint: [],
  command: ['nginx', '-g', 'daemon off;'],
  user: '1000:1000',
  env: { ZED: '1.10', ALPHA: 'yes', EMPTY: '', QUOTE: '"x: y"' },
  replicas: 3,
  resources: { cpu: 1500, memory: 100 * 1024 * 1024 + 7 },
  reservations: { cpu: 250 },
  spread: 'node',
  allowOrgs: ['acme', 'riverside'],
  constraints: { zone: 'east' },
  excludedLabels: { disk: ['hdd'] },
  ports: [{ container: 80, host: 8080, protocol: 'tcp' }, { container: 53, protocol: 'udp' }, { container: 443, host: 8443, hostIp: '::1', protocol: 'tcp' }],
  health: { cmd: ['wget', '-q', 'http://127.0.0.1/'], interval: 2000, timeout: 3000, retries: 5, startPeriod: 0 },
  update: { maxUnavailable: 2 },
  singleton: false,
  volumes: [{ name: 'data', path: '/data', readOnly: true }, { path: '/cache', readOnly: false }],
  tmpfs: [{ path: '/run' }, { path: '/tmp', size: 64 * 1024 * 1024, mode: 0o1777 }],
  configs: [{ path: '/etc/nginx/conf.d/default.conf', size: content.length, chunks: configChunks(content).digests, mode: 0o444, uid: 101 }],
  secretFiles: [{ secret: 'db_password', path: '/run/secrets/db_password', mode: 0o444 }, { secret: 'key', path: '/etc/key', mode: 0o400, uid: 0 }]
}
const sourceOf = (spec: ServiceSpec, file: ConfigFileSpec): string => `shop.files/${spec.name}${file.path}`
const reader = (files: Record<string, Buffer>) => (source: string): Uint8Array | string => files[source] ?? `${source}: no such file`

test('a spec file written from specs reads back to the same specs, and the same specs give the same bytes', () => {
  const minimal: ServiceSpec = { name: 'db', org: 'acme', image: 'postgres:16', env: {}, replicas: 1, resources: { cpu: 100, memory: 64 * 1024 * 1024 }, spread: 'org', constraints: {}, ports: [], update: { maxUnavailable: 1 }, singleton: true, volumes: [] }
  // how it is reached: a port's mode and PROXY header, host names on the shared web ports, organizations it is exposed to
  const routed: ServiceSpec = {
    ...minimal,
    name: 'shop',
    singleton: false,
    ports: [{ container: 9000, host: 9000, protocol: 'tcp', proxyProtocol: 'v2' }, { container: 9001, host: 9001, protocol: 'tcp', mode: 'host' }, { container: 5432, protocol: 'tcp' }],
    http: [{ host: 'shop.example.org', port: 80, tlsPort: 443 }, { host: 'api.example.org', port: 8080, proxyProtocol: 'v2' }],
    expose: ['riverside']
  }
  for (const specs of [[full], [minimal], [full, minimal], [routed]]) {
    const text = specFileText(specs, { header: ['exported by minga'], configSource: sourceOf })
    const back = parseServiceSpec(text, { org: 'acme', readConfig: reader({ 'shop.files/web/etc/nginx/conf.d/default.conf': content }) })
    const byName = (a: ServiceSpec, b: ServiceSpec): number => a.name.localeCompare(b.name)
    assert.equal(back.sort(byName).map(s => canonicalJson(s as never)), [...specs].sort(byName).map(s => canonicalJson(s as never)))
    assert.is(specFileText([...specs].reverse(), { header: ['exported by minga'], configSource: sourceOf }), text, 'order of the specs given does not matter')
  }
  const text = specFileText([full], { configSource: sourceOf })
  assert.ok(text.indexOf('ALPHA') < text.indexOf('ZED'), 'env sorted')
  assert.match(text, 'cpu: 1500m')
  assert.match(text, '- 8080:80')
  assert.match(text, 'interval: 2s')
  assert.not.match(text, 'org: acme', 'the org is left out: the file applies to the org that applies it')
})

test('config files in a spec file need a reader, and a missing file is a problem at its field', () => {
  const text = 'name: web\nimage: nginx:1\nconfigs: [{ path: /etc/a.conf, source: a.conf }]\n'
  assert.throws(() => parseServiceSpec(text, { org: 'acme' }), /beside the spec file/)
  assert.throws(() => parseServiceSpec(text, { org: 'acme', readConfig: reader({}) }), /configs\[0\]\.source: a\.conf: no such file/)
  const [spec] = parseServiceSpec(text, { org: 'acme', readConfig: reader({ 'a.conf': Buffer.from('x') }) })
  assert.equal(spec.configs, [{ path: '/etc/a.conf', size: 1, chunks: configChunks(Buffer.from('x')).digests, mode: 0o444 }])
})

test('specChanges lists each leaf that differs, at its path', () => {
  const after: ServiceSpec = { ...full, image: 'nginx:1.28', env: { ...full.env, NEW: '1' }, ports: [full.ports[0]] }
  delete after.env.ZED
  assert.equal(specChanges(full, full), [])
  assert.equal(specChanges(full, after), [
    { path: 'env.NEW', to: '1' },
    { path: 'env.ZED', from: '1.10' },
    { path: 'image', from: full.image, to: 'nginx:1.28' },
    { path: 'ports[1].container', from: 53 },
    { path: 'ports[1].protocol', from: 'udp' },
    { path: 'ports[2].container', from: 443 },
    { path: 'ports[2].host', from: 8443 },
    { path: 'ports[2].hostIp', from: '::1' },
    { path: 'ports[2].protocol', from: 'tcp' }
  ])
  assert.ok(specChanges(undefined, full).every(c => c.from === undefined && c.to !== undefined), 'a new service: every field added')
})

test('source records and a service\'s source are checked as every node checks them', () => {
  const key = parseKey(keys.source('acme', 'infra'))!
  const good = { url: 'file:///srv/infra.git', ref: 'main', path: 'apps', interval: 60_000, prune: true }
  assert.is(checkRecord(key, good), undefined)
  assert.match(checkRecord(key, { ...good, url: 'ext::sh -c touch% /tmp/pwned' })!, 'ext::')
  assert.match(checkRecord(key, { ...good, ref: 'main..x' })!, '--ref')
  assert.match(checkRecord(key, { ...good, path: '../etc' })!, '--path')
  assert.match(checkRecord(key, { ...good, interval: 10 })!, '--watch')
  assert.match(checkRecord(key, { ...good, signers: ['not a key'] })!, 'SSH public key')
  assert.is(checkRecord(key, { ...good, signers: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ alice@example.org'] }), undefined)
  const status = parseKey(keys.sourceStatus('acme', 'infra'))!
  assert.is(checkRecord(status, { node: 'x', commit: 'a'.repeat(40), applied: 1, rejected: { commit: 'b'.repeat(40), error: 'bad' } }), undefined)
  assert.match(checkRecord(status, { node: 'x', commit: 'main' })!, 'full commit')
  const service = parseKey(keys.service('acme', 'web'))!
  const record = serviceValue('acme', 'web', '000000000000001.000000') as Record<string, unknown>
  assert.is(checkRecord(service, { ...record, source: { name: 'infra', commit: 'c'.repeat(40) } } as never), undefined)
  assert.match(checkRecord(service, { ...record, source: { name: 'infra' } } as never)!, 'service source')
})

test('writeMany writes every entry in one batch, or none when one may not stand', async () => {
  const f = await buildFixture()
  const heard: number[] = []
  f.source.subscribe(applied => heard.push(applied.length))
  const written = await f.source.writeMany(f.root, [
    { key: keys.service('acme', 'a'), value: serviceValue('acme', 'a', '000000000000001.000000') },
    { key: keys.service('acme', 'b'), value: serviceValue('acme', 'b', '000000000000001.000000') }
  ])
  assert.is(written.length, 2)
  assert.equal(heard, [2], 'listeners hear the change once, whole')
  const before = f.source.digest()
  try {
    await f.source.writeMany(f.root, [
      { key: keys.service('acme', 'c'), value: serviceValue('acme', 'c', '000000000000001.000000') },
      { key: keys.service('beta', 'd'), value: serviceValue('beta', 'd', '000000000000001.000000') }
    ])
    assert.unreachable('wrote another org\'s service')
  } catch (err: any) {
    assert.is(err.name, 'UnauthorizedWriteError')
    assert.match(err.message, 'service/beta/d')
  }
  assert.is(f.source.digest(), before, 'nothing written')
  assert.is(f.source.value(keys.service('acme', 'c')), undefined)
  await f.source.write(f.root, keys.cordon(f.root.peerId), { reason: 'seqs still in order' })
})

test.run()
