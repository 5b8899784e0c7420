/**
 * The sim benches' heap (bench/lib/sim-heap.mjs): a bench importing it re-runs itself with larger semi-spaces and
 * a larger old generation. V8's own old-generation limit here is ~4.3 GB, and 10,000 nodes hold more than that
 * within their first virtual seconds (sim-10000 then ran out of heap or collected back to back near the limit).
 * Semi-spaces grow with the nodes (10,000 nodes with 128 MB: the collector's share of the CPU grew 14-fold for 3.3
 * times the nodes of a 3,000-node run). Each case runs a two-line script that imports the module and prints the limits it runs with.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'

const MODULE = new URL('../../../bench/lib/sim-heap.mjs', import.meta.url).href
const MB = 2 ** 20

/** the old-generation limit and semi-space flag of a process started as a bench that imports sim-heap.mjs */
function limits (env: Record<string, string>, query = ''): { heapMb: number, semi: string | undefined } {
  const dir = mkdtempSync(join(tmpdir(), 'sim-heap-'))
  try {
    const script = join(dir, 'bench.mjs')
    writeFileSync(script, `import ${JSON.stringify(MODULE + query)}\nimport { getHeapStatistics } from 'node:v8'\n` +
      'console.log(JSON.stringify({ heapMb: getHeapStatistics().heap_size_limit / 2 ** 20, semi: process.execArgv.find(a => a.startsWith(\'--max-semi-space-size\')) }))\n')
    const base = { ...process.env }
    delete base.SIM_HEAP_MB
    delete base.SIM_SEMI_SPACE_MB
    const run = spawnSync(process.execPath, [script], { env: { ...base, ...env }, encoding: 'utf8' })
    assert.is(run.status, 0, run.stderr)
    return JSON.parse(run.stdout)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('a sim bench runs with the old generation SIM_HEAP_MB asks for', () => {
  const { heapMb, semi } = limits({ SIM_HEAP_MB: '6000', SIM_SEMI_SPACE_MB: '64' })
  assert.ok(heapMb >= 6000, `heap limit ${heapMb} MB`)
  assert.is(semi, '--max-semi-space-size=64')
})

test('by default the old generation is well beyond V8\'s own limit, and within this machine\'s memory', () => {
  const own = spawnSync(process.execPath, ['-e', 'console.log(require("node:v8").getHeapStatistics().heap_size_limit / 2 ** 20)'], { encoding: 'utf8' })
  const v8Default = Number(own.stdout)
  const { heapMb } = limits({})
  const expected = Math.min(16_384, Math.floor(totalmem() * 0.6 / MB))
  assert.ok(heapMb >= expected, `heap limit ${heapMb} MB, expected at least ${expected}`)
  if (expected > 1.5 * v8Default) assert.ok(heapMb > 1.5 * v8Default, `heap limit ${heapMb} MB against V8's ${v8Default}`)
  assert.ok(heapMb < totalmem() / MB, `heap limit ${heapMb} MB beyond the machine's ${totalmem() / MB}`)
})

test('semi-spaces of 128 MB per 1,000 nodes, from 128 to 1,024 MB: a scavenge\'s interval in virtual time stays about constant', () => {
  assert.is(limits({}).semi, '--max-semi-space-size=128')
  assert.is(limits({}, '?nodes=3000').semi, '--max-semi-space-size=384')
  assert.is(limits({}, '?nodes=10000').semi, '--max-semi-space-size=1024')
  assert.is(limits({ SIM_BENCH_NODES: '2000' }, '?nodes=10000').semi, '--max-semi-space-size=256')
  assert.is(limits({ SIM_SEMI_SPACE_MB: '64' }, '?nodes=10000').semi, '--max-semi-space-size=64')
})

test('0 keeps V8\'s defaults: no re-run', () => {
  const { heapMb, semi } = limits({ SIM_HEAP_MB: '0', SIM_SEMI_SPACE_MB: '0' })
  assert.is(semi, undefined)
  assert.ok(heapMb < 16_384)
})

test.run()
