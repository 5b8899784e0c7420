/** Variable interpolation exactly as the Compose specification defines it, in every field */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { interpolate } from '../src/index.js'
import { interpolateTree } from '../src/interpolate.js'
import { problemsOf, specOf, translate } from './helpers.js'

const env: Record<string, string> = { SET: 'value', EMPTY: '', TAG: '2.0', FOO: 'foo' }
const lookup = (name: string): string | undefined => env[name]
const value = (text: string): string => interpolate(text, lookup).value

test('every form the specification lists', () => {
  const cases: Array<[string, string]> = [
    ['$SET', 'value'], ['${SET}', 'value'], ['a-$SET-b', 'a-value-b'], ['${SET}x', 'valuex'],
    ['${UNSET:-default}', 'default'], ['${EMPTY:-default}', 'default'], ['${SET:-default}', 'value'],
    ['${UNSET-default}', 'default'], ['${EMPTY-default}', ''], ['${SET-default}', 'value'],
    ['${SET:+alt}', 'alt'], ['${EMPTY:+alt}', ''], ['${UNSET:+alt}', ''],
    ['${SET+alt}', 'alt'], ['${EMPTY+alt}', 'alt'], ['${UNSET+alt}', ''],
    ['${SET:?must}', 'value'], ['${EMPTY?must}', ''],
    ['$$', '$'], ['$$SET', '$SET'], ['$${SET}', '${SET}'], ['cost: $$5', 'cost: $5'],
    ['$1', '$1'], ['a $ b', 'a $ b'], ['end$', 'end$'], ['$-x', '$-x'],
    ['${UNSET:-${FOO}}', 'foo'], ['${UNSET:-${ALSO_UNSET:-deep}}', 'deep'], ['${UNSET:-$FOO}', 'foo'], ['${UNSET:-a}b}', 'ab}'],
    ['${UNSET:-}', ''], ['${UNSET:-with spaces and : colons}', 'with spaces and : colons']
  ]
  for (const [text, expected] of cases) assert.is(value(text), expected, text)
})

test('an unset variable without a default is empty and reported; one with a default is not', () => {
  assert.equal(interpolate('$UNSET and ${ALSO}', lookup), { value: ' and ', unset: ['UNSET', 'ALSO'] })
  assert.equal(interpolate('${UNSET:-x} ${UNSET-y}', lookup).unset, [])
})

test('a required variable without a value is an error naming it; a default is only evaluated when used', () => {
  assert.throws(() => value('${UNSET:?set it in .env}'), /required variable UNSET is missing a value: set it in .env/)
  assert.throws(() => value('${EMPTY:?}'), /required variable EMPTY is missing a value$/)
  assert.throws(() => value('${UNSET?}'), /required variable UNSET/)
  // the operand of an operator that is not used is not evaluated: no error, no warning
  assert.is(value('${SET:-${UNSET:?never}}'), 'value')
  assert.equal(interpolate('${SET:-$NOPE}', lookup).unset, [])
  assert.throws(() => value('${UNSET:-${NOPE:?inner}}'), /required variable NOPE/)
})

test('shell features Compose does not have, and broken braces, are errors', () => {
  for (const text of ['${SET/a/b}', '${}', '${1X}', '${SET', '${SET:-unclosed', '${SET:=x}', '${ SET}']) {
    assert.throws(() => value(text), (err: Error) => err.name === 'InterpolationError', text)
  }
  const deep = '${A:-'.repeat(40) + 'x' + '}'.repeat(40)
  assert.throws(() => value(deep), /nests/)
})

test('interpolation applies in every field, keys excepted; a missing required variable names itself and nothing translates', () => {
  const text = `
services:
  web:
    image: "registry.example.org/app:\${TAG:-1.2}"
    command: ["serve", "--port", "\${PORT:-8080}"]
    ports: ["\${PORT:-8080}:80", "\${ADMIN_IP:-127.0.0.1}:9000:9000"]
    environment:
      GREETING: "hello $$USER"
      PASSWORD: \${DB_PW}
    deploy:
      replicas: \${REPLICAS:-2}
`
  const project = translate(text, { env: { DB_PW: 's3cret', TAG: '2.0' } })
  const web = specOf(project, 'shop-web')
  assert.is(web.image, 'registry.example.org/app:2.0')
  assert.equal(web.command, ['serve', '--port', '8080'])
  assert.equal(web.ports, [{ container: 80, host: 8080, protocol: 'tcp' }, { container: 9000, host: 9000, hostIp: '127.0.0.1', protocol: 'tcp' }])
  assert.equal(web.env, { GREETING: 'hello $USER', PASSWORD: 's3cret' })
  assert.is(web.replicas, 2)

  const problems = problemsOf('services:\n  db:\n    image: postgres:16\n    environment:\n      - POSTGRES_PASSWORD=${POSTGRES_PW:?give the database a password}\n')
  assert.equal(problems, ['services.db.environment[0]: required variable POSTGRES_PW is missing a value: give the database a password'])
})

test('mapping keys are never interpolated', () => {
  const problems: string[] = []
  const out = interpolateTree({ '${KEY}': '${SET}', list: ['$FOO', { $K: '$$' }] }, lookup, problems, new Set())
  assert.equal(out, { '${KEY}': 'value', list: ['foo', { $K: '$' }] })
  assert.equal(problems, [])
})

test('the literal text of an unset variable never reaches a container: it is empty, with a warning naming it', () => {
  const project = translate('services:\n  pg:\n    image: postgres:16\n    environment:\n      - POSTGRES_PASSWORD=${POSTGRES_PW}\n')
  assert.is(specOf(project, 'shop-pg').env.POSTGRES_PASSWORD, '')
  assert.ok(project.warnings.some(w => w.startsWith('the variable POSTGRES_PW is not set: it is read as an empty string')), project.warnings.join('\n'))
})

test.run()
