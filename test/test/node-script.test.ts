/**
 * Servers as code: the script `minga node script` prints, run on a "blank
 * server" as far as this machine allows: every file it writes goes under a
 * fresh folder (MINGA_ROOT), its environment is emptied, and apt-get,
 * dpkg-query and systemctl are stand-ins that record each call and keep
 * what they "installed" (systemctl starts the unit's ExecStart for real).
 * The real release tarball (npm run release) is unpacked and its own
 * Node.js runs minga: the server joins the mesh with the invite inside and
 * shows up alive with its label. Run again, the script changes nothing; a
 * script whose invite lost a character refuses before it does anything.
 * bash -n and shellcheck pass on the script and its variants.
 */
import { execFile, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parse } from 'yaml'
import { startCluster } from '../src/cluster.js'
import { testIf } from '../src/skip.js'
import { waitFor } from '../src/wait.js'

const exec = promisify(execFile)
const REPO = fileURLToPath(new URL('../../../', import.meta.url))
const it = testIf(spawnSync('shellcheck', ['--version']).status === 0 ? undefined : 'no shellcheck (apt-get install shellcheck)')

/** stand-ins for the system's package and service managers, recording every call in $SHIM_LOG */
const SHIMS: Record<string, string> = {
  'dpkg-query': `#!/bin/bash
echo "dpkg-query $*" >> "$SHIM_LOG"
pkg="\${!#}"
if [ -f "$SHIM_STATE/pkg-$pkg" ]; then printf 'install ok installed'; else exit 1; fi
`,
  'apt-get': `#!/bin/bash
echo "apt-get $*" >> "$SHIM_LOG"
if [ "$1" = install ]; then for p in "$@"; do case "$p" in -*|install) ;; *) touch "$SHIM_STATE/pkg-$p" ;; esac; done; fi
`,
  systemctl: `#!/bin/bash
echo "systemctl $*" >> "$SHIM_LOG"
quiet=0; args=(); for a in "$@"; do if [ "$a" = --quiet ]; then quiet=1; elif [ "$a" = --now ]; then args+=(now); else args+=("$a"); fi; done
verb="\${args[0]}"; unit="\${args[-1]}"
running () { [ -f "$SHIM_STATE/pid-$unit" ] && kill -0 "$(cat "$SHIM_STATE/pid-$unit")" 2>/dev/null; }
start () {
  if [ "$unit" = minga ]; then
    line=$(sed -n 's/^ExecStart=//p' "$MINGA_ROOT/etc/systemd/system/minga.service")
    line=\${line//\\/opt\\//$MINGA_ROOT/opt/}; line=\${line//--data \\//--data $MINGA_ROOT/}
    # shellcheck disable=SC2086
    setsid $line > "$SHIM_STATE/minga.log" 2>&1 < /dev/null &
    echo $! > "$SHIM_STATE/pid-minga"
  else sleep 3600 > /dev/null 2>&1 < /dev/null & echo $! > "$SHIM_STATE/pid-$unit"; fi
}
case "$verb" in
  is-active) running ;;
  is-enabled) [ -f "$SHIM_STATE/enabled-$unit" ] ;;
  enable) touch "$SHIM_STATE/enabled-$unit"; if [ "\${args[1]}" = now ] && ! running; then start; fi ;;
  start) running || start ;;
  restart) if running; then kill "$(cat "$SHIM_STATE/pid-$unit")"; fi; start ;;
  daemon-reload) ;;
esac
`
}

let release: string

/** what the server's minga printed, for a failure's message */
function serverLog (root: string): string {
  const file = join(root, '..', 'state', 'minga.log')
  return existsSync(file) ? readFileSync(file, 'utf8').slice(-4000) : '(no minga.log: the service never started)'
}

async function blankServer (): Promise<{ root: string, env: NodeJS.ProcessEnv, log: () => Promise<string[]>, stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'minga-server-'))
  const root = join(dir, 'root')
  const shims = join(dir, 'bin')
  const state = join(dir, 'state')
  await mkdir(root)
  await mkdir(shims)
  await mkdir(state)
  for (const [name, text] of Object.entries(SHIMS)) { await writeFile(join(shims, name), text); await chmod(join(shims, name), 0o755) }
  const env = { PATH: `${shims}:/usr/bin:/bin:/usr/sbin:/sbin`, HOME: dir, MINGA_ROOT: root, SHIM_LOG: join(dir, 'calls.log'), SHIM_STATE: state }
  return {
    root,
    env,
    log: async () => (await readFile(env.SHIM_LOG, 'utf8').catch(() => '')).split('\n').filter(Boolean),
    stop: async () => {
      for (const name of await readdir(state)) {
        if (!name.startsWith('pid-')) continue
        try { process.kill(-Number(await readFile(join(state, name), 'utf8')), 'SIGKILL') } catch {}
        try { process.kill(Number(await readFile(join(state, name), 'utf8')), 'SIGKILL') } catch {}
      }
      await rm(dir, { recursive: true, force: true })
    }
  }
}

async function run (script: string, env: NodeJS.ProcessEnv): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await exec('bash', [script], { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 })
    return { code: 0, stdout, stderr }
  } catch (err: any) {
    return { code: err.code ?? 1, stdout: String(err.stdout ?? ''), stderr: String(err.stderr ?? '') }
  }
}

