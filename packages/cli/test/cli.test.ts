import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { table, shortId, bytes, cpu } from '../src/index.js'

const bin = fileURLToPath(new URL('../../bin/minga.js', import.meta.url))
const minga = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000 })

test('every verb has help with an example', () => {
  for (const verb of ['init', 'invite', 'join', 'up', 'deploy', 'ls', 'ps', 'nodes', 'status', 'scale', 'rm', 'drain', 'uncordon']) {
    const run = minga(verb, '--help')
    assert.is(run.status, 0, verb)
    assert.match(run.stdout, /Example/, `${verb} help has an example`)
  }
})

test('bad arguments exit 2 with a message that says what to do', () => {
  const unknown = minga('frobnicate')
  assert.is(unknown.status, 2)
  assert.match(unknown.stderr, /unknown command/)
  const missing = minga('init')
  assert.is(missing.status, 2)
  assert.match(missing.stderr, /--org/)
  const announce = minga('up', '--runtime', 'memory', '--announce', 'home.example.org:7946')
  assert.is(announce.status, 2)
  assert.match(announce.stderr, /--announce home\.example\.org:7946: not a multiaddr; give the address other members dial .* e\.g\. \/dns4\/home\.example\.org\/tcp\/7946/)
  const door = minga('up', '--runtime', 'memory', '--announce-door', '/ip4/0.0.0.0/tcp/7947')
  assert.is(door.status, 2)
  assert.match(door.stderr, /--announce-door \/ip4\/0\.0\.0\.0\/tcp\/7947: 0\.0\.0\.0 is no address another server can dial; give the address joiners dial/)
})

test('init writes a data dir with private keys; a second init refuses and changes nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-cli-'))
  const first = minga('--data', dir, 'init', '--org', 'acme')
  assert.is(first.status, 0, first.stderr)
  assert.match(first.stdout, /Created mesh [0-9a-f]+ with organization acme/)
  assert.is((await stat(join(dir, 'node.key'))).mode & 0o777, 0o600)
  assert.is((await stat(join(dir, 'mesh.json'))).mode & 0o777, 0o600)
  const mesh = await readFile(join(dir, 'mesh.json'), 'utf8')
  const again = minga('--data', dir, 'init', '--org', 'other')
  assert.is(again.status, 2)
  assert.match(again.stderr, /already holds a mesh/)
  assert.is(await readFile(join(dir, 'mesh.json'), 'utf8'), mesh)
  const badOrg = minga('--data', join(dir, 'x'), 'init', '--org', 'Not A Name')
  assert.is(badOrg.status, 2)
  assert.match(badOrg.stderr, /not an organization name/)
  await rm(dir, { recursive: true, force: true })
})

test('a read verb without a running node exits 3 and says how to start one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-cli-'))
  const run = minga('--data', dir, 'status')
  assert.is(run.status, 3)
  assert.match(run.stderr, /No minga node is running .* start it with "minga up"/)
  await rm(dir, { recursive: true, force: true })
})

test('a damaged or garbage invite is refused with exit 2 and nothing is written', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-cli-'))
  for (const token of ['minga1AAAA', 'hello', 'x'.repeat(5000)]) {
    const run = minga('--data', dir, 'join', token)
    assert.is(run.status, 2, token.slice(0, 10))
    assert.match(run.stderr, /minga invite/)
  }
  const mesh = await stat(join(dir, 'mesh.json')).catch(() => undefined)
  assert.is(mesh, undefined)
  await rm(dir, { recursive: true, force: true })
})

test('deploy of a missing file is a usage error', async () => {
  const run = minga('--data', '/nonexistent', 'deploy', '-f', '/nonexistent/web.yaml')
  assert.is(run.status, 2)
  assert.match(run.stderr, /no such file/)
})

test('every duration flag reads one grammar (1h30m, 500ms), and its error gives examples that work', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-cli-'))
  // the duration is read before anything else: a good one gets as far as the missing file or the missing node
  const deploy = (timeout: string) => minga('--data', dir, 'deploy', '-f', join(dir, 'none.yaml'), '--wait', '--timeout', timeout)
  for (const good of ['1h30m', '90s', '2m', '1.5h', '2500ms']) {
    const run = deploy(good)
    assert.is(run.status, 2, `deploy --timeout ${good}`)
    assert.match(run.stderr, /no such file/, `deploy --timeout ${good}: ${run.stderr}`)
  }
  for (const [verb, flag, good] of [['drain', '--timeout', '1h30m'], ['invite', '--ttl', '1h30m']]) {
    const args = verb === 'drain' ? ['drain', 'abcdefgh'] : ['invite']
    assert.is(minga('--data', dir, ...args, flag, good).status, 3, `${verb} ${flag} ${good} reaches the (missing) node`)
    const bad = minga('--data', dir, ...args, flag, '90')
    assert.is(bad.status, 2, `${verb} ${flag} 90`)
    assert.match(bad.stderr, new RegExp(`${flag} must be a duration like`))
  }
  const bad = deploy('1 hour')
  assert.is(bad.status, 2)
  const examples = /like ([^,]+), ([^ ]+) or ([^,]+),/.exec(bad.stderr)
  assert.ok(examples !== null, bad.stderr)
  for (const example of examples.slice(1)) assert.match(deploy(example).stderr, /no such file/, `the example ${example} is valid`)
  await rm(dir, { recursive: true, force: true })
})

