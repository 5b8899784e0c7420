/** Compose files as people write them: each kind of field, translated or refused with what to do, at the field the user wrote */
import { realpathSync, symlinkSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parseComposeFile } from '../src/index.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cpuMs } from '@minga/protocol/fuzz'
import { problemsOf, projectDir, specOf, translate } from './helpers.js'

const svc = (body: string, extra = ''): string => `services:\n  app:\n    image: busybox:1\n${body.replace(/^/gm, '    ')}\n${extra}`

test('YAML merge keys merge; x- fields at the top and in services are ignored', () => {
  const project = translate(`
x-defaults: &defaults
  image: postgres:16
  environment: &env
    TZ: UTC
  restart: always
x-note: anything at all
services:
  one:
    <<: *defaults
    x-owner: team-a
  two:
    <<: [*defaults]
    environment:
      <<: *env
      EXTRA: "1"
`)
  assert.is(specOf(project, 'shop-one').image, 'postgres:16')
  assert.equal(specOf(project, 'shop-one').env, { TZ: 'UTC' })
  assert.equal(specOf(project, 'shop-two').env, { TZ: 'UTC', EXTRA: '1' })
  assert.not.ok(project.warnings.some(w => w.includes('x-')), project.warnings.join('\n'))
  assert.match(problemsOf('x-a: &a 3\nservices:\n  s:\n    <<: *a\n    image: x\n')[0], 'a merge key (<<) takes a mapping')
})

test('names Docker allows are accepted: underscores, dots, capitals; names that meet after mapping are refused', () => {
  const project = translate(`
services:
  web_app:
    image: nginx:1.27
    volumes: [app_data:/data]
  Worker.Two:
    image: nginx:1.27
volumes:
  app_data:
`)
  assert.equal(project.specs.map(s => s.name), ['shop-web-app', 'shop-worker-two'])
  assert.equal(specOf(project, 'shop-web-app').volumes, [{ name: 'app-data', path: '/data', readOnly: false }])
  assert.equal(problemsOf('services:\n  web_1:\n    image: x\n  web-1:\n    image: x\n'), ['services.web-1: becomes shop-web-1 in minga, as services.web_1 does; rename one of them'])
})

test('a volume used but not declared is refused, as Compose refuses it', () => {
  assert.equal(problemsOf(svc('volumes: ["data:/data"]')), ['services.app.volumes[0]: uses the volume "data", which the top-level volumes: does not declare; add data: under volumes:'])
})

test('command and entrypoint: a string is split into words as Compose splits it, not run by sh -c; entrypoint replaces the image\'s', () => {
  const s = specOf(translate(svc('entrypoint: uname\ncommand: -m -o')), 'shop-app')
  assert.equal([s.entrypoint, s.command], [['uname'], ['-m', '-o']])
  const quoted = specOf(translate(svc('command: echo "two words" \'and $$literal\' a\\ b')), 'shop-app')
  assert.equal(quoted.command, ['echo', 'two words', 'and $literal', 'a b'])
  const listed = specOf(translate(svc('entrypoint: ["/bin/sh", "-c"]\ncommand: ["echo hi && sleep 1"]')), 'shop-app')
  assert.equal([listed.entrypoint, listed.command], [['/bin/sh', '-c'], ['echo hi && sleep 1']])
  assert.equal(specOf(translate(svc('entrypoint: ""')), 'shop-app').entrypoint, [], 'an empty entrypoint resets the image\'s')
  assert.equal(problemsOf(svc('command: echo a && echo b')), ['services.app.command: "echo a && echo b" uses the shell operator "&", but no shell runs it; quote it, or write the command as ["sh", "-c", "…"]'])
  assert.match(problemsOf(svc('entrypoint: "run \'unclosed"'))[0], 'services.app.entrypoint: "run \'unclosed" has an unclosed \' quote')
})

