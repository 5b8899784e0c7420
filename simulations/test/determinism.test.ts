import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runScenario } from '../src/index.js'
import { scenario } from './helpers.js'

test('one seed gives one run: the same event-log digest and figures twice', async () => {
  const s = await scenario('deploy-kill-10', { duration: 100_000, settle: 20_000 })
  const a = await runScenario(s)
  const b = await runScenario(s)
  assert.is(a.summary.digest, b.summary.digest)
  assert.equal(a.samples, b.samples)
  assert.equal(a.summary.convergenceMs, b.summary.convergenceMs)
  assert.ok(a.summary.traffic.requests > 1000, 'the run did something (membership probes alone are thousands of requests)')
})

test('another seed gives another run', async () => {
  const s = await scenario('deploy-kill-10', { duration: 100_000, settle: 20_000 })
  const a = await runScenario(s)
  const b = await runScenario({ ...s, seed: 2 })
  assert.is.not(a.summary.digest, b.summary.digest)
})

test.run()
