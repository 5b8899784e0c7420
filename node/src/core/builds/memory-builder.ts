/**
 * A model of git and `docker build` for unit tests and the simulator: a
 * repository is a map of refs to commits, a commit a map of file paths to
 * text; a build makes an image of the commit's context in a MemoryImages
 * engine; a test's exit code is the `exit N` its command says (else 0).
 * It refuses what the real one refuses (no repository, no such ref, no
 * Dockerfile), with the same error class.
 */
import { createHash } from 'node:crypto'
import { BuildError } from '../../errors.js'
import type { MemoryImages } from '../images/memory-images.js'
import type { BuildEngine, BuildSourceLocation, ImageBuild, SourceCheckout } from './types.js'

interface Repository { refs: Record<string, string>, commits: Record<string, Record<string, string>> }

/** the model (see above) */
export class MemoryBuilder implements BuildEngine {
  /** repositories by folder or URL */
  readonly repos = new Map<string, Repository>()
  /** the commits built here, in order */
  readonly built: string[] = []
  /** builds wait for this before they make the image (a test holds a build under way) */
  hold?: Promise<void>

  constructor (private readonly images: MemoryImages) {}

  /** commits `files` to the repository at `where` (created when new) and moves `ref` (default HEAD) to it; the commit id */
  commit (where: string, files: Record<string, string>, ref = 'HEAD'): string {
    const repo = this.repos.get(where) ?? { refs: {}, commits: {} }
    this.repos.set(where, repo)
    const id = createHash('sha1').update(JSON.stringify([Object.keys(repo.commits).length, files])).digest('hex')
    repo.commits[id] = { ...files }
    repo.refs[ref] = id
    return id
  }

  async checkout (source: BuildSourceLocation, ref: string, context = ''): Promise<SourceCheckout & { files: Record<string, string> }> {
    let repo: Repository | undefined
    if ('bundle' in source) {
      const chunks: Uint8Array[] = []
      for await (const chunk of source.read()) chunks.push(chunk)
      repo = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Repository
    } else repo = this.repos.get('dir' in source ? source.dir : source.url)
    const where = 'dir' in source ? source.dir : 'url' in source ? source.url : 'the bundle'
    if (repo === undefined) throw new BuildError(`${where} is not in a git repository`)
    const commit = repo.refs[ref] ?? (repo.commits[ref] !== undefined ? ref : undefined)
    if (commit === undefined) throw new BuildError(`${where} has no commit ${ref}; give a branch, a tag or a commit id it has (--ref)`)
    const prefix = context === '' || context === '.' ? '' : `${context.replace(/\/$/, '')}/`
    const files = Object.fromEntries(Object.entries(repo.commits[commit]).filter(([p]) => p.startsWith(prefix)).map(([p, text]) => [p.slice(prefix.length), text]))
    return { commit, context: prefix.replace(/\/$/, ''), files }
  }

  async * bundle (dir: string): AsyncIterable<Uint8Array> {
    const repo = this.repos.get(dir)
    if (repo === undefined) throw new BuildError(`${dir} is not in a git repository`)
    yield new TextEncoder().encode(JSON.stringify(repo))
  }

  async build (checkout: SourceCheckout, image: ImageBuild, log: (text: string) => void): Promise<string> {
    const files = (checkout as SourceCheckout & { files: Record<string, string> }).files
    const dockerfile = files[image.file]
    if (dockerfile === undefined) throw new BuildError(`Commit ${checkout.commit.slice(0, 12)} has no ${image.file}; give the Dockerfile's path in the context with --file`)
    log(`Step 1/1 : ${dockerfile.split('\n')[0]}\n`)
    await this.hold
    if (dockerfile.includes('RUN false')) {
      log('The command \'/bin/sh -c false\' returned a non-zero code: 1\n')
      throw new BuildError('docker build failed: The command \'/bin/sh -c false\' returned a non-zero code: 1')
    }
    this.built.push(checkout.commit)
    return this.images.create(image.tag, [new TextEncoder().encode(JSON.stringify([checkout.commit, files, image.args ?? {}]))])
  }

  async test (_image: string, command: string, log: (text: string) => void): Promise<number> {
    log(`running ${command}\n`)
    return Number(/exit (\d+)/.exec(command)?.[1] ?? 0)
  }
}