test('placement: node label constraints with == and != become minga constraints; what minga cannot honour is refused, never dropped', () => {
  const s = specOf(translate(svc('deploy:\n  placement:\n    constraints:\n      - node.labels.disk == ssd\n      - "node.labels.zone!=east"\n      - node.labels.zone != "west"')), 'shop-app')
  assert.equal(s.constraints, { disk: 'ssd' })
  assert.equal(s.excludedLabels, { zone: ['east', 'west'] })
  const refused = problemsOf(svc('deploy:\n  placement:\n    constraints: ["node.role == manager", "node.hostname == a1"]\n    max_replicas_per_node: 1\n    preferences: [{ spread: node.labels.zone }]'))
  assert.equal(refused.length, 4)
  const role = refused.find(p => p.startsWith('services.app.deploy.placement.constraints[0]')) ?? ''
  assert.match(role, 'services.app.deploy.placement.constraints[0]: "node.role == manager": minga places by node labels only')
  assert.match(role, 'node.role is not known to minga: give the nodes a label (minga up --label KEY=VALUE)')
  assert.match(refused.join('\n'), 'deploy.placement.max_replicas_per_node: minga spreads replicas')
  assert.match(refused.join('\n'), 'deploy.placement.preferences:')
  // a label minga cannot hold is named at the Compose field
  assert.match(problemsOf(svc('deploy:\n  placement:\n    constraints: ["node.labels.Disk == ssd"]'))[0], 'services.app.deploy.placement.constraints.Disk: invalid label')
})

test('ports: host_ip and IP:HOST:CONTAINER bind that address only; equal ranges are expanded; other ranges are refused with a message, never NaN', () => {
  const s = specOf(translate(svc(`ports:
  - "127.0.0.1:8080:80"
  - "[::1]:8443:443/tcp"
  - target: 53
    published: "5353"
    host_ip: 10.0.0.5
    protocol: udp
  - "9000-9002:9000-9002"
  - 7000:7000`)), 'shop-app')
  assert.equal(s.ports, [
    { container: 80, host: 8080, hostIp: '127.0.0.1', protocol: 'tcp' },
    { container: 443, host: 8443, hostIp: '::1', protocol: 'tcp' },
    { container: 53, host: 5353, hostIp: '10.0.0.5', protocol: 'udp' },
    { container: 9000, host: 9000, protocol: 'tcp' }, { container: 9001, host: 9001, protocol: 'tcp' }, { container: 9002, host: 9002, protocol: 'tcp' },
    { container: 7000, host: 7000, protocol: 'tcp' }
  ])
  for (const port of ['"5001-5010:5000"', '{ target: 8000, published: "8000-8010" }']) {
    const problems = problemsOf(svc(`ports: [${port}]`))
    assert.is(problems.length, 1, port)
    assert.match(problems[0], 'services.app.ports[0]:')
    assert.match(problems[0], 'ranges are not supported')
    assert.not.match(problems[0], 'NaN')
  }
  assert.match(problemsOf(svc('ports: ["80:80/sctp"]'))[0], 'protocol "sctp" is not supported')
  assert.match(problemsOf(svc('ports: ["99999:80"]'))[0], 'services.app.ports[0]: "99999:80": ports are whole numbers from 1 to 65535')
  const random = translate(svc('ports: ["3000"]'))
  assert.equal(specOf(random, 'shop-app').ports, [{ container: 3000, protocol: 'tcp' }])
  assert.ok(random.warnings.some(w => w.startsWith('services.app.ports[0]: "3000": Docker would publish this on a random host port; minga publishes only fixed host ports') && w.endsWith('other services reach it by name')))
})