test.before(async () => {
  const names = existsSync(join(REPO, 'artifacts')) ? (await readdir(join(REPO, 'artifacts'))).filter(n => n.endsWith('.tar.gz')) : []
  if (names.length === 0) await exec('bash', [join(REPO, 'scripts/build-release.sh')], { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 })
  release = join(REPO, 'artifacts', (await readdir(join(REPO, 'artifacts'))).filter(n => n.endsWith('.tar.gz')).sort().at(-1)!)
})

it('node script: a blank server becomes a node of the mesh; run again it changes nothing; a damaged invite is refused before anything', async () => {
  const mesh = await startCluster({ nodes: ['acme'] })
  const server = await blankServer()
  const damaged = await blankServer()
  try {
    const first = mesh.nodes[0]
    const made = await mesh.cli(first, 'node', 'script', '--artifact', release, '--labels', 'zone=east', '--up-args', '--runtime memory --listen /ip4/127.0.0.1/tcp/0 --door /ip4/127.0.0.1/tcp/0 --http off')
    assert.is(made.status, 0, made.stderr)
    const script = join(server.root, '..', 'node.sh')
    await writeFile(script, made.stdout)
    assert.is((await exec('bash', ['-n', script])).stderr, '')

    const once = await run(script, server.env)
    assert.is(once.code, 0, once.stderr + once.stdout)
    const calls = await server.log()
    assert.ok(calls.some(c => c.startsWith('apt-get install') && c.includes('docker.io') && c.includes('restic') && c.includes('git')), calls.join('\n'))
    assert.match(once.stdout, 'installed minga-')
    assert.ok(existsSync(join(server.root, 'var/lib/minga/mesh.json')), 'joined')
    assert.match(await readFile(join(server.root, 'etc/systemd/system/minga.service'), 'utf8'), 'KillMode=process')
    const nodes = await waitFor(async () => {
      const list = await mesh.json<any[]>(first, 'nodes')
      return list.length === 2 && list.every(n => n.status === 'alive') && list.some(n => n.labels?.zone === 'east') ? list : undefined
    }, { timeoutMs: 90_000, message: () => `the new server is a live node of the mesh, labelled zone=east; its minga.log:\n${serverLog(server.root)}` })
    assert.equal(nodes.find(n => n.self !== true)?.labels, { zone: 'east' })
    assert.match((await exec(join(server.root, 'usr/local/bin/minga'), ['--version'])).stdout, '0.1.0')

    const before = (await server.log()).length
    const twice = await run(script, server.env)
    assert.is(twice.code, 0, twice.stderr)
    assert.match(twice.stdout, 'nothing to do: this server is already a minga node of acme')
    const again = (await server.log()).slice(before)
    assert.ok(again.every(c => /^(dpkg-query|systemctl is-active|systemctl is-enabled)/.test(c)), `a second run only looks:\n${again.join('\n')}`)
    assert.is((await mesh.json<any[]>(first, 'nodes')).length, 2, 'no second join')

    const bad = join(damaged.root, '..', 'node.sh')
    const token = /^INVITE='(minga1[^']+)'$/m.exec(made.stdout)![1]
    const broken = token.slice(0, 40) + (token[40] === 'A' ? 'B' : 'A') + token.slice(41)
    await writeFile(bad, made.stdout.replace(token, broken))
    const refused = await run(bad, damaged.env)
    assert.is(refused.code, 1)
    assert.match(refused.stderr, 'the invite in this script is damaged')
    assert.equal(await damaged.log(), [], 'nothing was called')
    assert.equal(await readdir(damaged.root), [], 'nothing was written')
  } finally {
    await server.stop()
    await damaged.stop()
    await mesh.stop()
  }
})

it('node script: bash -n and shellcheck pass on the script (download and embedded variants); the cloud-init variant carries it', async () => {
  const mesh = await startCluster({ nodes: ['acme'] })
  const dir = await mkdtemp(join(tmpdir(), 'minga-script-'))
  try {
    const small = join(dir, 'minga-0.1.0-linux-x64.tar.gz')
    await writeFile(small, Buffer.from('not a real tarball, for the linter'))
    for (const variant of [['--artifact-url', 'https://files.example.org/minga.tar.gz'], []]) {
      const made = await mesh.cli(mesh.nodes[0], 'node', 'script', '--artifact', small, '--org', 'riverside', ...variant)
      assert.is(made.status, 0, made.stderr)
      await writeFile(join(dir, 'node.sh'), made.stdout)
      await exec('bash', ['-n', join(dir, 'node.sh')])
      const lint = spawnSync('shellcheck', ['--severity=style', join(dir, 'node.sh')], { encoding: 'utf8' })
      assert.is(lint.status, 0, lint.stdout)
      assert.match(made.stdout, 'NEW_ORG=1', 'another org: the invite admits a new organization, named at join')
    }
    const cloud = await mesh.cli(mesh.nodes[0], 'node', 'script', '--artifact', small, '--artifact-url', 'https://files.example.org/minga.tar.gz', '--cloud-init')
    assert.ok(cloud.stdout.startsWith('#cloud-config\n'))
    const config = parse(cloud.stdout)
    const script = Buffer.from(config.write_files[0].content, 'base64').toString()
    assert.match(script, '#!/usr/bin/env bash')
    assert.equal(config.runcmd, [['bash', '/usr/local/sbin/minga-node.sh']])
    const missing = await mesh.cli(mesh.nodes[0], 'node', 'script', '--artifact', join(dir, 'none.tar.gz'))
    assert.is(missing.status, 2)
    assert.match(missing.stderr, 'npm run release')
  } finally {
    await rm(dir, { recursive: true, force: true })
    await mesh.stop()
  }
})

test.run()
