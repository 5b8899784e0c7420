/** Fuzzing service spec files: random text, YAML of any shape, edited real specs and alias bombs */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseServiceSpec } from '../src/index.js'
import { fuzz, heapGrowth } from './fuzz-harness.js'
import { specTarget } from './fuzz-targets.js'
import { cpuMs } from './fixtures.js'

test('every spec file parses or is refused with InvalidSpecError, each in bounded time', async () => {
  const report = await fuzz(await specTarget(), { numRuns: 1500 })
  assert.is(report.runs, 1500)
  assert.ok(report.refused > 0 && report.accepted > 0, `refused ${report.refused}, accepted ${report.accepted}`)
})

test('a huge file and a billion-laughs file are refused in bounded time and memory', async () => {
  const huge = 'name: x\nimage: y\nenv:\n' + '  K: v\n'.repeat(5_000_000)
  const grew = await heapGrowth(() => parseServiceSpec(huge, { org: 'acme' }))
  assert.ok(grew < 64 * 1024 * 1024, `heap grew ${grew} bytes`)
  assert.throws(() => parseServiceSpec(huge, { org: 'acme' }), (err: Error) => err.name === 'InvalidSpecError')
  const levels = Array.from({ length: 10 }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(', ')}]`)
  const lol = ['l0: &l0 "lol"', ...levels, 'name: x', 'image: y'].join('\n')
  const t0 = cpuMs()
  assert.throws(() => parseServiceSpec(lol, { org: 'acme' }), (err: Error) => err.name === 'InvalidSpecError')
  assert.ok(cpuMs() - t0 < 2000)
})

test.run()