test('ports: published through the routing mesh unless mode: host; expose adds ports reached by name only, each once', () => {
  const s = specOf(translate(svc(`ports:
  - "8080:80"
  - { target: 443, published: 8443, mode: host }
  - { target: 9000, published: 9000, mode: ingress }
  - "53:53/udp"
expose: [80, "5432", "6000-6001", "53/udp", 7000/udp]`)), 'shop-app')
  assert.equal(s.ports, [
    { container: 80, host: 8080, protocol: 'tcp' },
    { container: 443, host: 8443, protocol: 'tcp', mode: 'host' },
    { container: 9000, host: 9000, protocol: 'tcp' },
    { container: 53, host: 53, protocol: 'udp' },
    { container: 5432, protocol: 'tcp' }, { container: 6000, protocol: 'tcp' }, { container: 6001, protocol: 'tcp' },
    { container: 7000, protocol: 'udp' }
  ])
  assert.match(problemsOf(svc('ports: [{ target: 80, published: 80, mode: global }]'))[0], 'services.app.ports[0].mode: "global" is not a mode: write ingress')
  assert.match(problemsOf(svc('expose: [http]'))[0], 'services.app.expose[0]: "http" is not a container port')
  assert.match(problemsOf(svc('expose: "80"'))[0], 'services.app.expose: must be a list of container ports')
  // an update may start the new copy first only when no port is bound by the container on its node
  const update = 'deploy: { replicas: 2, update_config: { order: start-first } }'
  assert.ok(translate(svc(`ports: ["8080:80"]\n${update}`)).warnings.every(w => !w.includes('start-first cannot')))
  assert.ok(translate(svc(`ports: [{ target: 80, published: 8080, mode: host }]\n${update}`)).warnings.some(w => w.includes('start-first cannot')))
})

test('volumes: anonymous volumes and tmpfs are what they are, never host paths or a volume named undefined', () => {
  const s = specOf(translate(svc(`volumes:
  - /var/lib/postgresql/data
  - /cache:ro
  - type: volume
    target: /data
  - type: tmpfs
    target: /scratch
    tmpfs: { size: 64m, mode: 1777 }
  - named:/named
tmpfs: ["/run", "/tmp:size=16m,mode=1770"]`, 'volumes:\n  named: {}\n')), 'shop-app')
  assert.equal(s.volumes, [
    { path: '/var/lib/postgresql/data', readOnly: false }, { path: '/cache', readOnly: true }, { path: '/data', readOnly: false }, { name: 'named', path: '/named', readOnly: false }
  ])
  assert.equal(s.tmpfs, [{ path: '/scratch', size: 64 * 1024 * 1024, mode: 0o1777 }, { path: '/run' }, { path: '/tmp', size: 16 * 1024 * 1024, mode: 0o1770 }])
  assert.not.match(JSON.stringify(s), 'undefined')
  assert.match(problemsOf(svc('volumes: ["/data", "/data"]'))[0], 'services.app.volumes[1].path: /data is mounted twice (first at volumes[0])')
  assert.equal(problemsOf(svc('volumes: ["${MEDIA_PATH}:/media"]')), ['services.app.volumes[0]: ":/media" has an empty source; is a variable in it unset?'])
})

test('bind mounts of project files and folders become config files carried with the service; the content goes into its chunks', () => {
  const dir = projectDir({ 'prometheus/prometheus.yml': 'global: {}\n', 'prometheus/rules/a.yml': 'groups: []\n', 'nginx.conf': 'events {}\n' })
  const project = translate(svc('volumes:\n  - ./prometheus:/etc/prometheus\n  - ./nginx.conf:/etc/nginx/nginx.conf:ro'), { dir })
  const s = specOf(project, 'shop-app')
  assert.equal(s.configs?.map(c => [c.path, c.size]), [['/etc/prometheus/prometheus.yml', 11], ['/etc/prometheus/rules/a.yml', 11], ['/etc/nginx/nginx.conf', 10]])
  assert.equal(s.volumes, [])
  const chunks = project.configs.find(c => c.service === 'shop-app')!.chunks.map(c => c.toString())
  assert.equal(chunks.sort(), ['events {}\n', 'global: {}\n', 'groups: []\n'])
  // a writable bind says what becomes of writes; a read-only one does not
  assert.equal(project.warnings.filter(w => w.includes('is copied into the container')).length, 1)
  assert.match(project.warnings.find(w => w.includes('is copied'))!, 'services.app.volumes[0]: ./prometheus is copied into the container when it starts')
})

