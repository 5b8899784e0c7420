import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { stringify } from 'yaml'
import { checkServiceSpec, parseCpu, parseMemory, parseServiceSpec, containerHash, standbyWanted, SPEC_FILE_LIMITS, type ServiceSpec } from '../src/index.js'
import { cpuMs } from './fixtures.js'

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8')

/** the problems of a file that must not parse */
function problemsOf (text: string, options: { org?: string, source?: string } = { org: 'acme' }): string[] {
  try {
    parseServiceSpec(text, options)
  } catch (err: any) {
    assert.is(err.name, 'InvalidSpecError', err.stack)
    return err.problems
  }
  assert.unreachable(`parsed, but should not have: ${text.slice(0, 200)}`)
  return []
}

const MiB = 1024 * 1024

const minimal: ServiceSpec = {
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

test('a single service gets every default', () => {
  assert.equal(parseServiceSpec(fixture('web.yaml')), [minimal])
})

test('the org comes from the service, then the file, then the caller', () => {
  assert.is(parseServiceSpec('name: web\nimage: nginx\n', { org: 'beta' })[0].org, 'beta')
  assert.is(parseServiceSpec('name: web\norg: acme\nimage: nginx\n', { org: 'beta' })[0].org, 'acme')
  const [a, b] = parseServiceSpec('org: acme\nservices:\n  a: { image: nginx }\n  b: { image: nginx, org: gamma }\n', { org: 'beta' })
  assert.is(a.org, 'acme')
  assert.is(b.org, 'gamma')
  assert.equal(problemsOf('name: web\nimage: nginx\n', {}), [
    'org: missing (name the organization that owns the service, e.g. org: acme; must be 1 to 63 lower-case letters, digits or dashes, starting and ending with a letter or digit)'
  ])
})

test('a services mapping resolves units, forms and defaults', () => {
  const [web, db] = parseServiceSpec(fixture('stack.yaml'))
  assert.equal(web, {
    name: 'web',
    org: 'acme',
    image: 'ghcr.io/acme/web:2.1',
    command: ['sh', '-c', 'node server.js --port 8080'],
    env: { NODE_ENV: 'production', VERSION: '1.10', ZIP: '01234', DEBUG: 'false' },
    replicas: 3,
    resources: { cpu: 500, memory: 256 * MiB },
    spread: 'node',
    allowOrgs: ['acme', 'beta'],
    constraints: { disk: 'ssd', gpu: 'true' },
    ports: [
      { container: 80, host: 8080, protocol: 'tcp' },
      { container: 443, protocol: 'tcp' },
      { container: 53, protocol: 'udp' },
      { container: 9000, host: 9001, protocol: 'tcp' }
    ],
    health: { cmd: ['curl', '-f', 'http://localhost/health'], interval: 10_000, timeout: 500, retries: 5, startPeriod: 90_000 },
    update: { maxUnavailable: 2 },
    singleton: false,
    volumes: []
  })
  assert.equal(db, {
    ...minimal,
    name: 'db',
    image: 'postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    env: { POSTGRES_DB: 'app', POSTGRES_PASSWORD: 's3cr=t' },
    resources: { cpu: 2000, memory: 1_000_000_000 },
    singleton: true,
    volumes: [
      { name: 'pgdata', path: '/var/lib/postgresql/data', readOnly: false },
      { name: 'backups', path: '/backups', readOnly: true }
    ]
  })
})

test('Windows line endings read the same', () => {
  assert.equal(parseServiceSpec(fixture('stack.yaml').replace(/\n/g, '\r\n')), parseServiceSpec(fixture('stack.yaml')))
})

test('a plain list of services is accepted too', () => {
  const [api, worker] = parseServiceSpec(fixture('list.yaml'), { org: 'acme' })
  assert.equal(api, { ...minimal, name: 'api', image: 'localhost:5000/acme/api:latest', resources: { cpu: 250, memory: 512_000_000 } })
  assert.equal(worker, { ...minimal, name: 'worker', org: 'beta', image: 'busybox', command: ['sleep', '3600'], replicas: 0 })
})

test('human units', () => {
  for (const [given, millicores] of [[0.5, 500], ['0.5', 500], ['500m', 500], [2, 2000], ['2', 2000], ['1m', 1], [0.001, 1], ['.25', 250], [256, 256_000]] as const) {
    assert.is(parseCpu(given), millicores, `cpu ${given}`)
  }
  for (const bad of ['0.5m', '1.5.1', 'two', '-1', '1e3', '', '500 m', null, [1]]) assert.ok(Number.isNaN(parseCpu(bad)), `cpu ${String(bad)}`)
  for (const [given, bytes] of [['64Mi', 64 * MiB], ['1Gi', 1024 * MiB], ['512M', 512e6], ['1G', 1e9], [268435456, 268435456], ['100k', 1e5], ['1.5Gi', 1536 * MiB], ['1Ti', 1024 * 1024 * MiB]] as const) {
    assert.is(parseMemory(given), bytes, `memory ${given}`)
  }
  for (const bad of ['64MB', '1gb', '64mi', 'lots', 1.5, '-1Mi', '']) assert.ok(Number.isNaN(parseMemory(bad)), `memory ${String(bad)}`)
  // durations: duration.test.ts
})

test('a file with many mistakes lists every one, with its path', () => {
  const text = `org: acme
services:
  web:
    image: Nginx
    replicas: three
    spread: zone
    foo: 1
    resources: { cpu: lots, memory: 1PB }
    ports: ["x", "99999:80", "80:80", "80:80"]
    env: [A=1, B, A=2, "9X=1"]
    health: { interval: 5, timeout: 1ms, retries: 0 }
    singleton: yes
    volumes: ["a", "Data:rel"]
  db:
    image: postgres
    singleton: true
    replicas: 3
    allowOrgs: [acme, acme, Beta]
    constraints: { "Bad Key": x, zone: { a: 1 } }
    update: { maxUnavailable: 2, surge: 1 }
`
  assert.equal(problemsOf(text, { source: 'web.yaml' }), [
    'services.web.foo: unknown field (allowed: name, org, project, image, imageDigest, entrypoint, command, user, env, replicas, resources, reservations, spread, allowOrgs, constraints, excludedLabels, ports, health, update, singleton, standby, volumes, tmpfs, configs, secretFiles, http, expose)',
    'services.web.image: must be an image reference like nginx:1.27, ghcr.io/acme/web:2 or nginx@sha256:<64 hex digits>, with a lower-case repository path (got "Nginx")',
    'services.web.env[1]: must be NAME=value (got "B")',
    'services.web.env[2]: A is set twice',
    'services.web.env.9X: invalid name (must be a variable name: letters, digits, _ . and -, not starting with a digit, at most 128 characters)',
    'services.web.replicas: must be a whole number from 0 to 1000 (got "three")',
    'services.web.resources.cpu: must be cores like 0.5 or 2, or millicores like 500m, from 1m to 256 cores (got "lots")',
    'services.web.resources.memory: must be bytes or a size like 64Mi, 1Gi, 512M or 1G, from 4Mi to 1Ti (got "1PB")',
    'services.web.spread: must be "org" or "node" (got "zone")',
    'services.web.ports[0]: must be a port like "80", "8080:80", "127.0.0.1:8080:80", "53/udp" or a mapping with container, host, hostIp, protocol, mode and proxyProtocol (got "x")',
    'services.web.ports[1].host: must be a whole number from 1 to 65535 (got 99999)',
    'services.web.ports[3].host: port 80/tcp is published twice',
    'services.web.health.cmd: missing (must be a command line (run by sh -c) or a list of arguments)',
    'services.web.health.interval: must be a duration like 5s, 90s or 10m, from 1s to 1h (got 5)',
    'services.web.health.timeout: must be a duration like 500ms, 90s or 10m, from 100ms to 1h (got "1ms")',
    'services.web.health.retries: must be a whole number from 1 to 100 (got 0)',
    'services.web.singleton: must be true or false (got "yes")',
    'services.web.volumes[0].path: must be an absolute path like /data, other than /, without "..", ":" or control characters, at most 1024 characters (got "a")',
    'services.web.volumes[1].name: must be 1 to 63 lower-case letters, digits or dashes, starting and ending with a letter or digit (got "Data")',
    'services.web.volumes[1].path: must be an absolute path like /data, other than /, without "..", ":" or control characters, at most 1024 characters (got "rel")',
    'services.db.allowOrgs[1]: "acme" is listed twice',
    'services.db.allowOrgs[2]: must be 1 to 63 lower-case letters, digits or dashes, starting and ending with a letter or digit (got "Beta")',
    'services.db.constraints.zone: must be a string of at most 256 characters without control characters (got a mapping)',
    'services.db.constraints."Bad Key": invalid label (must be a label name: 1 to 63 lower-case letters, digits, ".", "_", "/" or "-", starting with a letter or digit)',
    'services.db.update.surge: unknown field (allowed: maxUnavailable, watch, watchInterval)',
    'services.db.replicas: must be 0 or 1 for a singleton service (got 3)'
  ])
  try {
    parseServiceSpec(text, { source: 'web.yaml' })
  } catch (err: any) {
    assert.match(err.message, /^web\.yaml is invalid:\n {2}- services\.web\.foo: unknown field/)
  }
})

test('maxUnavailable is not tied to the replica count: above it means all at once, and 0 replicas keep it', () => {
  for (const [replicas, maxUnavailable] of [[2, 3], [0, 2], [0, 0], [5, 5]]) {
    const [spec] = parseServiceSpec(`name: web\nimage: nginx\nreplicas: ${replicas}\nupdate: { maxUnavailable: ${maxUnavailable} }\n`, { org: 'acme' })
    assert.is(spec.update.maxUnavailable, maxUnavailable)
    checkServiceSpec(JSON.parse(JSON.stringify(spec)))
  }
})

test('each field refuses what it cannot hold', () => {
  const cases: Array<[string, string]> = [
    ['replicas: 1001', 'replicas: must be a whole number from 0 to 1000 (got 1001)'],
    ['replicas: 1.5', 'replicas: must be a whole number from 0 to 1000 (got 1.5)'],
    ['replicas: -1', 'replicas: must be a whole number from 0 to 1000 (got -1)'],
    ['resources: { cpu: 0.0001 }', 'resources.cpu: must be cores like 0.5 or 2, or millicores like 500m, from 1m to 256 cores (got 0.0001)'],
    ['resources: { cpu: 257 }', 'resources.cpu: must be cores like 0.5 or 2, or millicores like 500m, from 1m to 256 cores (got 257)'],
    ['resources: { memory: 1Mi }', 'resources.memory: must be bytes or a size like 64Mi, 1Gi, 512M or 1G, from 4Mi to 1Ti (got "1Mi")'],
    ['resources: { memory: 2Ti }', 'resources.memory: must be bytes or a size like 64Mi, 1Gi, 512M or 1G, from 4Mi to 1Ti (got "2Ti")'],
    ['resources: 2', 'resources: must be a mapping with cpu and memory (got 2)'],
    ['ports: ["0"]', 'ports[0].container: must be a whole number from 1 to 65535 (got 0)'],
    ['ports: ["80/sctp"]', 'ports[0]: must be a port like "80", "8080:80", "127.0.0.1:8080:80", "53/udp" or a mapping with container, host, hostIp, protocol, mode and proxyProtocol (got "80/sctp")'],
    ['ports: [{ container: 80, protocol: icmp }]', 'ports[0].protocol: must be "tcp" or "udp" (got "icmp")'],
    ['ports: [{ container: 80, ip: 1.2.3.4 }]', 'ports[0].ip: unknown field (allowed: container, host, hostIp, protocol, mode, proxyProtocol)'],
    ['ports: 80', 'ports: must be a list of at most 64 ports (got 80)'],
    ['command: ""', 'command: must be a command line (run by sh -c) or a list of arguments (got "")'],
    ['command: []', 'command: must be a list of 1 to 256 strings (got a list)'],
    ['command: [sleep, [1]]', 'command[1]: must be a string without NUL characters (got a list)'],
    ['command: { run: x }', 'command: must be a command line (run by sh -c) or a list of arguments (got a mapping)'],
    ['env: { A: [1] }', 'env.A: must be a string, a number or true/false (write "" for an empty value) (got a list)'],
    ['env: { A: }', 'env.A: must be a string, a number or true/false (write "" for an empty value) (got null)'],
    ['env: "A=1"', 'env: must be a mapping of NAME: value or a list of NAME=value (got "A=1")'],
    ['env: { __proto__: x }', 'env.__proto__: invalid name (must be a variable name: letters, digits, _ . and -, not starting with a digit, at most 128 characters)'],
    [`env: { A: "${'x'.repeat(33 * 1024)}" }`, 'env: values total 33792 bytes (at most 32768)'],
    ['image: "nginx:"', 'image: must be an image reference like nginx:1.27, ghcr.io/acme/web:2 or nginx@sha256:<64 hex digits>, with a lower-case repository path (got "nginx:")'],
    ['image: "nginx@sha256:abc"', 'image: must be an image reference like nginx:1.27, ghcr.io/acme/web:2 or nginx@sha256:<64 hex digits>, with a lower-case repository path (got "nginx@sha256:abc")'],
    ['image: "Acme/web"', 'image: must be an image reference like nginx:1.27, ghcr.io/acme/web:2 or nginx@sha256:<64 hex digits>, with a lower-case repository path (got "Acme/web")'],
    ['name: Web', 'name: must be 1 to 63 lower-case letters, digits or dashes, starting and ending with a letter or digit (got "Web")'],
    ['name: web-', 'name: must be 1 to 63 lower-case letters, digits or dashes, starting and ending with a letter or digit (got "web-")'],
    [`name: ${'a'.repeat(64)}`, `name: must be 1 to 63 lower-case letters, digits or dashes, starting and ending with a letter or digit (got "${'a'.repeat(40)}"…)`],
    ['volumes: ["data:/"]', 'volumes[0].path: must be an absolute path like /data, other than /, without "..", ":" or control characters, at most 1024 characters (got "/")'],
    ['volumes: ["data:/a/../etc"]', 'volumes[0].path: must be an absolute path like /data, other than /, without "..", ":" or control characters, at most 1024 characters (got "/a/../etc")'],
    ['volumes: ["data:/a:rx"]', 'volumes[0]: must be "name:/path", "name:/path:ro", "/path" (an anonymous volume) or a mapping with name, path and readOnly (got "data:/a:rx")'],
    ['volumes: ["a:/data", "b:/data"]', 'volumes[1].path: /data is mounted twice (first at volumes[0])'],
    ['volumes: [{ name: a, path: /a, readOnly: maybe }]', 'volumes[0].readOnly: must be true or false (got "maybe")'],
    ['volumes: [{ name: a, path: /a, backup: { interval: 10s } }]', 'volumes[0].backup.interval: must be a duration from 30s to 24h, in whole seconds, like 5m (or 0: never backed up) (got "10s")'],
    ['volumes: [{ name: a, path: /a, backup: { interval: 2d } }]', 'volumes[0].backup.interval: must be a duration from 30s to 24h, in whole seconds, like 5m (or 0: never backed up) (got "2d")'],
    ['volumes: [{ name: a, path: /a, backup: hourly }]', 'volumes[0].backup: must be false (never backed up), true, or a mapping with interval, pre and post (got "hourly")'],
    ['volumes: [{ name: a, path: /a, backup: { pre: "" } }]', 'volumes[0].backup.pre[0]: must be a command line (run by sh -c) or a list of arguments (got "")'],
    ['volumes: [{ name: a, path: /a, backup: { pre: { run: x } } }]', 'volumes[0].backup.pre: must be a command, or a list of at most 8 commands, each a string (run with sh -c) or a list of words (got a mapping)'],
    ['volumes: [{ name: a, path: /a, backup: { every: 5m } }]', 'volumes[0].backup.every: unknown field (allowed: interval, pre, post)'],
    ['volumes: [{ path: /a, backup: true }]', 'volumes[0].backup: only a named volume is backed up (an anonymous one goes with its container)'],
    ['health: { cmd: true, interval: 2h }', 'health.interval: must be a duration like 5s, 90s or 10m, from 1s to 1h (got "2h")'],
    ['health: curl localhost', 'health: must be a mapping with cmd, and optionally interval, timeout, retries and startPeriod (got "curl localhost")'],
    ['update: { maxUnavailable: -1 }', 'update.maxUnavailable: must be a whole number from 0 to 1000 (0 starts each new replica before stopping the old; the replicas or more replaces all at once) (got -1)'],
    ['singleton: true\nreplicas: 2', 'replicas: must be 0 or 1 for a singleton service (got 2)'],
    ['standby: yes', 'standby: must be true or false (got "yes")'],
    ['singleton: true\nstandby: true', 'standby: must be false for a singleton (its one copy moves with its data; remove standby) (got true)'],
    ['volumes: ["data:/data"]\nstandby: true', 'standby: must be false for a service with named volumes (their data moves by restore; remove standby) (got true)'],
    ['singleton: true\nupdate: { maxUnavailable: 0 }', 'update.maxUnavailable: must be 1 for a singleton (0 starts the new copy beside the old one, and a singleton never runs twice) (got 0)'],
    ['ports: [{ container: 80, host: 8080, mode: host }]\nupdate: { maxUnavailable: 0 }', 'update.maxUnavailable: must be at least 1 for a service that publishes ports of mode host (0 starts the new copy beside the old one, and both would need the port) (got 0)'],
    ['ports: [{ container: 80, host: 8080, mode: nodes }]', 'ports[0].mode: must be "ingress" (every node of the mesh listens and forwards) or "host" (only nodes that run a replica, bound by the container) (got "nodes")'],
    ['ports: [{ container: 80, host: 8080, proxyProtocol: v1 }]', 'ports[0].proxyProtocol: must be "v2" (the PROXY protocol version sent first), or left out (got "v1")'],
    ['ports: [{ container: 53, host: 53, protocol: udp, mode: ingress }]', 'ports[0].mode: a UDP port is not forwarded by the routing mesh (yet): leave mode out, or write host'],
    ['http: { host: cloud, port: 80 }', 'http[0].host: must be a host name in lower case with at least one dot, like cloud.example.org (got "cloud")'],
    ['http: { host: cloud.example.org }', 'http[0]: needs port (the container\'s plain HTTP port, routed by Host on port 80) or tlsPort (its TLS port, routed by SNI on 443), or both'],
    ['http: [{ host: a.example.org, port: 80 }, { host: A.example.org, port: 81 }]', 'http[1].host: "a.example.org" is listed twice'],
    ['http: { host: a.example.org, port: 80, tls: true }', 'http[0].tls: unknown field (allowed: host, port, tlsPort, proxyProtocol)'],
    ['expose: [riverside, "*"]', 'expose: "*" already means every organization: list it alone'],
    ['expose: [Riverside]', 'expose[0]: must be 1 to 63 lower-case letters, digits or dashes, starting and ending with a letter or digit (got "Riverside")'],
    ['allowOrgs: []', 'allowOrgs: must be a list of 1 to 100 organization names (leave it out to allow any) (got a list)'],
    ['allowOrgs: acme', 'allowOrgs: must be a list of 1 to 100 organization names (leave it out to allow any) (got "acme")'],
    ['constraints: [disk]', 'constraints[0]: must be "label == value" or "label != value" (got "disk")']
  ]
  for (const [extra, expected] of cases) {
    const name = extra.startsWith('name:') ? '' : 'name: web\n'
    const image = extra.startsWith('image:') ? '' : 'image: nginx\n'
    assert.equal(problemsOf(`${name}${image}${extra}\n`), [expected], extra)
  }
})

test('how a service is reached: port modes and the PROXY header, host names on the shared web ports, exposure to other organizations', () => {
  const [web] = parseServiceSpec(`name: web
org: acme
image: nginx
ports:
  - "8080:80"
  - { container: 443, host: 8443, mode: ingress, proxyProtocol: v2 }
  - { container: 9000, host: 9000, mode: host }
  - { container: 53, host: 53, protocol: udp, mode: host }
http:
  host: Cloud.Example.org.
  port: 80
  tlsPort: 443
expose: riverside
`)
  assert.equal(web.ports, [
    { container: 80, host: 8080, protocol: 'tcp' },
    { container: 443, host: 8443, protocol: 'tcp', proxyProtocol: 'v2' },
    { container: 9000, host: 9000, protocol: 'tcp', mode: 'host' },
    { container: 53, host: 53, protocol: 'udp', mode: 'host' }
  ], 'mode ingress is the default and is not stored')
  assert.equal(web.http, [{ host: 'cloud.example.org', port: 80, tlsPort: 443 }])
  assert.equal(web.expose, ['riverside'])
  assert.equal(checkServiceSpec(web), web)
})

test('ports of mode ingress may be surged (maxUnavailable: 0): no container binds them', () => {
  const [web] = parseServiceSpec('name: web\norg: acme\nimage: nginx\nports: ["8080:80"]\nupdate: { maxUnavailable: 0 }\n')
  assert.is(web.update.maxUnavailable, 0)
})

test('a service listed under a key takes the key as its name', () => {
  assert.is(parseServiceSpec('services:\n  web: { image: nginx }\n', { org: 'acme' })[0].name, 'web')
  assert.equal(problemsOf('services:\n  web: { name: api, image: nginx }\n'), [
    'services.web.name: must match the key it is listed under ("web"), or be left out (got "api")'
  ])
  assert.equal(problemsOf('services:\n  Web: { image: nginx }\n'), [
    'services.Web.name: must be 1 to 63 lower-case letters, digits or dashes, starting and ending with a letter or digit (got "Web")'
  ])
  assert.equal(problemsOf('services: [web]\n'), ['services: must be a mapping of service name to service (got a list)'])
  assert.equal(problemsOf('services: {}\nversion: 3\n'), [
    'version: unknown field (allowed: org, services)',
    'the file lists no services'
  ])
  assert.equal(problemsOf('- { name: a, image: x }\n- { name: a, image: y }\n'), ['[1]: the service acme/a is defined twice (first at [0])'])
})

test('bad YAML, and files that are not specs, are refused with a clear reason', () => {
  assert.equal(problemsOf('name: web\nimage: [nginx\n'), ['line 3:1: Flow sequence in block collection must be sufficiently indented and end with a ]'])
  assert.equal(problemsOf('name: web\nname: api\nimage: nginx\n'), ['line 2:1: the key "name" appears twice in one mapping'])
  assert.equal(problemsOf('env:\n  A: 1\n  A: 2\n'), ['line 3:3: the key "A" appears twice in one mapping'])
  assert.equal(problemsOf('name: web\n---\nname: api\n'), ['the file holds 2 YAML documents (---); put several services under "services:" or in a list instead'])
  assert.equal(problemsOf(''), ['the file is empty: write a service (name:, image:, …), a services: mapping, or a list of services'])
  assert.equal(problemsOf('# nothing here\n'), ['the file is empty: write a service (name:, image:, …), a services: mapping, or a list of services'])
  assert.equal(problemsOf('just text'), ['the file must hold a service (a mapping with name:), a services: mapping, or a list of services (got "just text")'])
  assert.equal(problemsOf('a: *nowhere\n'), ['the file could not be read as YAML (Unresolved alias (the anchor must be set before the alias): nowhere)'])
  assert.equal(problemsOf('- 1\n- x\n'), [
    '[0]: must be a mapping of service fields (name, image, …) (got 1)',
    '[1]: must be a mapping of service fields (name, image, …) (got "x")'
  ])
  assert.equal(problemsOf('[]'), ['the file lists no services'])
})

test('YAML 1.1 surprises stay strings, and tags do not make objects', () => {
  assert.equal(problemsOf('name: web\nimage: nginx\nsingleton: yes\n'), ['singleton: must be true or false (got "yes")'])
  const [spec] = parseServiceSpec('name: web\nimage: nginx\nenv: { A: !!binary aGVsbG8=, B: 0x1F, C: 1e3, D: 0o17, E: .inf }\nports: ["22:22"]\n', { org: 'acme' })
  assert.equal(spec.env, { A: 'aGVsbG8=', B: '0x1F', C: '1e3', D: '0o17', E: '.inf' })
  assert.equal(spec.ports, [{ container: 22, host: 22, protocol: 'tcp' }])
})

test('a billion laughs is refused quickly', () => {
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  for (let i = 1; i < 9; i++) {
    const name = String.fromCharCode(97 + i)
    const prev = String.fromCharCode(96 + i)
    levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`)
  }
  const started = cpuMs()
  assert.equal(problemsOf(levels.join('\n')), ['the file expands YAML aliases (*name) more than 100 times; write the values out instead'])
  assert.ok(cpuMs() - started < 1000, 'took over a second of CPU')
})

test('a file over 256 KiB is refused before it is read', () => {
  const text = `name: web\nimage: nginx\nenv:\n${'  # padding padding padding padding padding padding padding\n'.repeat(5200)}`
  assert.ok(text.length > 300 * 1024)
  assert.equal(problemsOf(text), ['the file is 305 KiB; a spec file holds at most 256 KiB (split it into several files)'])
  // multi-byte characters count as bytes
  assert.equal(problemsOf(`name: web\nimage: nginx\n# ${'é'.repeat(140 * 1024)}\n`), ['the file is 281 KiB; a spec file holds at most 256 KiB (split it into several files)'])
})

test('deep nesting and token floods are refused before the YAML parser sees them', () => {
  const deep = [
    '['.repeat(100_000) + ']'.repeat(100_000),
    '- '.repeat(60_000) + 'x\n',
    Array.from({ length: 200 }, (_, i) => ' '.repeat(i) + 'a:').join('\n'),
    'a: ' + '{a: '.repeat(40) + '1' + '}'.repeat(40)
  ]
  for (const text of deep) {
    const started = cpuMs()
    assert.equal(problemsOf(text), ['the YAML is nested more than 32 levels deep (a service spec needs far fewer)'])
    assert.ok(cpuMs() - started < 1000, 'slow depth check')
  }
  const started = cpuMs()
  assert.equal(problemsOf(':\n'.repeat(120_000)), [`the YAML has more than ${SPEC_FILE_LIMITS.maxTokens} tokens (split it into several files)`])
  assert.ok(cpuMs() - started < 1000, 'slow token count')
  // a mapping of 10,000 keys takes about 2 s with the library's quadratic duplicate check, 0.3 s with ours
  const wide = `name: web\nimage: nginx\n${Array.from({ length: 10_000 }, (_, i) => `k${i}: 1`).join('\n')}`
  const wideStarted = cpuMs()
  assert.is(problemsOf(wide).length, 10_000)
  assert.ok(cpuMs() - wideStarted < 1500, 'slow wide mapping')
})

test('more than 100 services in a file are refused', () => {
  const text = Array.from({ length: 101 }, (_, i) => `- { name: s${i}, image: nginx }`).join('\n')
  assert.equal(problemsOf(text), ['the file holds 101 services; at most 100 per file (split it into several files)'])
  assert.is(parseServiceSpec(Array.from({ length: 100 }, (_, i) => `- { name: s${i}, image: nginx }`).join('\n'), { org: 'acme' }).length, 100)
})

test('a spec too large to store is refused', () => {
  const env = Array.from({ length: 200 }, (_, i) => `  V${String(i).padStart(3, '0')}${'X'.repeat(120)}: "${'v'.repeat(160)}"`).join('\n')
  const args = Array.from({ length: 250 }, () => `  - "${'a'.repeat(60)}"`).join('\n')
  const problems = problemsOf(`name: web\nimage: nginx\nenv:\n${env}\ncommand:\n${args}\n`)
  assert.is(problems.length, 1)
  assert.match(problems[0], /^the normalized spec is \d+ bytes \(at most 57344\); move large values out of env and command$/)
})

test('checkServiceSpec accepts every parsed spec and returns it unchanged', () => {
  for (const spec of [...parseServiceSpec(fixture('stack.yaml')), ...parseServiceSpec(fixture('list.yaml'), { org: 'acme' }), minimal]) {
    const stored = JSON.parse(JSON.stringify(spec))
    assert.is(checkServiceSpec(stored), stored)
  }
})

test('checkServiceSpec refuses anything but the exact stored form', () => {
  const refuse = (value: unknown, expected: string[]): void => {
    try {
      checkServiceSpec(value)
      assert.unreachable(`accepted ${JSON.stringify(value)}`)
    } catch (err: any) {
      assert.is(err.name, 'InvalidSpecError')
      assert.equal(err.problems, expected)
      assert.match(err.message, /^The stored service spec is invalid:/)
    }
  }
  refuse(null, ['spec: must be a mapping of service fields (got null)'])
  refuse([minimal], ['spec: must be a mapping of service fields (got a list)'])
  refuse({ ...minimal, resources: { cpu: '500m', memory: '64Mi' } }, [
    'resources.cpu: must be a whole number of millicores from 1 to 256000 (got "500m")',
    'resources.memory: must be a whole number of bytes from 4194304 to 1099511627776 (got "64Mi")'
  ])
  refuse({ ...minimal, extra: true }, ['extra: unknown field (allowed: name, org, project, image, imageDigest, entrypoint, command, user, env, replicas, resources, reservations, spread, allowOrgs, constraints, excludedLabels, ports, health, update, singleton, standby, volumes, tmpfs, configs, secretFiles, http, expose)'])
  const { env, volumes, ...partial } = minimal
  refuse(partial, ['env: missing (every stored spec has it)', 'volumes: missing (every stored spec has it)'])
  refuse({ ...minimal, command: 'sleep 1' }, ['command: must be a list of 1 to 256 strings (got "sleep 1")'])
  refuse({ ...minimal, ports: ['80'] }, ['ports[0]: must be a mapping with container, host and protocol (got "80")'])
  refuse({ ...minimal, ports: [{ container: 80 }] }, ['ports[0].protocol: missing (must be "tcp" or "udp")'])
  refuse({ ...minimal, health: { cmd: ['true'], interval: '5s', timeout: 3000, retries: 3, startPeriod: 0 } }, [
    'health.interval: must be a duration like 5s, 90s or 10m, from 1s to 1h (got "5s")'
  ])
  refuse({ ...minimal, volumes: [{ name: 'a', path: '/a' }] }, ['volumes[0].readOnly: missing (must be true or false)'])
  refuse({ ...minimal, replicas: Number.NaN }, ['replicas: must be a whole number from 0 to 1000 (got NaN)'])
  refuse({ ...minimal, singleton: true, replicas: 2 }, ['replicas: must be 0 or 1 for a singleton service (got 2)'])
  refuse({ ...minimal, update: { maxUnavailable: 0 }, ports: [{ container: 80, host: 80, protocol: 'tcp', mode: 'host' }] }, ['update.maxUnavailable: must be at least 1 for a service that publishes ports of mode host (0 starts the new copy beside the old one, and both would need the port) (got 0)'])
  refuse({ ...minimal, ports: [{ container: 80, host: 80, protocol: 'tcp', mode: 'everywhere' }] }, ['ports[0].mode: must be "ingress" (every node of the mesh listens and forwards) or "host" (only nodes that run a replica, bound by the container) (got "everywhere")'])
  refuse({ ...minimal, http: [{ host: 'Web.example.org', port: 80 }] }, ['http[0].host: must be a host name in lower case with at least one dot, like cloud.example.org (got "Web.example.org")'])
  refuse({ ...minimal, http: { host: 'web.example.org', port: 80 } }, ['http: must be a list of 1 to 16 routes ({ host, port, tlsPort }) (got a mapping)'])
  refuse({ ...minimal, expose: 'riverside' }, ['expose: must be a list of organization names, or ["*"] for every organization of the mesh, at most 100 (leave it out to expose to no other organization) (got "riverside")'])
  refuse({ ...minimal, env: { A: 1 } }, ['env.A: must be a string without NUL characters (got 1)'])
})

/** parses, and holds a parse that succeeds to the stored-form check */
function parseOrRefuse (text: string): void {
  const started = cpuMs()
  try {
    for (const spec of parseServiceSpec(text, { org: 'acme' })) {
      checkServiceSpec(JSON.parse(JSON.stringify(spec)))
      assert.is(containerHash(spec), containerHash(JSON.parse(JSON.stringify(spec))))
    }
  } catch (err: any) {
    if (err.name !== 'InvalidSpecError') throw err
    assert.ok(err.problems.length > 0)
  }
  assert.ok(cpuMs() - started < 1000, `took ${cpuMs() - started} ms`)
}

test('fuzz: random text only ever parses or gives InvalidSpecError', () => {
  fc.assert(fc.property(fc.string({ maxLength: 400, unit: 'binary' }), parseOrRefuse), { numRuns: 300 })
  const yamlish = fc.array(fc.constantFrom('name', 'image', ':', ' ', '\n', '  ', '- ', '[', ']', '{', '}', ',', '&a ', '*a', '"', "'", '#', '|', '>', '!!str ', '---', 'services', 'env', 'web', '1', 'true', '~', '?', '%YAML 1.2\n'), { maxLength: 120 })
  fc.assert(fc.property(yamlish, parts => parseOrRefuse(parts.join(''))), { numRuns: 600 })
})

test('fuzz: random JSON-ish documents only ever parse or give InvalidSpecError', () => {
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), value => parseOrRefuse(stringify(value))), { numRuns: 300 })
  const values = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom('web', 'acme', 'nginx:1.27', '500m', '0.5', '64Mi', '1Gi', '5s', '1m30s', '8080:80', '53/udp', 'data:/data', 'data:/data:ro', 'A=1', 'org', 'node', true, false, 0, 1, 3, 1000, 65535, -1, 1.5),
    fc.array(fc.constantFrom('8080:80', 'A=1', 'data:/data', 'acme', 'sh', { container: 80 }, { name: 'v', path: '/v' }), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom('cpu', 'memory', 'cmd', 'interval', 'timeout', 'retries', 'startPeriod', 'maxUnavailable', 'A', 'disk', 'container', 'host', 'protocol'), fc.constantFrom('500m', '64Mi', 'true', '5s', 1, 0, 80, 'tcp', ['true'], null))
  )
  const fields = fc.constantFrom('name', 'org', 'image', 'command', 'env', 'replicas', 'resources', 'spread', 'allowOrgs', 'constraints', 'ports', 'health', 'update', 'singleton', 'volumes', 'bogus')
  const service = fc.tuple(fc.dictionary(fields, values, { maxKeys: 8 }), fc.boolean())
    .map(([spec, named]) => named ? { name: 'web', image: 'nginx', ...spec } : spec)
  const file = fc.oneof(service, fc.array(service, { maxLength: 3 }), fc.record({ services: fc.dictionary(fc.constantFrom('web', 'db', 'Bad'), service, { maxKeys: 3 }) }))
  fc.assert(fc.property(file, value => parseOrRefuse(stringify(value))), { numRuns: 1000 })
})

