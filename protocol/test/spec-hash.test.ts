import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { containerHash, parseServiceSpec, PLACEMENT_FIELDS, ROUTING_FIELDS, type ServiceSpec } from '../src/index.js'
import { SPEC_FIELDS } from '../src/spec-rules.js'

const spec: ServiceSpec = parseServiceSpec(`
name: web
org: acme
image: minga/busybox:1
command: [httpd, -f, -p, "8080", -h, /www]
env: { GREETING: hello }
replicas: 3
resources: { cpu: 200m, memory: 64Mi }
spread: node
allowOrgs: [acme, riverside]
constraints: { disk: ssd }
ports: ["8080:8080"]
health: { cmd: [wget, -q, -O-, "http://127.0.0.1:8080/"], interval: 5s }
update: { maxUnavailable: 2 }
volumes: ["data:/data"]
`)[0]

test('containerHash: equal specs give equal hashes, whatever their key order', () => {
  const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(spec).reverse())))
  assert.is(containerHash(reordered), containerHash(spec))
  assert.match(containerHash(spec), /^[0-9a-f]{16}$/)
})

test('containerHash covers every spec field but placement, rollout and routing, new fields included', () => {
  // SPEC_FIELDS is the list of every field a stored spec may have: a field added to it is covered here without a change
  const outside: readonly string[] = [...PLACEMENT_FIELDS, ...ROUTING_FIELDS]
  for (const field of SPEC_FIELDS) {
    const changed = { ...spec, [field]: '__changed__' } as unknown as ServiceSpec
    if (outside.includes(field)) assert.is(containerHash(changed), containerHash(spec), `${field} says how many, where or how it is reached: no container changes`)
    else assert.is.not(containerHash(changed), containerHash(spec), `${field} is part of a container`)
  }
  for (const field of outside) assert.ok((SPEC_FIELDS as readonly string[]).includes(field), `${field} is a spec field`)
})

test('a host name or an exposure changes no container; a port\'s mode or PROXY header does', () => {
  assert.is(containerHash({ ...spec, http: [{ host: 'web.example.org', port: 80 }], expose: ['*'] }), containerHash(spec))
  assert.is.not(containerHash({ ...spec, ports: [{ container: 80, host: 8080, protocol: 'tcp', mode: 'host' }] }), containerHash({ ...spec, ports: [{ container: 80, host: 8080, protocol: 'tcp' }] }))
  assert.is.not(containerHash({ ...spec, ports: [{ container: 80, host: 8080, protocol: 'tcp', proxyProtocol: 'v2' }] }), containerHash({ ...spec, ports: [{ container: 80, host: 8080, protocol: 'tcp' }] }))
})

test('scaling, placement and the update policy leave the hash alone; image, env, resources, ports, volumes and health do not', () => {
  const same: Array<Partial<ServiceSpec>> = [
    { replicas: 0 }, { replicas: 7 }, { spread: 'org' }, { constraints: {} }, { allowOrgs: undefined }, { update: { maxUnavailable: 0 } }, { singleton: true }
  ]
  for (const patch of same) assert.is(containerHash({ ...spec, ...patch }), containerHash(spec), JSON.stringify(patch))
  const other: Array<Partial<ServiceSpec>> = [
    { image: 'minga/busybox:2' }, { command: ['sleep', '1d'] }, { env: { GREETING: 'hi' } }, { resources: { cpu: 300, memory: spec.resources.memory } },
    { ports: [] }, { volumes: [] }, { health: undefined }
  ]
  for (const patch of other) assert.is.not(containerHash({ ...spec, ...patch }), containerHash(spec), JSON.stringify(patch))
})

test('a volume\'s backup settings leave the hash alone: a new interval or hook restarts nothing', () => {
  const withBackup = { ...spec, volumes: spec.volumes.map(v => ({ ...v, backup: { interval: 60_000, pre: [['sh', '-c', 'sync']] } })) }
  assert.is(containerHash(withBackup), containerHash(spec))
  assert.is.not(containerHash({ ...spec, volumes: spec.volumes.map(v => ({ ...v, readOnly: true })) }), containerHash(spec))
})

test.run()