test('host paths outside the project folder are refused with what to do; so is a link out of it, and too much content', () => {
  const dir = projectDir({ 'big/blob': Buffer.alloc(1024 * 1024 + 1) })
  symlinkSync('/etc', join(dir, 'etc-link'))
  const problems = problemsOf(svc(`volumes:
  - /var/run/docker.sock:/var/run/docker.sock
  - /:/host:ro
  - ~/data:/data
  - ../elsewhere:/x
  - ./etc-link:/y
  - ./big:/big
  - ./missing:/var/lib/data`), { dir })
  assert.is(problems.length, 7, problems.join('\n'))
  for (let i = 0; i < 4; i++) assert.match(problems[i], `services.app.volumes[${i}]: mounts`)
  assert.match(problems[0], 'minga runs the service on any node and never mounts a host path')
  assert.match(problems[4], 'is outside the project folder')
  assert.match(problems[5], 'holds more than 1048576 bytes')
  assert.match(problems[6], 'does not exist in the project folder')
  assert.match(problems[6], 'write NAME:/var/lib/data and declare NAME under volumes:')
})

test('a service whose many files would not fit its entry is refused, naming it', () => {
  const files: Record<string, string> = {}
  for (let i = 0; i < 100; i++) files[`conf/${'d'.repeat(250)}/${'e'.repeat(250)}/file-${i}.conf`] = `${i}\n`
  const problems = problemsOf(svc('volumes: ["./conf:/etc/app"]'), { dir: projectDir(files) })
  assert.equal(problems.length, 1)
  assert.match(problems[0], /^services\.app: the service comes to \d+ bytes as minga stores it \(at most 57344\); mount fewer files/)
})

test('configs: from a file, inline content or a variable, at the target with the mode; secrets become minga secrets in /run/secrets', () => {
  const dir = projectDir({ 'app.conf': 'mode=fast\n', 'db/password.txt': 'hunter2' })
  const project = translate(`
services:
  app:
    image: busybox:1
    user: "1000:1000"
    configs:
      - app_conf
      - source: inline
        target: /etc/inline.txt
        mode: 0440
        uid: "1000"
    secrets:
      - db_password
      - source: api_token
        target: token
        mode: 0400
configs:
  app_conf:
    file: ./app.conf
  inline:
    content: "name=\${NAME:-shop}"
secrets:
  db_password:
    file: db/password.txt
  api_token:
    environment: API_TOKEN
`, { dir, env: { API_TOKEN: 't0k3n' } })
  const s = specOf(project, 'shop-app')
  assert.is(s.user, '1000:1000')
  assert.equal(s.configs?.map(c => [c.path, c.mode, c.uid]), [['/app_conf', 0o444, undefined], ['/etc/inline.txt', 0o440, 1000]])
  assert.equal(project.configs[0].chunks.map(c => c.toString()).sort(), ['mode=fast\n', 'name=shop'])
  assert.equal(s.secretFiles, [
    { secret: 'db_password', path: '/run/secrets/db_password', mode: 0o444 },
    { secret: 'api_token', path: '/run/secrets/token', mode: 0o400 }
  ])
  assert.equal(project.secrets.map(x => [x.service, x.name, x.value.toString()]), [['shop-app', 'db_password', 'hunter2'], ['shop-app', 'api_token', 't0k3n']])
  assert.not.match(JSON.stringify(project.specs), 'hunter2')
  const missing = problemsOf('services:\n  a:\n    image: x\n    secrets: [s, nope]\nsecrets:\n  s:\n    environment: NOT_SET\n  e:\n    external: true\n', { dir })
  assert.equal(missing, [
    'secrets.s: environment: the variable NOT_SET is not set; set it in the environment, in .env beside the Compose file, or with --env-file',
    'services.a.secrets[1]: uses the secret "nope", which the top-level secrets: does not declare'
  ])
})

