import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseComposeFile, isComposeFileName } from '../src/index.js'

const sample = `
services:
  web:
    image: nginx:1.27
    command: ["nginx", "-g", "daemon off;"]
    environment:
      MODE: production
    ports: ["8080:80"]
    depends_on: [db]
    deploy:
      replicas: 3
      resources: { limits: { cpus: "0.5", memory: 256m } }
      update_config: { parallelism: 2 }
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O- http://127.0.0.1/"]
      interval: 10s
      retries: 5
  db:
    image: postgres:16
    environment: ["POSTGRES_PASSWORD=example"]
    volumes: ["data:/var/lib/postgresql/data"]
volumes:
  data: {}
`

test('a Compose file becomes minga specs with units, health and volumes translated', () => {
  const { specs, warnings } = parseComposeFile(sample, { org: 'acme', source: 'compose.yaml' })
  const web = specs.find(s => s.name === 'web')!
  assert.is(web.org, 'acme')
  assert.is(web.replicas, 3)
  assert.equal(web.resources, { cpu: 500, memory: 256 * 1024 * 1024 })
  assert.equal(web.ports, [{ container: 80, host: 8080, protocol: 'tcp' }])
  assert.equal(web.update, { maxUnavailable: 2 })
  assert.equal(web.health?.cmd, ['sh', '-c', 'wget -q -O- http://127.0.0.1/'])
  assert.is(web.health?.interval, 10_000)
  const db = specs.find(s => s.name === 'db')!
  assert.equal(db.env, { POSTGRES_PASSWORD: 'example' })
  assert.equal(db.volumes, [{ name: 'data', path: '/var/lib/postgresql/data', readOnly: false }])
  assert.equal(warnings, ['services.web.depends_on: ignored (minga handles it its own way)'])
})

test('what minga cannot honour is an error that says what to do, listing every problem', () => {
  try {
    parseComposeFile(`services:
  app:
    build: .
    volumes: ["./src:/app"]
    privileged: true
    frobnicate: 1
`, { org: 'acme' })
    assert.unreachable()
  } catch (err: any) {
    assert.is(err.name, 'InvalidSpecError')
    assert.is(err.problems.length, 4)
    assert.match(err.message, /build and push the image/)
    assert.match(err.message, /use a named volume/)
    assert.match(err.message, /frobnicate: not supported/)
  }
})

test('garbage is refused clearly', () => {
  for (const text of ['', 'services: 3', '[1, 2]', 'services:\n  a: [1]\n', ': : :']) {
    assert.throws(() => parseComposeFile(text, { org: 'acme' }), (err: any) => err.name === 'InvalidSpecError')
  }
})

test('file names that mean Compose', () => {
  assert.ok(isComposeFileName('docker-compose.yml'))
  assert.ok(isComposeFileName('deploy/compose.prod.yaml'))
  assert.not.ok(isComposeFileName('web.yaml'))
})

test.run()
