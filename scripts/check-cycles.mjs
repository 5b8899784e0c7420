#!/usr/bin/env node
/**
 * No import cycles: reads every TypeScript source of the workspaces
 * (src/ only; tests may import anything), follows the relative imports and
 * the workspace packages' own subpaths (`@minga/node/core` → node/src/core/
 * index.ts), type-only imports included, and lists every strongly
 * connected component of more than one file (Tarjan's algorithm). Exits 1
 * when there is one. Dependency-free on purpose: madge wants TypeScript 5
 * as a peer and dependency-cruiser Node 22; this reads imports as text.
 *
 *   node scripts/check-cycles.mjs           # the whole repository
 *   node scripts/check-cycles.mjs node      # one workspace
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const WORKSPACES = ['protocol', 'scheduler', 'node', 'simulations', 'packages/cli', 'packages/compose', 'test']
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

/** `@minga/x/sub` → its source file, from the workspace's package.json exports */
function packageTargets () {
  const out = new Map()
  for (const ws of WORKSPACES) {
    const pkg = JSON.parse(readFileSync(join(ROOT, ws, 'package.json'), 'utf8'))
    for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
      const js = typeof target === 'string' ? target : target.import
      if (typeof js !== 'string' || !js.startsWith('./dist/src/')) continue
      out.set(pkg.name + sub.slice(1), join(ROOT, ws, 'src', js.slice('./dist/src/'.length).replace(/\.js$/, '.ts')))
    }
  }
  return out
}

function sources (dir, out = []) {
  if (!existsSync(dir)) return out
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) sources(path, out)
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

/** file → the files it imports */
function graph (workspaces) {
  const packages = packageTargets()
  const edges = new Map()
  for (const ws of workspaces) {
    for (const file of sources(join(ROOT, ws, 'src'))) {
      const targets = new Set()
      for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const spec = match[1] ?? match[2]
        const target = spec.startsWith('.') ? resolve(dirname(file), spec.replace(/\.js$/, '.ts')) : packages.get(spec)
        if (target !== undefined && existsSync(target)) targets.add(target)
      }
      edges.set(file, targets)
    }
  }
  return edges
}

/** strongly connected components of more than one file, or of one file that imports itself */
function cycles (edges) {
  let index = 0
  const stack = []
  const meta = new Map()
  const found = []
  const visit = (v) => {
    meta.set(v, { index, low: index, onStack: true })
    index++
    stack.push(v)
    for (const w of edges.get(v) ?? []) {
      if (!meta.has(w)) {
        visit(w)
        meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).low)
      } else if (meta.get(w).onStack) {
        meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).index)
      }
    }
    if (meta.get(v).low !== meta.get(v).index) return
    const component = []
    let w
    do {
      w = stack.pop()
      meta.get(w).onStack = false
      component.push(w)
    } while (w !== v)
    if (component.length > 1 || edges.get(v)?.has(v) === true) found.push(component)
  }
  for (const v of edges.keys()) if (!meta.has(v)) visit(v)
  return found
}

const workspaces = process.argv.length > 2 ? process.argv.slice(2) : WORKSPACES
const edges = graph(workspaces)
const found = cycles(edges)
for (const component of found) {
  const files = new Set(component)
  process.stdout.write(`import cycle of ${component.length} file(s):\n`)
  for (const file of component.sort()) {
    const into = [...edges.get(file)].filter(t => files.has(t)).map(t => relative(ROOT, t))
    process.stdout.write(`  ${relative(ROOT, file)} -> ${into.join(', ')}\n`)
  }
}
process.stdout.write(`${edges.size} files read, ${found.length} import cycle(s)\n`)
if (found.length > 0) {
  process.stdout.write('Break each cycle: move what both files need into a third, or hand one side an interface (core/components.ts)\n')
  process.exitCode = 1
}