test('update_config as Swarm means it: parallelism 0 is all at once, above the replicas is all of them; a port-publishing service is accepted', () => {
  const update = (config: string, replicas = 4, ports = 'ports: ["80:80"]\n'): number => specOf(translate(svc(`${ports}deploy:\n  replicas: ${replicas}\n  update_config: ${config}`)), 'shop-app').update.maxUnavailable
  assert.is(update('{ parallelism: 0 }'), 4)
  assert.is(update('{ parallelism: 9 }'), 4)
  assert.is(update('{ parallelism: 9 }', 1), 1)
  assert.is(update('{ parallelism: 2 }'), 2)
  assert.is(update('{ parallelism: 0 }', 0), 1)
  assert.is(update('{ order: start-first }', 3, ''), 0, 'start-first starts the new copy beside the old one')
  assert.is(update('{ order: start-first }', 3), 0, 'a port of the routing mesh binds nothing per replica')
  const ported = translate(svc('ports: [{ target: 80, published: 80, mode: host }]\ndeploy:\n  replicas: 2\n  update_config: { order: start-first, delay: 10s }'))
  assert.is(specOf(ported, 'shop-app').update.maxUnavailable, 1)
  assert.ok(ported.warnings.some(w => w.startsWith('services.app.deploy.update_config.order: start-first cannot start a new copy beside the old one')))
  assert.ok(ported.warnings.some(w => w.startsWith('services.app.deploy.update_config.delay: ignored')))
  assert.equal(problemsOf(svc('deploy:\n  update_config: { parallelism: two }')), ['services.app.deploy.update_config.parallelism: must be a whole number of replicas updated at once, 0 for all at once (got "two")'])
})

test('errors name the Compose field the user wrote, not minga\'s', () => {
  const problems = problemsOf(svc(`deploy:
  replicas: 2000
  resources:
    limits: { cpus: lots, memory: 1PB }
    reservations: { memory: 2g }
healthcheck:
  test: ["CMD", "true"]
  interval: soon
  start_period: later
environment:
  9LIVES: x
user: "not a user"`))
  assert.equal(problems.sort(), [
    'services.app.deploy.replicas: must be a whole number from 0 to 1000 (got 2000)',
    'services.app.deploy.resources.limits.cpus: must be cores like 0.5 or 2, or millicores like 500m, from 1m to 256 cores (got "lots")',
    'services.app.deploy.resources.limits.memory: must be bytes or a size like 64Mi, 1Gi, 512M or 1G, from 4Mi to 1Ti (got "1P")',
    'services.app.environment.9LIVES: invalid name (must be a variable name: letters, digits, _ . and -, not starting with a digit, at most 128 characters)',
    'services.app.healthcheck.interval: must be a duration like 5s, 90s or 10m, from 1s to 1h (got "soon")',
    'services.app.healthcheck.start_period: must be a duration like 500ms, 90s or 10m, at most 1h (got "later")',
    'services.app.user: must be a user, or user:group, by name or number, like 1000, 1000:1000 or postgres (got "not a user")'
  ].sort())
})

test('healthcheck defaults are Compose\'s (30 s, 30 s, 3) when only test is given; NONE and disable turn it off', () => {
  const s = specOf(translate(svc('healthcheck:\n  test: wget -q -O- http://127.0.0.1/')), 'shop-app')
  assert.equal(s.health, { cmd: ['sh', '-c', 'wget -q -O- http://127.0.0.1/'], interval: 30_000, timeout: 30_000, retries: 3, startPeriod: 0 })
  assert.is(specOf(translate(svc('healthcheck:\n  test: ["NONE"]')), 'shop-app').health, undefined)
  assert.is(specOf(translate(svc('healthcheck:\n  test: ["CMD", "true"]\n  disable: true')), 'shop-app').health, undefined)
})

test('reservations are what the scheduler reserves; limits stay limits', () => {
  const s = specOf(translate(svc('deploy:\n  resources:\n    limits: { cpus: "2", memory: 1g }\n    reservations: { cpus: "0.25", memory: 256M }')), 'shop-app')
  assert.equal(s.resources, { cpu: 2000, memory: 1024 ** 3 })
  assert.equal(s.reservations, { cpu: 250, memory: 256 * 1024 ** 2 })
  const legacy = specOf(translate(svc('cpus: 0.5\nmem_limit: 512m\nmem_reservation: 128m')), 'shop-app')
  assert.equal([legacy.resources, legacy.reservations], [{ cpu: 500, memory: 512 * 1024 ** 2 }, { memory: 128 * 1024 ** 2 }])
  const only = translate(svc('deploy:\n  resources:\n    reservations: { memory: 1g }'))
  assert.equal(specOf(only, 'shop-app').reservations, { memory: 1024 ** 3 })
  assert.is(specOf(only, 'shop-app').resources.memory, 1024 ** 3, 'a limit at least as large as the reservation')
})

