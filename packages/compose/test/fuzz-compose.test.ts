/** Fuzzing the Compose translator: every input translates or is refused with InvalidSpecError, each in bounded time and memory */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cpuMs, fuzz, heapGrowth } from '@minga/protocol/fuzz'
import { parseComposeFile } from '../src/index.js'
import { composeTarget } from './fuzz-target.js'

test('every Compose input translates or is refused with InvalidSpecError, each in bounded time', async () => {
  const report = await fuzz(composeTarget(), { numRuns: 1500 })
  assert.is(report.runs, 1500)
  assert.ok(report.refused > 0 && report.accepted > 0, `refused ${report.refused}, accepted ${report.accepted}: the generator must reach both`)
})

test('a huge file and deep interpolation are refused in bounded time and memory', async () => {
  const huge = 'services:\n  a:\n    image: x\n    environment:\n' + '      K: v\n'.repeat(5_000_000)
  const grew = await heapGrowth(() => parseComposeFile(huge, { org: 'acme', project: 'p' }))
  assert.ok(grew < 64 * 1024 * 1024, `heap grew ${grew} bytes`)
  assert.throws(() => parseComposeFile(huge, { org: 'acme', project: 'p' }), (err: Error) => err.name === 'InvalidSpecError')
  const nested = `services:\n  a:\n    image: "x:${'${A:-'.repeat(5000)}1${'}'.repeat(5000)}"\n`
  const t0 = cpuMs()
  assert.throws(() => parseComposeFile(nested, { org: 'acme', project: 'p' }), (err: any) => err.name === 'InvalidSpecError' && /nests/.test(err.message))
  assert.ok(cpuMs() - t0 < 2000)
})

test.run()
