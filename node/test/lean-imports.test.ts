/**
 * A node loads only the modules it uses (issue 14, bench/mesh-idle-rss.mjs):
 * what `minga up` imports before it starts holds no Docker client, no image
 * or build engine, no routing mesh (dns2) and no YAML parser; the Docker
 * runtime's modules load when a node starts on Docker. Checked in a fresh
 * process, since this one has loaded everything.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** the CommonJS packages and minga's own modules a fresh process holds after importing `what` (resolved from here) */
async function loadedBy (what: string): Promise<string[]> {
  const script = `
    import { createRequire } from 'node:module'
    await import(${JSON.stringify(what)})
    console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)))`
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('.', import.meta.url).pathname, timeout: 60_000 })
  return JSON.parse(stdout) as string[]
}

const packageOf = (path: string): string => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1] ?? path

test('minga up\'s modules hold no Docker client, image engine, DNS server or YAML parser until used', async () => {
  const packages = new Set((await loadedBy('@minga/node/setup')).map(packageOf))
  assert.ok(packages.has('classic-level'), 'the check sees CommonJS packages (the state store is one)')
  for (const lazy of ['dockerode', 'tar-stream', 'dns2', 'yaml']) assert.not.ok(packages.has(lazy), `${lazy} is loaded before it is used`)
})

test('the Docker runtime still brings its client along', async () => {
  const packages = new Set((await loadedBy('@minga/node')).map(packageOf))
  assert.ok(packages.has('dockerode'))
})

test.run()
