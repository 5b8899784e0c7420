/**
 * Compose files of the shapes people paste (our own files, shaped after the
 * public examples of docker/awesome-compose: Nextcloud+Postgres,
 * Gitea+Postgres, WordPress+MySQL, pgAdmin, Prometheus+Grafana,
 * Nextcloud+Redis+MariaDB, Elasticsearch+Logstash+Kibana, Minecraft, and a
 * built app behind a proxy with a secret): every one translates; a build:
 * is listed to be built before the deploy.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { loadComposeProject, type ComposeProject } from '../src/index.js'
import { specOf } from './helpers.js'

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url))
const load = (name: string, file = 'compose.yaml'): ComposeProject => loadComposeProject(join(FIXTURES, name, file), { org: 'acme', env: {} })

const PASSING = ['nextcloud-postgres', 'gitea-postgres', 'wordpress-mysql', 'postgres-pgadmin', 'prometheus-grafana', 'nextcloud-redis-mariadb', 'elk', 'minecraft']

test('each example translates into one minga service per Compose service, named within its project, no variable left as text', () => {
  for (const name of PASSING) {
    const project = load(name)
    assert.ok(project.specs.length >= 1, name)
    for (const spec of project.specs) {
      assert.ok(spec.name.startsWith(`${project.name}-`), `${spec.name} lives in project ${project.name}`)
      assert.is(spec.project, project.name)
    }
    assert.not.match(JSON.stringify(project.specs), '${', `${name}: no variable left as text`)
  }
})

test('nextcloud and wordpress deployed side by side: their services and volumes never meet', () => {
  const cloud = load('nextcloud-postgres')
  const blog = load('wordpress-mysql')
  const ids = [...cloud.specs, ...blog.specs].map(s => s.name)
  assert.is(new Set(ids).size, ids.length)
  assert.equal(specOf(cloud, 'nextcloud-postgres-database').volumes, [{ name: 'pg-files', path: '/var/lib/postgresql/data', readOnly: false }])
  assert.equal(specOf(blog, 'wordpress-mysql-mysql').command, ['--character-set-server=utf8mb4', '--collation-server=utf8mb4_unicode_ci'])
})

test('pgadmin: the credentials come from .env, quoted values and all', () => {
  const project = load('postgres-pgadmin')
  assert.equal(specOf(project, 'postgres-pgadmin-pg').env, { POSTGRES_USER: 'admin', POSTGRES_PASSWORD: 'p@ss word # not a comment', POSTGRES_DB: 'app' })
  assert.equal(specOf(project, 'postgres-pgadmin-admin').env, { PGADMIN_DEFAULT_EMAIL: 'admin@example.org', PGADMIN_DEFAULT_PASSWORD: '$ecret' })
  assert.equal(project.warnings.filter(w => w.includes('is not set')), [])
})

test('prometheus and grafana: their configuration folders travel with them as files', () => {
  const project = load('prometheus-grafana')
  assert.equal(specOf(project, 'prometheus-grafana-metrics').configs?.map(c => c.path), ['/etc/prometheus/prometheus.yml'])
  assert.equal(specOf(project, 'prometheus-grafana-dashboards').configs?.map(c => c.path), ['/etc/grafana/provisioning/datasources/datasource.yml'])
  assert.equal(specOf(project, 'prometheus-grafana-metrics').volumes, [{ name: 'metrics-data', path: '/prometheus', readOnly: false }])
  assert.match(project.configs.map(c => c.chunks.join('')).join(''), 'scrape_interval: 15s')
})

test('elk: dotted variable names, one port over tcp and udp, single files mounted, a command line', () => {
  const project = load('elk')
  assert.equal(specOf(project, 'elk-search').env, { 'discovery.type': 'single-node', 'xpack.security.enabled': 'false', ES_JAVA_OPTS: '-Xms512m -Xmx512m' })
  const pipeline = specOf(project, 'elk-pipeline')
  assert.equal(pipeline.ports.slice(0, 2), [{ container: 5000, host: 5001, protocol: 'tcp' }, { container: 5000, host: 5001, protocol: 'udp' }])
  assert.equal(pipeline.configs?.map(c => c.path), ['/usr/share/logstash/pipeline/nginx.conf', '/home/access.log'])
  assert.equal(pipeline.command, ['logstash', '-f', '/usr/share/logstash/pipeline/nginx.conf'])
  assert.equal(specOf(project, 'elk-search').health?.cmd, ['sh', '-c', 'curl --silent --fail localhost:9200/_cluster/health || exit 1'])
})

test('nextcloud with redis and mariadb: a command of several flags; networks are warned about truthfully', () => {
  const project = load('nextcloud-redis-mariadb')
  assert.equal(specOf(project, 'nextcloud-redis-mariadb-maria').command, ['--transaction-isolation=READ-COMMITTED', '--binlog-format=ROW'])
  assert.ok(project.warnings.some(w => w.startsWith('services.cloud.networks:') && w.includes('reaches the others by their Compose names')))
})

test('minecraft: a memory limit of 1.5G', () => {
  assert.is(specOf(load('minecraft'), 'minecraft-game').resources.memory, Math.round(1.5 * 1024 ** 3))
})

test('an app built from source is built before the deploy; without it, the secret and the proxy\'s file deploy', () => {
  const built = load('proxy-secrets')
  assert.equal(built.builds.map(b => [b.service, b.tag, b.source.endsWith('/proxy-secrets/app'), b.target]), [['proxy-secrets-app', 'acme/proxy-secrets-app:latest', true, 'builder']])
  assert.is(specOf(built, 'proxy-secrets-app').image, 'acme/proxy-secrets-app:latest')
  const dir = join(mkdtempSync(join(tmpdir(), 'minga-compose-')), 'proxy-secrets')
  cpSync(join(FIXTURES, 'proxy-secrets'), dir, { recursive: true })
  const text = readFileSync(join(dir, 'compose.yaml'), 'utf8')
  writeFileSync(join(dir, 'compose.yaml'), text.replace(/^ {2}app:\n[\s\S]*?(?=^ {2}db:$)/m, '').replace('      - app\n', '      - db\n'))
  const project = loadComposeProject(join(dir, 'compose.yaml'), { org: 'acme', env: {} })
  assert.equal(specOf(project, 'proxy-secrets-db').secretFiles, [{ secret: 'db-password', path: '/run/secrets/db-password', mode: 0o444 }])
  assert.equal(project.secrets.map(s => [s.service, s.name, s.value.toString()]), [['proxy-secrets-db', 'db-password', 'correct horse battery staple']])
  assert.equal(specOf(project, 'proxy-secrets-proxy').configs?.map(c => [c.path, c.mode]), [['/etc/nginx/conf.d/default.conf', 0o644]])
})

test.run()
