#!/usr/bin/env node
// Fuzz throughput: hostile inputs per second through each decoder (wire messages, invite tokens,
// service spec files, entries merged into a state, Compose files), and the total. Inputs come from the same
// generators as the fuzz tests (protocol/test/fuzz-targets.ts, packages/compose/test/fuzz-target.ts),
// generated before the clock starts.
// A "crash" is any error other than the decoder's own refusal; there must be none.
// FUZZ_SECONDS (default 3) per decoder.
import fc from 'fast-check'
import { entryTarget, inviteTarget, specTarget, wireTarget } from '../protocol/dist/test/fuzz-targets.js'
import { composeTarget } from '../packages/compose/dist/test/fuzz-target.js'

const seconds = Number(process.env.FUZZ_SECONDS ?? 3)
const targets = [await wireTarget(), await inviteTarget(), await specTarget(), await entryTarget(), composeTarget()]
let total = 0
let totalCrashes = 0
for (const target of targets) {
  const inputs = fc.sample(target.inputs, { numRuns: 2000, seed: 42 })
  let tried = 0
  let refused = 0
  let crashes = 0
  let slowestMs = 0
  const deadline = performance.now() + seconds * 1000
  const started = performance.now()
  while (performance.now() < deadline) {
    for (let i = 0; i < inputs.length && performance.now() < deadline; i++) {
      const t0 = performance.now()
      try {
        await target.run(inputs[i])
      } catch (err) {
        if (target.refusals.includes(err?.name)) refused++
        else { crashes++; if (crashes <= 3) console.error(`${target.name}: ${err?.stack ?? err}`) }
      }
      const ms = performance.now() - t0
      if (ms > slowestMs) slowestMs = ms
      tried++
    }
  }
  const elapsed = (performance.now() - started) / 1000
  total += tried
  totalCrashes += crashes
  console.log(JSON.stringify({ name: 'fuzz', decoder: target.name, inputs: tried, perSecond: Math.round(tried / elapsed), refused, accepted: tried - refused - crashes, crashes, slowestMs: Math.round(slowestMs * 10) / 10 }))
}
console.log(JSON.stringify({ name: 'fuzz-total', decoders: targets.length, inputs: total, seconds: seconds * targets.length, crashes: totalCrashes }))
process.exit(totalCrashes === 0 ? 0 : 1)