const FIXTURES = fileURLToPath(new URL('../../../compose/test/fixtures/', import.meta.url))

test('deploy --dry-run translates a Compose file and prints what would be declared, with no node running', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-cli-'))
  const run = minga('--data', join(dir, 'no-node'), 'deploy', '-f', join(FIXTURES, 'prometheus-grafana', 'compose.yaml'), '--dry-run')
  assert.is(run.status, 0, run.stderr)
  assert.match(run.stdout, '# Compose project prometheus-grafana: 2 service(s) would be declared (dry run: nothing was sent)')
  assert.match(run.stdout, '# file /etc/prometheus/prometheus.yml of prometheus-grafana-metrics')
  assert.match(run.stdout, 'prometheus-grafana-dashboards:')
  assert.match(run.stderr, 'warning: services.metrics.container_name: ignored')
  assert.match(run.stderr, 'note: no organization known here')
  const json = minga('--data', join(dir, 'no-node'), 'deploy', '-f', join(FIXTURES, 'postgres-pgadmin', 'compose.yaml'), '--dry-run', '--json', '--org', 'acme', '-p', 'pg')
  assert.is(json.status, 0, json.stderr)
  const plan = JSON.parse(json.stdout)
  assert.is(plan.project, 'pg')
  assert.equal(plan.services.map((s: any) => `${s.org}/${s.name}`), ['acme/pg-pg', 'acme/pg-admin'])
  assert.is(plan.services[0].env.POSTGRES_PASSWORD, 'p@ss word # not a comment', '.env beside the file is read')
  assert.ok(plan.warnings.length > 0)
  await rm(dir, { recursive: true, force: true })
})

test('deploy --dry-run: --env-file, a stack.yml recognised by content, a minga spec file; bad input exits 2 naming the Compose field', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-cli-'))
  // eslint-disable-next-line no-template-curly-in-string -- Compose interpolation
  await writeFile(join(dir, 'stack.yml'), 'version: "3.8"\nservices:\n  web:\n    image: "nginx:${TAG:?set TAG}"\n    deploy:\n      replicas: ${N:-2}\n')
  await writeFile(join(dir, 'prod.env'), 'TAG=1.27\n')
  const dry = (...args: string[]) => minga('--data', join(dir, 'no-node'), 'deploy', '--dry-run', '--json', '--org', 'acme', ...args)
  const stack = dry('-f', join(dir, 'stack.yml'), '--env-file', join(dir, 'prod.env'))
  assert.is(stack.status, 0, stack.stderr)
  const plan = JSON.parse(stack.stdout)
  assert.equal(plan.services.map((s: any) => [s.name, s.image, s.replicas]), [[`${basename(dir)}-web`.toLowerCase().replace(/[^a-z0-9-]/g, ''), 'nginx:1.27', 2]])
  const missing = dry('-f', join(dir, 'stack.yml'))
  assert.is(missing.status, 2)
  assert.match(missing.stderr, 'services.web.image: required variable TAG is missing a value: set TAG')
  await writeFile(join(dir, 'web.yaml'), 'name: web\nimage: nginx:1.27\nreplicas: 2\n')
  const spec = dry('-f', join(dir, 'web.yaml'))
  assert.is(spec.status, 0, spec.stderr)
  assert.equal(JSON.parse(spec.stdout).services.map((s: any) => s.name), ['web'])
  const notCompose = dry('-f', join(dir, 'web.yaml'), '-p', 'x')
  assert.is(notCompose.status, 2)
  assert.match(notCompose.stderr, '-p and --env-file apply to Docker Compose files')
  // a build: is listed to be built first; one with a field minga's builds do not take is refused at that field
  const build = dry('-f', join(FIXTURES, 'proxy-secrets', 'compose.yaml'))
  assert.is(build.status, 0, build.stderr)
  assert.equal(JSON.parse(build.stdout).builds.map((b: any) => [b.service, b.tag, b.source.endsWith('/proxy-secrets/app'), b.target]), [['proxy-secrets-app', 'acme/proxy-secrets-app:latest', true, 'builder']])
  await writeFile(join(dir, 'compose.yaml'), 'services:\n  app:\n    build: { context: ., ssh: [default] }\n')
  const unbuildable = dry('-f', join(dir, 'compose.yaml'))
  assert.is(unbuildable.status, 2)
  assert.match(unbuildable.stderr, 'services.app.build.ssh: not supported by minga\'s builds')
  await rm(dir, { recursive: true, force: true })
})

test('deploy and rm -p of a Compose file need a running node', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-cli-'))
  const deploy = minga('--data', dir, 'deploy', '-f', join(FIXTURES, 'minecraft', 'compose.yaml'))
  assert.is(deploy.status, 3, deploy.stderr)
  const rmProject = minga('--data', dir, 'rm', '-p', 'minecraft')
  assert.is(rmProject.status, 3)
  const both = minga('--data', dir, 'rm', 'web', '-p', 'minecraft')
  assert.is(both.status, 2)
  assert.match(both.stderr, 'not both')
  await rm(dir, { recursive: true, force: true })
})

test('output helpers', () => {
  assert.is(table(['A', 'BB'], [['xxx', 'y']]), 'A    BB\nxxx  y')
  assert.is(shortId('12D3KooWabcdefgh12345678'), '12345678')
  assert.is(bytes(64 * 1024 * 1024), '64Mi')
  assert.is(cpu(1500), '1500m')
  assert.is(cpu(2000), '2')
})

test.run()
