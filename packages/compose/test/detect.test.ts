/** Compose is recognised by its content as well as by its file name */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isComposeFileName, looksLikeCompose } from '../src/index.js'

test('file names that mean Compose', () => {
  assert.ok(isComposeFileName('docker-compose.yml'))
  assert.ok(isComposeFileName('deploy/compose.prod.yaml'))
  assert.not.ok(isComposeFileName('web.yaml'))
  assert.not.ok(isComposeFileName('stack.yml'))
})

test('content that means Compose: Compose-only top-level or service fields (a stack.yml)', () => {
  assert.ok(looksLikeCompose('version: "3.8"\nservices:\n  web:\n    image: nginx\n'))
  assert.ok(looksLikeCompose('services:\n  web:\n    image: nginx\n    deploy:\n      replicas: 2\n'))
  assert.ok(looksLikeCompose('services:\n  web:\n    image: nginx\n    environment: [A=1]\n'))
  assert.ok(looksLikeCompose('x-common: &c {}\nservices:\n  web:\n    image: nginx\n'))
  assert.ok(looksLikeCompose('services:\n  db:\n    image: postgres\nvolumes:\n  data:\n'))
})

test('minga spec files, text that could be either, and garbage do not read as Compose', () => {
  assert.not.ok(looksLikeCompose('name: web\nimage: nginx:1.27\n'))
  assert.not.ok(looksLikeCompose('org: acme\nservices:\n  web:\n    image: nginx\n    replicas: 3\n'))
  assert.not.ok(looksLikeCompose('services:\n  web:\n    image: nginx\n    env: { A: "1" }\n'))
  assert.not.ok(looksLikeCompose('services:\n  web:\n    image: nginx\n    ports: ["80:80"]\n'))
  assert.not.ok(looksLikeCompose('- name: web\n  image: nginx\n'))
  assert.not.ok(looksLikeCompose(': : :'))
  assert.not.ok(looksLikeCompose(''))
})

test.run()
