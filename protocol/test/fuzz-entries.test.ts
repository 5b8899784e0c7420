/** Fuzzing entries: garbage and mutated real entries are refused or held back, and the state never changes */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fuzz } from './fuzz-harness.js'
import { entryTarget } from './fuzz-targets.js'

test('no garbage or mutated entry changes the state, whatever it is', async () => {
  const target = await entryTarget()
  const report = await fuzz(target, { numRuns: 2000 })
  assert.is(report.runs, 2000)
  assert.is(target.state.digest(), target.digest)
  // well-formed forgeries reach the merge: refused (bad signature, unknown key…), held back, or known already
  assert.ok(target.merged.count > 500, `only ${target.merged.count} inputs reached the merge`)
  assert.ok(Object.keys(target.state.stats().rejected).length > 0)
})

test.run()
