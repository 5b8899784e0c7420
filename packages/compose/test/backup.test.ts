/** Backups of Compose services' volumes: Co-op Cloud's backup-bot labels, minga's interval, singletons for one copy of data */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { problemsOf, specOf, translate } from './helpers.js'

test('backup-bot labels: hooks run in the container around each snapshot; a volume or a service can be left out', () => {
  const project = translate(`
services:
  db:
    image: postgres:16
    volumes: [db_data:/var/lib/postgresql/data, scratch:/scratch]
    deploy:
      labels:
        backupbot.backup: "true"
        backupbot.backup.pre-hook: "pg_dumpall -U postgres > /var/lib/postgresql/data/dump.sql"
        backupbot.backup.post-hook: "rm -f /var/lib/postgresql/data/dump.sql"
        backupbot.backup.volumes.scratch: "false"
        io.minga.backup.interval: 1m
  cache:
    image: redis:7
    volumes: [cache:/data]
    labels: [backupbot.backup=false]
volumes: { db_data: {}, scratch: {}, cache: {} }
`)
  const db = specOf(project, 'shop-db')
  assert.equal(db.volumes, [
    { name: 'db-data', path: '/var/lib/postgresql/data', readOnly: false, backup: { interval: 60_000, pre: [['sh', '-c', 'pg_dumpall -U postgres > /var/lib/postgresql/data/dump.sql']], post: [['sh', '-c', 'rm -f /var/lib/postgresql/data/dump.sql']] } },
    { name: 'scratch', path: '/scratch', readOnly: false, backup: { interval: 0 } }
  ])
  assert.is(db.singleton, true)
  const cache = specOf(project, 'shop-cache')
  assert.equal(cache.volumes, [{ name: 'cache', path: '/data', readOnly: false, backup: { interval: 0 } }])
  assert.is(cache.singleton, false, 'nothing backed up: no lineage to keep')
  assert.not.ok(project.warnings.some(w => /deploy.labels|\.labels: ignored/.test(w)), project.warnings.join('\n'))
  assert.ok(project.warnings.some(w => /services.db.volumes: runs as a singleton/.test(w)), project.warnings.join('\n'))
})

test('a service with a named volume and one replica runs as a singleton; with more, each copy keeps its own', () => {
  const one = translate('services:\n  wiki:\n    image: gitea/gitea:1.22\n    volumes: [data:/data]\nvolumes: { data: {} }\n')
  assert.is(specOf(one, 'shop-wiki').singleton, true)
  assert.equal(specOf(one, 'shop-wiki').volumes, [{ name: 'data', path: '/data', readOnly: false }])
  const many = translate('services:\n  web:\n    image: nginx:1.27\n    volumes: [cache:/cache]\n    deploy: { replicas: 3 }\nvolumes: { cache: {} }\n')
  assert.is(specOf(many, 'shop-web').singleton, false)
  const anonymous = translate('services:\n  tmp:\n    image: busybox:1\n    volumes: [/scratch]\n')
  assert.is(specOf(anonymous, 'shop-tmp').singleton, false)
})

test('labels minga does not read are said to be ignored; a bad interval is refused at the label', () => {
  const project = translate('services:\n  db:\n    image: postgres:16\n    volumes: [d:/d]\n    deploy:\n      labels: { backupbot.backup.volumes.d.path: "sub", traefik.enable: "true" }\nvolumes: { d: {} }\n')
  assert.ok(project.warnings.some(w => /deploy.labels.backupbot.backup.volumes.d.path: ignored: minga snapshots whole volumes/.test(w)), project.warnings.join('\n'))
  const problems = problemsOf('services:\n  db:\n    image: postgres:16\n    volumes: [d:/d]\n    deploy:\n      labels: { io.minga.backup.interval: 5s }\nvolumes: { d: {} }\n')
  assert.match(problems.join('\n'), /services.db.deploy.labels.io.minga.backup.interval: must be a duration from 30s to 24h/)
})

test.run()
