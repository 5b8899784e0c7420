/**
 * The git watcher's reader on a real node: a bare repository per source
 * under the data dir (`gitops/<org>/<name>.git`), fetched shallowly; a
 * commit's folder extracted with `git archive | tar -x` into a fresh
 * temporary folder and read by the same folder loader as `minga apply DIR`
 * (handed in by the CLI, which holds the spec and Compose readers); with
 * signers listed, `git verify-commit` against them (SSH signatures,
 * git's gpg.ssh.allowedSignersFile).
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { messageOf, nameOf } from '@minga/protocol'
import type { LoadedChangeSet, SourceReader, SourceRef } from '../core/gitops/reader.js'
import { SourceCheckError, SourceFetchError } from '../errors.js'
import { runGit } from './git.js'

/** reads a checked-out folder as a change set for `org`; throws InvalidSpecError, ComposeFileError or FolderError for files that fail their checks */
export type FolderLoader = (folder: string, org: string) => Promise<LoadedChangeSet>

export interface GitReaderInit {
  /** where the bare repositories and git's own HOME live (`<data>/gitops`) */
  dir: string
  loadFolder: FolderLoader
  git?: string
  timeoutMs?: number
}

/** errors of a commit's files: the commit is refused */
const FILE_ERRORS = new Set(['InvalidSpecError', 'ComposeFileError', 'FolderError'])
/** bytes a commit's folder may extract to, at most */
const MAX_ARCHIVE_BYTES = 64 * 1024 * 1024

/** the `git` binding of SourceReader (see above) */
export class GitSourceReader implements SourceReader {
  constructor (private readonly init: GitReaderInit) {}

  async fetch (source: SourceRef, options: { signal?: AbortSignal }): Promise<string> {
    const repo = await this.repository(source)
    await this.git(['fetch', '--quiet', '--no-tags', '--force', '--depth=1', '--', source.url, source.ref], repo, options.signal)
    const commit = (await this.git(['rev-parse', '--verify', 'FETCH_HEAD^{commit}'], repo, options.signal)).trim()
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) throw new SourceFetchError(`git rev-parse answered "${commit.slice(0, 80)}" for ${source.ref}`)
    return commit
  }

  async load (source: SourceRef, commit: string, org: string, options: { signal?: AbortSignal }): Promise<LoadedChangeSet> {
    const repo = await this.repository(source)
    if (source.signers !== undefined) await this.verify(repo, commit, source.signers, options.signal)
    const work = await mkdtemp(join(this.init.dir, 'checkout-'))
    try {
      const path = source.path.replace(/\/+$/, '')
      await this.extract(repo, commit, path, work, options.signal)
      const folder = join(work, path)
      if (!(await stat(folder).catch(() => undefined))?.isDirectory()) throw new SourceCheckError(`commit ${commit.slice(0, 12)} has no folder ${path === '' ? '/' : path}; fix --path or the repository`)
      try {
        return await this.init.loadFolder(folder, org)
      } catch (err) {
        if (FILE_ERRORS.has(nameOf(err) ?? '')) throw new SourceCheckError(messageOf(err).replace(work, '').replace(/^\/+/, ''))
        throw err
      }
    } finally {
      await rm(work, { recursive: true, force: true })
    }
  }

  private async verify (repo: string, commit: string, signers: string[], signal?: AbortSignal): Promise<void> {
    const file = join(repo, 'minga-allowed-signers')
    await writeFile(file, signers.map(key => `minga namespaces="git" ${key}\n`).join(''))
    try {
      await this.git(['-c', `gpg.ssh.allowedSignersFile=${file}`, 'verify-commit', commit], repo, signal)
    } catch (err) {
      throw new SourceCheckError(`commit ${commit.slice(0, 12)} is not signed by a key the source lists (${signers.length} signer(s)); sign it with one of them (git commit -S with gpg.format=ssh): ${messageOf(err).slice(0, 300)}`)
    }
  }

  /** `git archive COMMIT -- PATH | tar -x -C work`, at most MAX_ARCHIVE_BYTES */
  private async extract (repo: string, commit: string, path: string, work: string, signal?: AbortSignal): Promise<void> {
    const tar = spawn('tar', ['-x', '--no-same-owner', '-C', work], { stdio: ['pipe', 'ignore', 'pipe'] })
    let bytes = 0
    let tarError = ''
    tar.stderr.on('data', (chunk: Buffer) => { tarError = (tarError + chunk.toString()).slice(-1000) })
    const closed = new Promise<number | null>((resolve) => { tar.on('close', resolve); tar.on('error', () => resolve(-1)) })
    const { Writable } = await import('node:stream')
    const sink = new Writable({
      write (chunk: Buffer, _encoding, done) {
        bytes += chunk.length
        if (bytes > MAX_ARCHIVE_BYTES) { done(new SourceCheckError(`the folder is larger than ${MAX_ARCHIVE_BYTES / 1024 / 1024} MiB; keep specs and their files in a smaller folder (--path)`)); return }
        if (!tar.stdin.write(chunk)) tar.stdin.once('drain', () => done())
        else done()
      },
      final (done) { tar.stdin.end(); done() }
    })
    const stop = new AbortController()
    const onAbort = (): void => stop.abort(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    let tooLarge: Error | undefined
    sink.on('error', (err) => { tooLarge = err; stop.abort(err) })
    try {
      await this.git(['archive', '--format=tar', commit, '--', ...(path === '' ? [] : [path])], repo, stop.signal, sink)
    } catch (err) {
      tar.kill()
      if (tooLarge !== undefined) throw tooLarge
      if (/pathspec|did not match/i.test(messageOf(err))) throw new SourceCheckError(`commit ${commit.slice(0, 12)} has no folder ${path}; fix --path or the repository`)
      throw err
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
    await new Promise<void>((resolve) => { if (sink.writableFinished) resolve(); else sink.once('finish', () => resolve()) })
    const code = await closed
    if (code !== 0) throw new SourceFetchError(`tar could not extract commit ${commit.slice(0, 12)}: ${tarError.trim() || `exit ${String(code)}`}`)
  }

  private async repository (source: SourceRef): Promise<string> {
    const repo = join(this.init.dir, source.org, `${source.name}.git`)
    if ((await stat(join(repo, 'HEAD')).catch(() => undefined)) === undefined) {
      await mkdir(repo, { recursive: true })
      await this.git(['init', '--quiet', '--bare'], repo)
    }
    return repo
  }

  private async git (args: string[], cwd: string, signal?: AbortSignal, stdout?: NodeJS.WritableStream): Promise<string> {
    await mkdir(join(this.init.dir, 'home'), { recursive: true })
    return await runGit(args, { cwd, signal, stdout, home: join(this.init.dir, 'home'), git: this.init.git, timeoutMs: this.init.timeoutMs })
  }
}
