#!/usr/bin/env node
// Runs every benchmark in bench/ (or those whose file name contains an argument), one process each.
// Each prints one JSON object per line: {"name": ..., figures...}.
import { readdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('../bench/', import.meta.url))
const filters = process.argv.slice(2)
const files = readdirSync(dir).filter(f => f.endsWith('.mjs')).filter(f => filters.length === 0 || filters.some(x => f.includes(x))).sort()
let failed = 0
for (const file of files) {
  const run = spawnSync(process.execPath, ['--expose-gc', dir + file], { stdio: 'inherit' })
  if (run.status !== 0) {
    failed++
    console.error(JSON.stringify({ name: file, error: `exited with ${run.status ?? run.signal}` }))
  }
}
process.exit(failed === 0 ? 0 : 1)
