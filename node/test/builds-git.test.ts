/**
 * The git side of builds with the real `git` (no Docker): a folder of a work
 * tree resolves a ref to its commit offline, with its context folder and
 * whether the tree is dirty; a URL or a bundle is mirrored and fetched again
 * on the next build; what is no repository or names no commit is refused
 * with what to do; the context's tar leaves out what `.dockerignore` says,
 * but never the Dockerfile. The control API's build body is checked field by
 * field and fuzzed.
 */
import { execFile } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import fc from 'fast-check'
import { extract } from 'tar-stream'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cpuMs } from '@minga/protocol/fuzz'
import { buildBody } from '../src/api/bodies-builds.js'
import { withoutIgnored } from '../src/images/docker-build.js'
import { GitSources } from '../src/images/git-source.js'

const exec = promisify(execFile)
let work: string
let repo: string
let git: GitSources

const run = async (dir: string, args: string[]): Promise<string> =>
  (await exec('git', ['-C', dir, '-c', 'user.name=dev', '-c', 'user.email=dev@acme.test', ...args])).stdout.trim()

async function commit (files: Record<string, string>): Promise<string> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(repo, path, '..'), { recursive: true })
    await writeFile(join(repo, path), text)
  }
  await run(repo, ['add', '-A'])
  await run(repo, ['commit', '-q', '-m', 'change'])
  return await run(repo, ['rev-parse', 'HEAD'])
}

async function names (tar: NodeJS.ReadableStream): Promise<string[]> {
  const out: string[] = []
  const x = extract()
  tar.pipe(x)
  for await (const entry of x) { out.push(entry.header.name); entry.resume() }
  return out.sort()
}

test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'minga-build-git-'))
  repo = join(work, 'web')
  await mkdir(repo)
  await run(repo, ['init', '-q', '-b', 'main'])
  git = new GitSources({ dir: join(work, 'minga') })
})

test.after(async () => {
  await rm(work, { recursive: true, force: true })
})

test('a folder of a work tree: the ref resolves to its commit, the folder is the context, a dirty tree is said', async () => {
  const first = await commit({ Dockerfile: 'FROM minga/busybox:1\n', 'app/Dockerfile': 'FROM minga/busybox:1\n', 'app/main.sh': 'echo hi\n' })
  await run(repo, ['tag', 'v1'])
  const second = await commit({ 'app/main.sh': 'echo two\n' })
  assert.equal(await git.checkout({ dir: repo }, 'HEAD'), { gitDir: repo, commit: second, context: '' })
  assert.is((await git.checkout({ dir: repo }, 'v1')).commit, first)
  assert.is((await git.checkout({ dir: repo }, first.slice(0, 10))).commit, first)
  assert.equal((await git.checkout({ dir: join(repo, 'app') }, 'main')).context, 'app')
  await writeFile(join(repo, 'app/main.sh'), 'echo uncommitted\n')
  assert.is((await git.checkout({ dir: repo }, 'HEAD')).dirty, true)
  await run(repo, ['checkout', '-q', '--', '.'])
  const at = await git.checkout({ dir: join(repo, 'app') }, 'HEAD')
  assert.is(await git.show(at, 'main.sh'), 'echo two\n')
  assert.is(await git.show(at, 'missing'), undefined)
  const tar = join(work, 'context.tar')
  await git.archive(at, tar)
  assert.equal(await names(createReadStream(tar)), ['Dockerfile', 'main.sh'])
})

test('what is no repository or names no commit is refused, saying what to do', async () => {
  const plain = join(work, 'plain')
  await mkdir(plain, { recursive: true })
  const refused = async (call: Promise<unknown>, text: string): Promise<void> => {
    try {
      await call
      assert.unreachable('accepted')
    } catch (err: any) {
      assert.is(err.name, 'BuildError', err.stack)
      assert.match(err.message, text)
    }
  }
  await refused(git.checkout({ dir: plain }, 'HEAD'), 'is not in a git repository; minga builds commits')
  await refused(git.checkout({ dir: join(work, 'nowhere') }, 'HEAD'), 'Cannot read')
  await refused(git.checkout({ dir: 'relative/web' }, 'HEAD'), 'must be an absolute path')
  await refused(git.checkout({ dir: repo }, 'v9'), `${repo} has no commit v9`)
  await refused(git.checkout({ dir: repo }, '--upload-pack=touch /tmp/x'), 'is not a git ref')
  await refused(git.checkout({ dir: repo }, 'HEAD', '../..'), 'leaves the repository')
  await refused(git.checkout({ url: `file://${join(work, 'nowhere')}` }, 'HEAD'), 'Cannot fetch')
})

