/**
 * What a fresh Node process resolves while it imports a module: a loader
 * hook prints every URL it resolves. For tests of what a package surface
 * drags in (`@minga/node/core` must not load libp2p or dockerode).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** the daemon's heavy libraries: a libp2p host and its transports, the Docker client, the metrics registry, LevelDB */
export const DAEMON_LIBRARIES = /node_modules\/(libp2p|@libp2p\/(tcp|gossipsub|kad-dht|prometheus-metrics|pnet)|dockerode|prom-client|classic-level)\//

/** a resolve hook that prints each URL as `LOADED <url>` on stderr */
const HOOKS = [
  'export async function resolve (specifier, context, next) {',
  '  const resolved = await next(specifier, context)',
  "  process.stderr.write('LOADED ' + resolved.url + '\\n')",
  '  return resolved',
  '}',
  ''
].join('\n')

/** every URL resolved while a new process imports `specifier` from `cwd`; throws with its stderr when the import fails */
export function modulesLoadedBy (specifier: string, cwd: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'minga-loads-'))
  writeFileSync(join(dir, 'hooks.mjs'), HOOKS)
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module'\nregister(${JSON.stringify(join(dir, 'hooks.mjs'))}, import.meta.url)\n`)
  const run = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), '--input-type=module', '-e', `await import(${JSON.stringify(specifier)})`], { cwd, encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`importing ${specifier} failed: ${run.stderr.slice(-2000)}`)
  return run.stderr.split('\n').filter(l => l.startsWith('LOADED ')).map(l => l.slice('LOADED '.length))
}
