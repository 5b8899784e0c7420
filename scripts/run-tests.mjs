#!/usr/bin/env node
// Runs every workspace's tests, two at a time: each workspace but `test` is one unit (its own
// `npm test`), and each file of the `test` workspace (the end-to-end and mesh tests, most of the
// time) is a unit of its own. Units run in MINGA_TEST_JOBS lanes (default 2); each lane has its own
// MINGA_DOCKER_ROOT, so the Docker engines its end-to-end tests start never collide with another
// lane's. A unit's output is printed whole when it ends; the run exits 1 if any unit failed.
// `node scripts/run-tests.mjs PATTERN...` runs only the units whose name contains a pattern.
import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { stripVTControlCharacters } from 'node:util'

const root = fileURLToPath(new URL('..', import.meta.url))
const jobs = Math.max(1, Number(process.env.MINGA_TEST_JOBS ?? 2) || 1)
const filters = process.argv.slice(2)
const uvu = join(root, 'node_modules', '.bin', 'uvu')

/** the workspaces of the root package.json, `packages/*` expanded, in their order */
function workspaces () {
  const patterns = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces
  return patterns.flatMap(p => p.endsWith('/*')
    ? readdirSync(join(root, p.slice(0, -2))).sort().map(d => `${p.slice(0, -2)}/${d}`)
    : [p])
}

/** the units to run: e2e files first (the longest), then the other workspaces, then the rest */
function units () {
  const all = []
  for (const ws of workspaces()) {
    const pkg = join(root, ws, 'package.json')
    if (!existsSync(pkg) || JSON.parse(readFileSync(pkg, 'utf8')).scripts?.test === undefined) continue
    if (ws !== 'test') {
      all.push({ name: ws, weight: ws === 'node' ? 2 : 1, cmd: 'npm', args: ['test', '--silent', '-w', ws], cwd: root })
      continue
    }
    const dir = join(root, 'test', 'dist', 'test')
    for (const file of readdirSync(dir).filter(f => /\.test\.js$/.test(f)).sort()) {
      const pattern = `^${file.replace(/\./g, '\\.')}$`
      all.push({ name: `test/${file}`, weight: file.startsWith('e2e-') || file === 'readme.test.js' ? 3 : 0, cmd: uvu, args: ['dist/test', pattern], cwd: join(root, 'test') })
    }
  }
  return all.filter(u => filters.length === 0 || filters.some(f => u.name.includes(f)))
    .sort((a, b) => b.weight - a.weight)
}

/** runs one unit in lane `lane`: resolves with its exit code, output and duration (ms) */
function run (unit, lane) {
  const env = { ...process.env }
  if (lane > 0) env.MINGA_DOCKER_ROOT = `${process.env.MINGA_DOCKER_ROOT ?? '/tmp/minga-docker'}-lane${lane}`
  const started = Date.now()
  return new Promise(resolve => {
    const child = spawn(unit.cmd, unit.args, { cwd: unit.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const chunks = []
    child.stdout.on('data', c => chunks.push(c))
    child.stderr.on('data', c => chunks.push(c))
    child.on('close', (code, signal) => resolve({ code: code ?? (signal !== null ? 1 : 0), output: Buffer.concat(chunks).toString(), ms: Date.now() - started }))
  })
}

/** lines of a failed unit's output repeated in the final summary: after each uvu FAIL, or its last ones */
const FAILED_LINES = 24

/** a failed unit's uvu FAIL blocks (colours stripped), or its last lines when it has none (a crash, a timeout) */
function whyFailed (output) {
  const lines = stripVTControlCharacters(output).split('\n')
  const blocks = lines.flatMap((line, i) => /^\s*FAIL\s/.test(line) ? [lines.slice(i, i + FAILED_LINES).join('\n')] : [])
  return blocks.length > 0 ? blocks.join('\n') : lines.slice(-FAILED_LINES * 2).join('\n')
}

const queue = units()
const results = []
async function lane (index) {
  for (let unit = queue.shift(); unit !== undefined; unit = queue.shift()) {
    const result = await run(unit, index)
    results.push({ name: unit.name, ...result })
    const verdict = result.code === 0 ? 'ok' : `FAILED (exit ${result.code})`
    process.stdout.write(`\n── ${unit.name}: ${verdict} in ${(result.ms / 1000).toFixed(1)} s (lane ${index})\n${result.output}`)
  }
}
const started = Date.now()
await Promise.all(Array.from({ length: jobs }, (_, i) => lane(i)))
const failed = results.filter(r => r.code !== 0)
// why each unit failed, once more at the very end, where a log cut to its tail still shows it
for (const r of failed) console.log(`\n── ${r.name} failed:\n${whyFailed(r.output)}`)
console.log(`\n── ${results.length} units in ${((Date.now() - started) / 1000).toFixed(0)} s over ${jobs} lanes; ${failed.length} failed${failed.length > 0 ? ': ' + failed.map(r => r.name).join(', ') : ''}`)
process.exit(failed.length === 0 ? 0 : 1)