test('a Compose file is a project: services and volumes live under its name, so two projects\' db never meet', () => {
  const db = 'services:\n  db:\n    image: postgres:16\n    volumes: [db_data:/var/lib/postgresql/data]\nvolumes:\n  db_data:\n'
  const cloud = translate(db, { dir: projectDir({}, 'nextcloud') })
  const blog = translate(db, { dir: projectDir({}, 'wordpress') })
  assert.equal([cloud.name, cloud.specs[0].name, cloud.specs[0].project], ['nextcloud', 'nextcloud-db', 'nextcloud'])
  assert.equal([blog.name, blog.specs[0].name], ['wordpress', 'wordpress-db'])
  assert.is(translate(db, { project: 'My_Shop' }).specs[0].name, 'my-shop-db', '-p is normalized as Compose does')
  assert.is(translate(`name: store\n${db}`).specs[0].name, 'store-db', 'the file\'s name: names it')
  assert.is(translate(`name: store\n${db}`, { project: 'cli' }).specs[0].name, 'cli-db', '-p wins over name:')
  assert.match(problemsOf(db, { project: '___' })[0], 'the project has no name minga can use: give one with -p NAME')
  assert.match(problemsOf(db, { project: 'p'.repeat(62) })[0], 'services.db: becomes "' + 'p'.repeat(62) + '-db" in minga (project-service), more than 63 characters; choose a shorter project name with -p NAME')
})

test('build: is built before the deploy: context relative to the file, dockerfile, args; the image: names the tag, else <org>/<service>:latest', () => {
  const dir = projectDir({}, 'shop')
  const short = translate('services:\n  app:\n    build: ./src\n', { dir })
  assert.equal(short.builds, [{ service: 'shop-app', source: join(realpathSync(dir), 'src'), tag: 'acme/shop-app:latest' }])
  assert.is(short.specs[0].image, 'acme/shop-app:latest')
  const full = translate('services:\n  app:\n    image: acme/app:2\n    build:\n      context: ..\n      dockerfile: app/Dockerfile\n      args: { NODE_VERSION: 22, EMPTY: "" }\n      cache_from: [acme/app:1]\n', { dir })
  assert.equal(full.builds, [{ service: 'shop-app', source: dirname(realpathSync(dir)), file: 'app/Dockerfile', args: { NODE_VERSION: '22', EMPTY: '' }, tag: 'acme/app:2' }])
  assert.ok(full.warnings.some(w => w.startsWith('services.app.build.cache_from: ignored')))
  const listed = translate('services:\n  app:\n    build: { context: "https://git.example.org/acme/app.git", args: ["A=1", "FROM_ENV"] }\n', { dir, env: { FROM_ENV: 'x' } })
  assert.equal(listed.builds[0].source, 'https://git.example.org/acme/app.git')
  assert.equal(listed.builds[0].args, { A: '1', FROM_ENV: 'x' })
  assert.equal(problemsOf('services:\n  app:\n    build: { context: ., network: host, ssh: [default] }\n'), [
    'services.app.build.network: not supported by minga\'s builds (context, dockerfile, args and target are); remove it, or build the image yourself and name it in image:',
    'services.app.build.ssh: not supported by minga\'s builds (context, dockerfile, args and target are); remove it, or build the image yourself and name it in image:'
  ])
  assert.equal(problemsOf('services:\n  app:\n    build: [.]\n'), ['services.app.build: must be a context folder (build: .) or a mapping with context, dockerfile, args and target'])
  assert.equal(problemsOf('services:\n  app:\n    build: { args: { "1BAD": x } }\n'), ['services.app.build.args.1BAD: a build argument\'s name is letters, digits and _'])
  assert.throws(() => parseComposeFile('services:\n  app:\n    build: .\n', { org: 'acme', project: 'p' }), (err: any) => err.problems[0] === 'services.app.build.context: a relative context needs the Compose file\'s folder: deploy it with minga deploy -f FILE')
})

