/**
 * The git side of `minga build`: where a build's source comes from and
 * which commit it is, with the `git` command (gitops/git.ts: no prompts, no
 * user configuration, bounded time). A source is a folder inside a local
 * work tree (read in place, offline), a URL or a git bundle file (mirrored
 * into a cache under the node's data dir, fetched again on each build).
 * What is built is always a commit: `ref` resolves to a commit id, and the
 * context is that commit's tree (`git archive`), never the work tree's
 * uncommitted files; a dirty work tree is reported, not built.
 */
import { createHash } from 'node:crypto'
import { mkdir, rm, stat } from 'node:fs/promises'
import { isAbsolute, join, relative } from 'node:path'
import { messageOf } from '@minga/protocol'
import { BuildError } from '../errors.js'
import { runGit } from '../gitops/git.js'

export interface GitSourcesInit {
  /** a folder of minga's own: git's HOME, and the mirrors of URLs and bundles */
  dir: string
  git?: string
  /** ms one git command may take (default 10 minutes: a first clone can be large) */
  timeoutMs?: number
}

/** a resolved source: the git directory to read, the commit, the context folder in it */
export interface Checkout {
  gitDir: string
  commit: string
  /** the context's path in the repository ('' = its top) */
  context: string
  /** the work tree had uncommitted changes (only for a local folder) */
  dirty?: boolean
}

export type SourceLocation = { dir: string } | { url: string } | { bundle: string }

/** git for builds (see above) */
export class GitSources {
  constructor (private readonly init: GitSourcesInit) {}

  /**
   * the commit `ref` names in `source`, and the context folder (`context`,
   * relative to the repository's top; a local folder inside a repository is
   * itself the context's start). BuildError when it is no repository or the
   * ref names no commit
   */
  async checkout (source: SourceLocation, ref: string, context = ''): Promise<Checkout> {
    if (ref.startsWith('-') || /[\s\0]/.test(ref)) throw new BuildError(`--ref ${ref.slice(0, 60)} is not a git ref; give a branch, a tag or a commit id`)
    let gitDir: string
    let sub = context
    let dirty: boolean | undefined
    if ('dir' in source) {
      const top = await this.topOf(source.dir)
      const within = relative(top, source.dir)
      sub = normalize(join(within, context))
      gitDir = top
      dirty = (await this.git(['status', '--porcelain', '--untracked-files=no'], top)).trim() !== ''
    } else {
      gitDir = await this.mirror('url' in source ? source.url : source.bundle)
    }
    const commit = (await this.git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], gitDir).catch(() => '')).trim()
    if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new BuildError(`${describe(source)} has no commit ${ref.slice(0, 100)}; give a branch, a tag or a commit id it has (--ref)`)
    return { gitDir, commit, context: normalize(sub), ...(dirty === true ? { dirty } : {}) }
  }

  /** the file at `path` of the commit, or undefined when it has none (at most 1 MiB read) */
  async show (checkout: Checkout, path: string): Promise<string | undefined> {
    const spec = `${checkout.commit}:${normalize(join(checkout.context, path))}`
    if (!(await this.git(['cat-file', '-e', spec], checkout.gitDir).then(() => true, () => false))) return undefined
    return await this.git(['cat-file', '-p', spec], checkout.gitDir)
  }

  /** writes the context folder of the commit as a tar to `file` (paths relative to the context) */
  async archive (checkout: Checkout, file: string): Promise<void> {
    const tree = checkout.context === '' ? checkout.commit : `${checkout.commit}:${checkout.context}`
    await this.git(['archive', '--format=tar', '-o', file, tree], checkout.gitDir)
  }

  /** a bundle of `ref` of the local repository at `dir`, written to `file`, for a builder of another node */
  async bundle (dir: string, ref: string, file: string): Promise<void> {
    const top = await this.topOf(dir)
    // a bundle carries refs: a commit id goes with every ref, a name with its own history only
    const refs = /^[0-9a-f]{7,64}$/.test(ref) ? ['--all'] : [ref]
    await this.git(['bundle', 'create', file, ...refs], top)
  }

  private async topOf (dir: string): Promise<string> {
    if (!isAbsolute(dir)) throw new BuildError(`The build folder ${dir.slice(0, 200)} must be an absolute path`)
    try {
      if (!(await stat(dir)).isDirectory()) throw new BuildError(`${dir} is not a folder; give a git repository's folder or URL`)
    } catch (err) {
      if (err instanceof BuildError) throw err
      throw new BuildError(`Cannot read ${dir} (${messageOf(err)}); give a git repository's folder or URL`)
    }
    const top = (await this.git(['rev-parse', '--show-toplevel'], dir).catch(() => '')).trim()
    if (top === '') throw new BuildError(`${dir} is not in a git repository; minga builds commits, so that each image names the commit it came from: run "git init && git add -A && git commit -m first" there`)
    return top
  }

  /** a bare mirror of `url` (or a bundle file) in the cache, fetched now; BuildError when git cannot reach it */
  private async mirror (url: string): Promise<string> {
    if (url.startsWith('-')) throw new BuildError(`${url.slice(0, 60)} is not a git URL`)
    const dir = join(this.init.dir, 'mirrors', createHash('sha256').update(url).digest('hex').slice(0, 32))
    try {
      const fresh = await stat(join(dir, 'HEAD')).then(() => false, () => true)
      if (fresh) {
        await rm(dir, { recursive: true, force: true })
        await mkdir(join(this.init.dir, 'mirrors'), { recursive: true })
        await this.git(['clone', '--mirror', '--quiet', '--', url, dir])
      } else {
        await this.git(['fetch', '--prune', '--quiet', '--', url, '+refs/*:refs/*'], dir)
      }
    } catch (err) {
      throw new BuildError(`Cannot fetch ${url.slice(0, 200)}: ${messageOf(err)}`)
    }
    return dir
  }

  private async git (args: string[], cwd?: string): Promise<string> {
    return await runGit(args, { cwd, home: join(this.init.dir, 'home'), git: this.init.git, timeoutMs: this.init.timeoutMs ?? 600_000 })
  }
}

/** `./a/../b/` → `b`; '' for the top; refuses a path that leaves the repository */
function normalize (path: string): string {
  const parts: string[] = []
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (parts.length === 0) throw new BuildError(`The context ${path} leaves the repository; give a folder inside it`)
      parts.pop()
    } else parts.push(part)
  }
  return parts.join('/')
}

function describe (source: SourceLocation): string {
  return 'dir' in source ? source.dir : 'url' in source ? source.url : 'the bundle'
}
