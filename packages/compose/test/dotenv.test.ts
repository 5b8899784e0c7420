/** .env files as Docker Compose reads them, and where minga deploy finds them */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { loadComposeProject, parseEnvFile } from '../src/index.js'
import { projectDir, specOf } from './helpers.js'
import { join } from 'node:path'

test('the syntax rules of Compose env files', () => {
  const text = [
    '# a comment',
    '',
    'PLAIN=value',
    'export EXPORTED=yes',
    'SPACED = around ',
    'COMMENTED=value # a comment',
    'NOT_COMMENT=value#kept',
    'DOUBLE="VAL # not a comment" # a comment',
    'ESCAPES="a\\tb\\nc \\"quoted\\" \\$HOME"',
    "SINGLE='$PLAIN ${PLAIN} \\'quoted\\''",
    'REF=${PLAIN}-$PLAIN',
    'DEFAULTED=${MISSING:-fallback}',
    'MULTI="line one',
    'line two"',
    'EMPTY=',
    'FROM_ENV'
  ].join('\n')
  const vars = parseEnvFile(text, (name) => name === 'FROM_ENV' ? 'inherited' : undefined)
  assert.equal(Object.fromEntries(vars), {
    PLAIN: 'value',
    EXPORTED: 'yes',
    SPACED: 'around',
    COMMENTED: 'value',
    NOT_COMMENT: 'value#kept',
    DOUBLE: 'VAL # not a comment',
    ESCAPES: 'a\tb\nc "quoted" $HOME',
    SINGLE: "$PLAIN ${PLAIN} 'quoted'",
    REF: 'value-value',
    DEFAULTED: 'fallback',
    MULTI: 'line one\nline two',
    EMPTY: '',
    FROM_ENV: 'inherited'
  })
})

test('a broken env file is an error naming its line', () => {
  assert.throws(() => parseEnvFile('OK=1\nBAD="unclosed\nMORE=2'), /line 2: the value of BAD has no closing "/)
  assert.throws(() => parseEnvFile('OK=1\n9LIVES=x'), /line 2: "9LIVES" is not a variable name/)
  assert.throws(() => parseEnvFile('A=${B:?needed}'), /line 1: required variable B is missing a value: needed/)
  assert.throws(() => parseEnvFile('A="x" junk'), /unexpected "junk"/)
})

const COMPOSE = 'services:\n  web:\n    image: "nginx:${TAG}"\n    environment:\n      - MODE=${MODE}\n'

test('.env beside the Compose file supplies variables; the environment of minga deploy wins over it', () => {
  const dir = projectDir({ 'compose.yaml': COMPOSE, '.env': 'TAG=1.27\nMODE=from-file\n' })
  const fromFile = loadComposeProject(join(dir, 'compose.yaml'), { org: 'acme', env: {} })
  assert.is(specOf(fromFile, 'shop-web').image, 'nginx:1.27')
  assert.equal(specOf(fromFile, 'shop-web').env, { MODE: 'from-file' })
  const shell = loadComposeProject(join(dir, 'compose.yaml'), { org: 'acme', env: { MODE: 'from-shell' } })
  assert.equal(specOf(shell, 'shop-web').env, { MODE: 'from-shell' })
})

test('--env-file replaces .env; several are read in order, later ones winning', () => {
  const dir = projectDir({ 'compose.yaml': COMPOSE, '.env': 'TAG=1.0\nMODE=dot-env\n', 'prod.env': 'TAG=1.27\nMODE=prod\n', 'extra.env': 'MODE=extra\n' })
  const project = loadComposeProject(join(dir, 'compose.yaml'), { org: 'acme', env: {}, envFiles: [join(dir, 'prod.env'), join(dir, 'extra.env')] })
  assert.is(specOf(project, 'shop-web').image, 'nginx:1.27')
  assert.equal(specOf(project, 'shop-web').env, { MODE: 'extra' })
})

test('COMPOSE_PROJECT_NAME in .env names the project, as in Docker Compose', () => {
  const dir = projectDir({ 'compose.yaml': COMPOSE, '.env': 'TAG=1\nCOMPOSE_PROJECT_NAME=my_store\n' })
  const project = loadComposeProject(join(dir, 'compose.yaml'), { org: 'acme', env: {} })
  assert.is(project.name, 'my-store')
  assert.equal(project.specs.map(s => s.name), ['my-store-web'])
})

test('a missing or broken env file is a clear error', () => {
  const dir = projectDir({ 'compose.yaml': COMPOSE, 'bad.env': 'X="open\n' })
  assert.throws(() => loadComposeProject(join(dir, 'compose.yaml'), { envFiles: [join(dir, 'nope.env')] }), /Cannot read the env file .*nope.env: no such file/)
  assert.throws(() => loadComposeProject(join(dir, 'compose.yaml'), { envFiles: [join(dir, 'bad.env')] }), /bad.env: line 1: the value of X has no closing "/)
  assert.throws(() => loadComposeProject(join(dir, 'missing.yaml')), /Cannot read the Compose file .*missing.yaml: no such file/)
})

test.run()
