/** Fuzzing the wire decoder: random bytes, typed garbage and mutated valid messages; then one huge message */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeMessage } from '../src/index.js'
import { fuzz, heapGrowth } from './fuzz-harness.js'
import { wireTarget } from './fuzz-targets.js'
import { cpuMs } from './fixtures.js'

test('every wire input is decoded to a clean message or refused with a wire error, each in bounded time', async () => {
  const report = await fuzz(await wireTarget(), { numRuns: 3000 })
  assert.is(report.runs, 3000)
  assert.ok(report.refused > 0 && report.accepted > 0, `refused ${report.refused}, accepted ${report.accepted}: the generator must reach both`)
})

test('a 64 MiB message is refused before it is read: no time, no memory', async () => {
  const huge = new Uint8Array(64 * 1024 * 1024).fill(0x5b)
  huge.set(new TextEncoder().encode('{"type":"entries","entries":'))
  const t0 = cpuMs()
  const grew = await heapGrowth(() => decodeMessage(huge))
  assert.ok(cpuMs() - t0 < 1000)
  assert.ok(grew < 8 * 1024 * 1024, `heap grew ${grew} bytes`)
  assert.throws(() => decodeMessage(huge), (err: Error) => err.name === 'MessageTooLargeError')
  // within the size limit but nested a million deep: refused before JSON.parse
  const deep = new TextEncoder().encode('{"type":"entries","entries":' + '['.repeat(900_000))
  assert.throws(() => decodeMessage(deep), (err: Error) => err.name === 'InvalidMessageError' && /nests/.test(err.message))
})

test.run()