test('a URL and a bundle are mirrored; the next build fetches what is new', async () => {
  const url = `file://${repo}`
  const head = await run(repo, ['rev-parse', 'HEAD'])
  assert.is((await git.checkout({ url }, 'main')).commit, head)
  const next = await commit({ 'app/main.sh': 'echo three\n' })
  assert.is((await git.checkout({ url }, 'main')).commit, next, 'fetched again')
  const bundle = join(work, 'web.bundle')
  await git.bundle(repo, 'main', bundle)
  assert.is((await git.checkout({ bundle }, 'main')).commit, next)
  const byId = join(work, 'by-id.bundle')
  await git.bundle(repo, next, byId)
  assert.is((await git.checkout({ bundle: byId }, next)).commit, next, 'a bundle for a commit id carries it')
})

test('the context leaves out what .dockerignore excludes, never the Dockerfile or .dockerignore', async () => {
  await commit({ '.dockerignore': '*.log\nsecrets/\nDockerfile\n!keep.log\n', 'debug.log': 'x', 'keep.log': 'y', 'secrets/key': 'k', 'src/a.txt': 'a' })
  const at = await git.checkout({ dir: repo }, 'HEAD')
  const tar = join(work, 'ignored.tar')
  await git.archive(at, tar)
  const kept = await names(withoutIgnored(tar, (await git.show(at, '.dockerignore'))!, 'Dockerfile'))
  assert.ok(kept.includes('Dockerfile') && kept.includes('.dockerignore') && kept.includes('keep.log') && kept.includes('src/a.txt'), kept.join(' '))
  assert.not.ok(kept.includes('debug.log') || kept.includes('secrets/key'), kept.join(' '))
})

test('build bodies: checked field by field; any other body is refused with what to send, in bounded time', () => {
  assert.equal(buildBody({ source: '/src/web', tag: 'acme/web:2', ref: 'main', test: 'sh test.sh', args: { V: '1' }, target: 'prod', on: 'riverside' }),
    { source: '/src/web', tag: 'acme/web:2', ref: 'main', test: 'sh test.sh', args: { V: '1' }, target: 'prod', on: 'riverside' })
  assert.is(buildBody({ source: 'git@git.example.org:acme/web.git', tag: 'acme/web' }).source, 'git@git.example.org:acme/web.git')
  for (const [body, text] of [
    [{ source: 'web', tag: 'acme/web:2' }, 'body.source must be an absolute folder of the node or a git URL'],
    [{ source: '/src/web', tag: 'Acme Web' }, 'body.tag must be an image reference'],
    [{ source: '/src/web', tag: 'acme/web:2', ref: ' ' }, 'body.ref'],
    [{ source: '/src/web', tag: 'acme/web:2', args: { 'A-B': 'x' } }, 'names must be like NODE_VERSION'],
    [{ source: '/src/web', tag: 'acme/web:2', on: 'Other Org' }, 'body.on'],
    [{ source: '/src/web', tag: 'acme/web:2', extra: 1 }, 'unknown field "extra"'],
    [[], 'body must be an object']
  ] as const) {
    assert.throws(() => buildBody(body), (err: Error) => err.name === 'BadRequestError' && err.message.includes(text) && err.message.includes('POST /v1/builds takes'))
  }
  const odd = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom<unknown>('/src/web', 'https://x/y.git', 'acme/web:2', '', '-x', 'x'.repeat(5000), null, { A: 'b' }))
  const halfRight = fc.record({ field: fc.constantFrom('ref', 'context', 'file', 'args', 'target', 'test', 'private', 'on', 'x'), value: odd })
    .map(({ field, value }) => ({ source: '/src/web', tag: 'acme/web:2', [field]: value }))
  const bodies = fc.oneof(halfRight, fc.dictionary(fc.constantFrom('source', 'tag', 'ref', 'context', 'file', 'args', 'target', 'test', 'private', 'on', 'x'), odd, { maxKeys: 6 }), fc.jsonValue({ maxDepth: 4 }))
  let accepted = 0
  let refused = 0
  fc.assert(fc.property(bodies, (body) => {
    const started = cpuMs()
    try {
      const out = buildBody(body)
      accepted++
      assert.equal(buildBody(JSON.parse(JSON.stringify(out))), out, 'what is accepted is accepted again')
    } catch (err) {
      if ((err as Error).name !== 'BadRequestError') throw err
      refused++
    }
    assert.ok(cpuMs() - started < 100, 'bounded time')
  }), { numRuns: 3000 })
  assert.ok(accepted > 0 && refused > 0, `accepted ${accepted}, refused ${refused}`)
})

test.run()