test('a volume\'s backup: an interval, hooks as command lines or words, off with false', () => {
  const [spec] = parseServiceSpec(`
name: db
org: acme
image: postgres:16
singleton: true
volumes:
  - { name: pgdata, path: /var/lib/postgresql/data, backup: { interval: 1m, pre: "pg_dumpall -U postgres > /var/lib/postgresql/data/dump.sql", post: [[rm, -f, /var/lib/postgresql/data/dump.sql]] } }
  - { name: cache, path: /cache, backup: false }
  - { name: uploads, path: /uploads, backup: true }
  - "plain:/plain"
`)
  assert.equal(spec.volumes, [
    { name: 'pgdata', path: '/var/lib/postgresql/data', readOnly: false, backup: { interval: 60_000, pre: [['sh', '-c', 'pg_dumpall -U postgres > /var/lib/postgresql/data/dump.sql']], post: [['rm', '-f', '/var/lib/postgresql/data/dump.sql']] } },
    { name: 'cache', path: '/cache', readOnly: false, backup: { interval: 0 } },
    { name: 'uploads', path: '/uploads', readOnly: false, backup: { interval: 300_000 } },
    { name: 'plain', path: '/plain', readOnly: false }
  ])
  // the stored form checks back
  assert.equal(checkServiceSpec(JSON.parse(JSON.stringify(spec))), spec)
})

test('standby: on by default for stateless services, off for singletons, named volumes and host ports unless asked; kept by the spec file', () => {
  const parse = (extra: string): ServiceSpec => parseServiceSpec(`name: web\nimage: nginx:1.27\n${extra}`, { org: 'acme' })[0]
  assert.ok(standbyWanted(parse('')))
  assert.not.ok(standbyWanted(parse('standby: false')))
  assert.not.ok(standbyWanted(parse('singleton: true')))
  assert.not.ok(standbyWanted(parse('volumes: ["data:/data"]')))
  assert.ok(standbyWanted(parse('volumes: ["/cache"]')), 'an anonymous volume goes with its container')
  assert.not.ok(standbyWanted(parse('ports: [{ container: 80, host: 8080, mode: host }]')))
  assert.ok(standbyWanted(parse('ports: [{ container: 80, host: 8080, mode: host }]\nstandby: true')))
  assert.is(parse('').standby, undefined, 'absent unless written')
  assert.is(containerHash(parse('standby: false')), containerHash(parse('')), 'standby is not what a container is made of')
})

test.run()