test('warnings are true: depends_on and networks say that the services reach each other by name; expose lists ports reached by name', () => {
  const project = translate(`
services:
  web:
    image: nginx:1.27
    depends_on: { db: { condition: service_healthy } }
    networks: [front]
  db:
    image: postgres:16
    expose: [5432]
    restart: "no"
networks:
  front: {}
`)
  const about = (field: string): string => project.warnings.find(w => w.startsWith(field)) ?? ''
  assert.match(about('services.web.depends_on'), 'does not wait for db')
  for (const field of ['services.web.depends_on', 'services.web.networks', 'networks']) {
    assert.match(about(field), 'reaches the others by their Compose names', field)
    assert.not.match(about(field), 'cannot reach', field)
  }
  assert.is(about('services.db.expose'), '')
  assert.equal(specOf(project, 'shop-db').ports, [{ container: 5432, protocol: 'tcp' }])
  assert.match(about('services.db.restart'), 'restarts every replica that exits')
  assert.match(about('services.db.restart'), '(no would not)')
})

test('services of a profile are not deployed, as docker compose up without --profile does not', () => {
  const project = translate('services:\n  web:\n    image: nginx:1.27\n  debug:\n    image: busybox:1\n    profiles: [debug]\n')
  assert.equal(project.specs.map(s => s.name), ['shop-web'])
  assert.ok(project.warnings.some(w => w.startsWith('services.debug: not deployed: it belongs to profiles debug')))
})

test('env_file is read from the project folder, environment: overrides it, a bare name comes from the environment', () => {
  const dir = projectDir({ 'web.env': 'A=from-file\nB=from-file\n' })
  const s = specOf(translate(svc('env_file: [web.env, { path: optional.env, required: false }]\nenvironment:\n  B: override\n  C:\n  D: \nenvironment_note: x').replace('    environment_note: x\n', ''), { dir, env: { C: 'inherited' } }), 'shop-app')
  assert.equal(s.env, { A: 'from-file', B: 'override', C: 'inherited' })
  assert.match(problemsOf(svc('env_file: missing.env'), { dir })[0], 'services.app.env_file: missing.env: "missing.env" does not exist in the project folder')
})

test('what minga cannot honour is an error that says what to do, listing every problem; unknown fields are named', () => {
  const problems = problemsOf(`services:
  app:
    build: .
    network_mode: host
    privileged: true
    cap_add: [NET_ADMIN]
    frobnicate: 1
    deploy: { mode: global }
volumes:
  v: { external: true }
include: [other.yaml]
`)
  assert.match(problems.join('\n'), 'include: not supported')
  assert.match(problems.join('\n'), 'volumes.v.external:')
  assert.match(problems.join('\n'), 'services.app.network_mode: minga decides container networking')
  assert.match(problems.join('\n'), 'services.app.frobnicate: not supported by minga\'s Compose translation; remove it')
  assert.match(problems.join('\n'), 'services.app.deploy.mode: "global" is not supported')
})

test('garbage, bombs and huge files are refused clearly, in bounded time', () => {
  for (const text of ['', 'services: 3', '[1, 2]', 'services:\n  a: [1]\n', ': : :', 'a: 1\n---\nb: 2\n', 'services:\n  a:\n    image: x\n  a:\n    image: y\n']) {
    assert.throws(() => translate(text), (err: any) => err.name === 'InvalidSpecError', JSON.stringify(text))
  }
  const levels = Array.from({ length: 10 }, (_, i) => `x-l${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(', ')}]`)
  const lol = ['x-l0: &l0 "lol"', ...levels, 'services:\n  a:\n    image: x'].join('\n')
  const t0 = cpuMs()
  assert.match(problemsOf(lol)[0], 'aliases')
  assert.match(problemsOf('services:\n' + '  '.repeat(1) + 'a: ' + '['.repeat(5000) + ']'.repeat(5000))[0], 'nested')
  assert.match(problemsOf('services:\n  a:\n    image: x\n    environment:\n' + '      K: v\n'.repeat(60_000))[0], 'KiB')
  assert.ok(cpuMs() - t0 < 5000)
})

test.run()
