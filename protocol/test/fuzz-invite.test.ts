/** Fuzzing invite tokens: random text, random "minga1" bodies and edited real tokens never decode to anything else */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeInvite } from '../src/index.js'
import { fuzz, heapGrowth } from './fuzz-harness.js'
import { inviteTarget } from './fuzz-targets.js'

test('every token is the real invite or refused as damaged, forged or expired, each in bounded time', async () => {
  const report = await fuzz(await inviteTarget(), { numRuns: 3000 })
  assert.is(report.runs, 3000)
  assert.ok(report.refused > 2500)
})

test('a huge paste is refused unread', async () => {
  const huge = 'minga1' + 'A'.repeat(50 * 1024 * 1024)
  const grew = await heapGrowth(() => decodeInvite(huge, { now: Date.now() }))
  assert.ok(grew < 8 * 1024 * 1024, `heap grew ${grew} bytes`)
  assert.throws(() => decodeInvite(huge, { now: Date.now() }), (err: Error) => err.name === 'InvalidInviteError')
})

test.run()
