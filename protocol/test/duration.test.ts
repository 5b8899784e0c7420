import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { durationExamples, durationRuleText, durationText, parseDuration, readDuration, type DurationRule } from '../src/index.js'

test('one grammar: units ms, s, m, h, d, combined, with fractions; a bare 0', () => {
  const cases: Array<[unknown, number]> = [
    ['5s', 5000], ['500ms', 500], ['1m', 60_000], ['1m30s', 90_000], ['1h30m', 5_400_000], ['1h', 3_600_000],
    ['1.5s', 1500], ['1.5h', 5_400_000], ['3d', 259_200_000], ['2d12h', 216_000_000], ['.5s', 500], ['1.1s', 1100],
    [0, 0], ['0', 0], ['0s', 0], ['24h', 86_400_000]
  ]
  for (const [given, ms] of cases) assert.is(parseDuration(given), ms, `duration ${String(given)}`)
  for (const bad of [5, 1.5, '5', 's', '5 s', ' 5s', '5s ', '-1s', '0.1ms', '', '1w', '5S', '1y', 'ms', null, undefined, [1], '1'.repeat(40) + 's']) {
    assert.ok(Number.isNaN(parseDuration(bad)), `duration ${String(bad)}`)
  }
})

test('a rule bounds the range and the resolution', () => {
  assert.ok(Number.isNaN(parseDuration('500ms', { step: 1000 })), 'whole seconds only')
  assert.is(parseDuration('90s', { step: 1000 }), 90_000)
  assert.is(parseDuration('0.2ms', { step: 0 }), 0.2, 'fractions where the field models sub-millisecond times')
  assert.ok(Number.isNaN(parseDuration('0.2ms')), 'whole milliseconds by default')
  assert.ok(Number.isNaN(parseDuration('500ms', { min: 1000 })))
  assert.ok(Number.isNaN(parseDuration('2d', { max: 86_400_000 })))
  assert.is(parseDuration('1d', { max: 86_400_000 }), 86_400_000)
})

test('readDuration names the field and the value, and every example it gives is valid for that field', () => {
  try {
    readDuration('1 hour', '--timeout', { min: 1000, max: 86_400_000 })
    assert.unreachable()
  } catch (err: any) {
    assert.is(err.name, 'InvalidDurationError')
    assert.is(err.message, '--timeout must be a duration like 5s, 10m or 24h, from 1s to 1d, not "1 hour"')
  }
  assert.is(readDuration('1h30m', '--timeout', { min: 1000 }), 5_400_000)
  assert.match(durationRuleText({ step: 1000, min: 60_000, max: 30 * 86_400_000 }), /like 90s, 24h or 30d, from 1m to 30d in whole seconds/)
  fc.assert(fc.property(
    fc.record({ min: fc.option(fc.integer({ min: 0, max: 40 * 86_400_000 }), { nil: undefined }), span: fc.integer({ min: 0, max: 400 * 86_400_000 }), step: fc.constantFrom(undefined, 0, 1, 1000) }),
    ({ min, span, step }) => {
      const rule: DurationRule = { min, max: (min ?? 0) + span, step }
      // only rules that some value satisfies
      fc.pre(step === undefined || step === 0 || Math.ceil((min ?? 0) / step) * step <= rule.max!)
      const examples = durationExamples(rule)
      assert.ok(examples.length >= 1)
      const message = durationRuleText(rule)
      for (const example of examples) {
        // an example outside the rule would be a lie
        if (Number.isNaN(parseDuration(example, rule))) throw new Error(`${message}: ${example} is not valid`)
      }
    }
  ), { numRuns: 500 })
})

test('durationText writes the grammar back, shortest form', () => {
  for (const [ms, text] of [[0, '0s'], [500, '500ms'], [90_000, '1m30s'], [5_400_000, '1h30m'], [86_400_000, '1d'], [1500, '1s500ms'], [0.2, '0.2ms']] as const) {
    assert.is(durationText(ms), text)
    assert.is(parseDuration(text, { step: 0 }), ms, `${text} reads back`)
  }
})

test.run()
