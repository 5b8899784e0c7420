/**
 * The git watcher's reader on real git: a repository made here, fetched
 * into the reader's own bare copy; a commit's folder extracted and handed
 * to the folder loader; a path the commit lacks and a file that fails its
 * checks refuse the commit; with signers listed, only commits signed by one
 * of their SSH keys are read; an unreachable repository is a fetch error.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseServiceSpec } from '@minga/protocol'
import { GitSourceReader } from '../src/gitops/git-reader.js'
import type { SourceRef } from '../src/core/index.js'

const exec = promisify(execFile)
const root = await mkdtemp(join(tmpdir(), 'minga-git-reader-'))
const repo = join(root, 'infra')
const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: root }

async function git (...args: string[]): Promise<string> {
  return (await exec('git', ['-C', repo, '-c', 'user.name=Ops', '-c', 'user.email=ops@acme.example', ...args], { env })).stdout.trim()
}

async function commit (files: Record<string, string>, sign?: string): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(repo, path, '..'), { recursive: true })
    await writeFile(join(repo, path), content)
    await git('add', path)
  }
  await git(...(sign === undefined ? [] : ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${sign}`]), 'commit', '-q', ...(sign === undefined ? [] : ['-S']), '-m', 'change')
  return await git('rev-parse', 'HEAD')
}

/** a loader that reads every top-level spec file, as the CLI's does (which the node test cannot import) */
async function loadFolder (folder: string, org: string): Promise<any> {
  const specs = []
  for (const name of (await readdir(folder)).filter(n => n.endsWith('.yaml')).sort()) specs.push(...parseServiceSpec(await readFile(join(folder, name), 'utf8'), { org, source: name }))
  return { specs, secrets: [], configs: [], warnings: [] }
}

const reader = new GitSourceReader({ dir: join(root, 'cache'), loadFolder })
const source = (extra: Partial<SourceRef> = {}): SourceRef => ({ org: 'acme', name: 'infra', url: `file://${repo}`, ref: 'main', path: 'apps', interval: 60_000, prune: true, ...extra })

async function failure (promise: Promise<unknown>): Promise<Error> {
  try { await promise } catch (err) { return err as Error }
  throw new Error('did not fail')
}

test.before(async () => {
  await mkdir(repo)
  await git('init', '-q', '-b', 'main')
})
test.after(async () => { await rm(root, { recursive: true, force: true }) })

test('fetch names the ref\'s commit, load reads the commit\'s folder', async () => {
  const first = await commit({ 'apps/web.yaml': 'name: web\nimage: minga/busybox:1\n', 'README.md': 'hi\n' })
  assert.is(await reader.fetch(source(), {}), first)
  const set = await reader.load(source(), first, 'acme', {})
  assert.equal(set.specs.map(s => `${s.org}/${s.name}`), ['acme/web'])
  const second = await commit({ 'apps/api.yaml': 'name: api\nimage: minga/busybox:2\n' })
  assert.is(await reader.fetch(source(), {}), second)
  assert.equal((await reader.load(source(), second, 'acme', {})).specs.map(s => s.name), ['api', 'web'])
  assert.equal((await reader.load(source(), first, 'acme', {})).specs.map(s => s.name), ['web'], 'an older commit still reads as it was')
  assert.equal((await readdir(join(root, 'cache'))).filter(n => n.startsWith('checkout-')), [], 'checkouts are removed')
})

test('a commit without the folder, or with a bad file, is refused; a missing repository or ref is a fetch error', async () => {
  const head = await reader.fetch(source(), {})
  const none = await failure(reader.load(source({ path: 'nothing' }), head, 'acme', {}))
  assert.is(none.name, 'SourceCheckError', none.message)
  assert.match(none.message, 'has no folder nothing')
  const bad = await commit({ 'apps/bad.yaml': 'name: bad\nimage: minga/busybox:1\nreplicas: two\n' })
  assert.is(await reader.fetch(source(), {}), bad)
  const refused = await failure(reader.load(source(), bad, 'acme', {}))
  assert.is(refused.name, 'SourceCheckError')
  assert.match(refused.message, 'replicas')
  const missing = await failure(reader.fetch(source({ url: `file://${root}/nowhere` }), {}))
  assert.is(missing.name, 'SourceFetchError')
  const noRef = await failure(reader.fetch(source({ ref: 'release' }), {}))
  assert.is(noRef.name, 'SourceFetchError')
  await git('rm', '-q', 'apps/bad.yaml')
  await git('commit', '-q', '-m', 'fix')
})

test('with signers listed, only commits signed by one of their keys are read', async () => {
  const keys = join(root, 'keys')
  await mkdir(keys)
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', join(keys, 'alice')])
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mallory', '-f', join(keys, 'mallory')])
  const alice = (await readFile(join(keys, 'alice.pub'), 'utf8')).trim()
  const signed = await commit({ 'apps/signed.yaml': 'name: signed\nimage: minga/busybox:1\n' }, join(keys, 'alice'))
  const strict = source({ signers: [alice] })
  assert.is(await reader.fetch(strict, {}), signed)
  assert.ok((await reader.load(strict, signed, 'acme', {})).specs.some(s => s.name === 'signed'))
  const forged = await commit({ 'apps/forged.yaml': 'name: forged\nimage: minga/busybox:1\n' }, join(keys, 'mallory'))
  await reader.fetch(strict, {})
  const refused = await failure(reader.load(strict, forged, 'acme', {}))
  assert.is(refused.name, 'SourceCheckError')
  assert.match(refused.message, 'is not signed by a key the source lists')
  const unsigned = await commit({ 'apps/unsigned.yaml': 'name: unsigned\nimage: minga/busybox:1\n' })
  await reader.fetch(strict, {})
  assert.is((await failure(reader.load(strict, unsigned, 'acme', {}))).name, 'SourceCheckError')
  assert.ok((await reader.load(source(), unsigned, 'acme', {})).specs.length > 0, 'without signers, any commit reads')
})

test.run()
