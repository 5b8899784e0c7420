/**
 * Builds with the node's Docker engine (issue 15): git gives the commit
 * (git-source.ts), `git archive` its context as a tar, filtered by the
 * commit's `.dockerignore` (`@balena/dockerignore`, Docker's rules, as
 * dockerode applies them; the Dockerfile and `.dockerignore` always go), and
 * the engine builds it (`POST /build`, its JSON lines of output into the
 * log). The test runs with `sh -c` in a container of the new image, without
 * network, under a time limit; its output goes into the log, and the
 * container is removed.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import dockerIgnore from '@balena/dockerignore'
import type Docker from 'dockerode'
import { messageOf } from '@minga/protocol'
import { extract, pack } from 'tar-stream'
import { BuildError } from '../errors.js'
import { demuxFrames, jsonLines } from '../runtime/docker-streams.js'
import { linkSignals } from '../runtime/signals.js'
import type { AbortOptions } from '../runtime/types.js'
import type { BuildEngine, BuildSourceLocation, ImageBuild, SourceCheckout } from '../core/builds/types.js'
import { GitSources, type Checkout } from './git-source.js'

/** how long a build may take (ms) */
export const BUILD_TIMEOUT_MS = 60 * 60_000
/** how long a test may run before it is killed (ms) */
export const TEST_TIMEOUT_MS = 15 * 60_000

export interface DockerBuilderInit {
  docker: Docker
  /** a folder of minga's own: git's mirrors and home, bundles, temporary archives */
  dir: string
  testTimeoutMs?: number
}

/** git and Docker, for builds (see above) */
export class DockerBuilder implements BuildEngine {
  private readonly git: GitSources

  constructor (private readonly init: DockerBuilderInit) {
    this.git = new GitSources({ dir: join(init.dir, 'git') })
  }

  async checkout (source: BuildSourceLocation, ref: string, context?: string): Promise<SourceCheckout> {
    if ('bundle' in source) {
      const file = join(this.init.dir, 'bundles', `${source.bundle}.bundle`)
      if (!(await stat(file).then(() => true, () => false))) {
        await mkdir(join(this.init.dir, 'bundles'), { recursive: true })
        await pipeline(source.read(), createWriteStream(`${file}.part`))
        await rename(`${file}.part`, file)
      }
      return await this.git.checkout({ bundle: file }, ref, context)
    }
    return await this.git.checkout(source, ref, context)
  }

  async * bundle (dir: string, ref: string): AsyncIterable<Uint8Array> {
    const tmp = await mkdtemp(join(await this.tmp(), 'bundle-'))
    try {
      const file = join(tmp, 'source.bundle')
      await this.git.bundle(dir, ref, file)
      yield * createReadStream(file)
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
  }

  async build (checkout: SourceCheckout, image: ImageBuild, log: (text: string) => void, options: AbortOptions = {}): Promise<string> {
    const at = checkout as Checkout
    const where = at.context === '' ? 'the top of the repository' : at.context
    if (await this.git.show(at, image.file) === undefined) throw new BuildError(`Commit ${at.commit.slice(0, 12)} has no ${image.file} in ${where}; give the Dockerfile's path in the context with --file`)
    const ignore = await this.git.show(at, '.dockerignore')
    const tmp = await mkdtemp(join(await this.tmp(), 'context-'))
    const linked = linkSignals([options.signal], BUILD_TIMEOUT_MS)
    try {
      const archive = join(tmp, 'context.tar')
      await this.git.archive(at, archive)
      const context = ignore === undefined ? createReadStream(archive) : withoutIgnored(archive, ignore, image.file)
      let stream: NodeJS.ReadableStream
      try {
        stream = await this.init.docker.buildImage(context as NodeJS.ReadableStream, {
          dockerfile: image.file,
          ...(image.args === undefined ? {} : { buildargs: image.args }),
          ...(image.target === undefined ? {} : { target: image.target }),
          rm: true,
          forcerm: true,
          abortSignal: linked.signal
        } as Docker.ImageBuildOptions)
      } catch (err) {
        throw new BuildError(`The engine refused the build: ${messageOf(err)}`)
      }
      let id: string | undefined
      let failure: string | undefined
      for await (const line of jsonLines(stream as AsyncIterable<Uint8Array>)) {
        const value = line as { stream?: string, error?: string, aux?: { ID?: string } }
        if (typeof value.stream === 'string') log(value.stream)
        if (typeof value.error === 'string') { failure = value.error; log(`${value.error}\n`) }
        if (typeof value.aux?.ID === 'string') id = value.aux.ID
      }
      if (linked.signal.aborted) throw new BuildError(`The build was stopped${options.signal?.aborted === true ? '' : ` after ${BUILD_TIMEOUT_MS / 60_000} minutes`}`)
      if (failure !== undefined) throw new BuildError(`docker build failed: ${failure.trim().slice(0, 500)}`)
      if (id === undefined || !/^sha256:[0-9a-f]{64}$/.test(id)) throw new BuildError('docker build ended without an image id; see the log')
      return id
    } finally {
      linked.dispose()
      await rm(tmp, { recursive: true, force: true })
    }
  }

  async test (image: string, command: string, log: (text: string) => void, options: AbortOptions = {}): Promise<number> {
    const { docker } = this.init
    const container = await docker.createContainer({
      Image: image,
      Entrypoint: ['sh', '-c'],
      Cmd: [command],
      NetworkDisabled: true,
      Labels: { 'minga.build-test': 'true' },
      HostConfig: { NetworkMode: 'none', AutoRemove: false }
    })
    const timeoutMs = this.init.testTimeoutMs ?? TEST_TIMEOUT_MS
    let timedOut = false
    const kill = (): void => { void container.kill().catch(() => undefined) }
    const timer = setTimeout(() => { timedOut = true; kill() }, timeoutMs)
    options.signal?.addEventListener('abort', kill, { once: true })
    try {
      await container.start()
      const waited = await container.wait() as { StatusCode: number }
      const output = await container.logs({ stdout: true, stderr: true, follow: false }) as unknown as Buffer
      for await (const frame of demuxFrames(once(output))) log(frame.text)
      if (timedOut) log(`# the test was killed after ${Math.round(timeoutMs / 1000)} s\n`)
      return waited.StatusCode
    } catch (err) {
      throw new BuildError(`The test could not run in a container of ${image.slice(0, 19)}: ${messageOf(err)}`)
    } finally {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', kill)
      await container.remove({ force: true }).catch(() => undefined)
    }
  }

  private async tmp (): Promise<string> {
    const dir = join(this.init.dir, 'tmp')
    await mkdir(dir, { recursive: true })
    return dir
  }
}

/** the CommonJS module's export is the factory itself (its types say `default`) */
const ignoreFactory = ((dockerIgnore as unknown as { default?: typeof dockerIgnore.default }).default ?? dockerIgnore) as typeof dockerIgnore.default

async function * once (bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes
}

/** the archive without what `.dockerignore` excludes (the Dockerfile and .dockerignore always stay, as Docker keeps them) */
export function withoutIgnored (archive: string, rules: string, dockerfile: string): NodeJS.ReadableStream {
  const ignore = ignoreFactory({ ignorecase: false }).add(rules)
  const keep = new Set([dockerfile.replace(/^\.\//, ''), '.dockerignore'])
  const input = extract()
  const output = pack()
  input.on('entry', (header, stream, next) => {
    const name = header.name.replace(/^\.\//, '').replace(/\/$/, '')
    if (name !== '' && !keep.has(name) && ignore.ignores(name)) {
      stream.on('end', next)
      stream.resume()
      return
    }
    stream.pipe(output.entry(header, next))
  })
  input.on('finish', () => output.finalize())
  input.on('error', (err: Error) => output.destroy(err))
  createReadStream(archive).pipe(input)
  return output as unknown as NodeJS.ReadableStream
}
