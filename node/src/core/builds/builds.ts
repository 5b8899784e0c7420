/**
 * `minga build` (issue 15): from git to an image in the mesh, tested first.
 *
 * A build runs on one node: the source resolves to a commit (git), the
 * commit's context is built by the engine, the test command runs in a
 * container of the new image (exit 0 = pass), and only then is the image
 * pushed into the mesh under the tag (images.ts). Whatever happens, a
 * signed `build-result/<builder org>/<id>` records it (commit, digest, the
 * test's exit code, start and end) and the log (build output, then test
 * output, bounded: build-log.ts) is stored as a file root of the builder's
 * chunk store that the result names, so `minga build logs ID` reads it from
 * any node of the two organizations (fetched from the builder).
 *
 * Where it runs (shared-builds.ts): here, or on a builder node of an
 * organization that offers builds, asked by a signed `build/<org>/<id>`.
 */
import { randomBytes } from 'node:crypto'
import { IMAGE_LIMITS, keys, messageOf, withTag, type BuildRecord, type BuildResultRecord, type RecordEntry } from '@minga/protocol'
import { BadRequestError, BuildError, NotFoundError } from '../../errors.js'
import type { AbortOptions } from '../../runtime/types.js'
import type { Clock } from '../clock.js'
import type { Images } from '../images/images.js'
import { BuildLog } from './build-log.js'
import type { BuildEngine, BuildSourceLocation, SourceCheckout } from './types.js'

/** what `minga build` asks */
export interface BuildRequest {
  source: { dir: string } | { url: string }
  /** default HEAD */
  ref?: string
  /** the context folder, relative to the source (default: the source itself) */
  context?: string
  /** the Dockerfile, relative to the context (default Dockerfile) */
  file?: string
  args?: Record<string, string>
  /** the Dockerfile stage to build */
  target?: string
  /** run with `sh -c` in a container of the new image; exit 0 = pass */
  test?: string
  /** the tag in the mesh, e.g. acme/web:2 */
  tag: string
  private?: boolean
  /** build on a builder node of this organization */
  on?: string
}

/** a build as `minga build` and `minga build ls` show it */
export interface BuildView extends BuildResultRecord {
  id: string
  /** the organization that built it */
  builderOrg: string
  /** the node that built it */
  by: string
  /** ms the build took, once finished */
  durationMs?: number
  /** the local work tree had uncommitted changes, which were not built (only on the node that built it) */
  dirty?: boolean
}

/** what a build runs from: a request's parts (build-records), with where its source is on this node */
export type BuildJob = Pick<BuildRecord, 'ref' | 'context' | 'file' | 'args' | 'target' | 'test' | 'tag'> & {
  id: string
  /** the organization the image is for */
  org: string
  source: BuildSourceLocation
  private?: boolean
  /** asked by a request entry: a source that cannot be read is a failed result (the asker waits for one), not a throw */
  requested?: boolean
}

export interface BuildsComponents {
  images: Images
  engine: BuildEngine
  clock: Pick<Clock, 'now'>
}

/** what a build request from another node may name as its source: a repository on the network */
const REMOTE_GIT_URL = /^(?:(?:https?|ssh|git):\/\/[^\s-][^\s]*|[\w.][\w.-]*@[\w.][\w.-]*:[^\s]+)$/

/** a new build id: 16 hex digits */
export function newBuildId (): string {
  return randomBytes(8).toString('hex')
}

/** runs builds on this node (see above) */
export class BuildRunner {
  /** builds under way here, by id */
  private readonly running = new Map<string, Promise<BuildView>>()

  constructor (private readonly init: BuildsComponents) {}

  /** is `id` being built here now? */
  busy (id: string): boolean {
    return this.running.has(id)
  }

  /**
   * runs the job here and resolves with its result, whether it passed or
   * failed (a failed build or test is a result, recorded); a source that is
   * no repository or a ref that names no commit throws BuildError and writes
   * nothing, unless the job came from a request (then it is a failed result)
   */
  async run (job: BuildJob, options: AbortOptions = {}): Promise<BuildView> {
    const under = this.running.get(job.id)
    if (under !== undefined) return await under
    const promise = this.runJob(job, options).finally(() => this.running.delete(job.id))
    this.running.set(job.id, promise)
    return await promise
  }

  private async runJob (job: BuildJob, options: AbortOptions): Promise<BuildView> {
    const { images, engine, clock } = this.init
    const builderOrg = images.org
    const log = new BuildLog()
    const started = clock.now()
    const record: BuildResultRecord = { org: job.org, status: 'running', started, tag: job.tag, tail: '' }
    // a folder that is no repository, a ref that names no commit: refused before anything is written (unless asked by a request)
    let checkout: SourceCheckout | undefined
    let problem: string | undefined
    try {
      // another node may not make this one read its own files (file://, a path): only remote repositories
      if (job.requested === true && 'url' in job.source && !REMOTE_GIT_URL.test(job.source.url)) throw new BuildError(`A build request's source must be a remote git repository (https://, ssh://, git://, user@host:path), not ${job.source.url.slice(0, 200)}`)
      checkout = await engine.checkout(job.source, job.ref, job.context, options)
    } catch (err) {
      if (job.requested !== true) throw err
      problem = messageOf(err)
    }
    await this.write(job.id, record)
    images.emit('build', job.tag, `building ${job.tag} (build ${job.id}) for ${job.org} from ${describeSource(job.source)} at ${job.ref}`)
    try {
      if (checkout === undefined) throw new BuildError(problem ?? 'The source could not be read')
      record.commit = checkout.commit
      log.line(`# minga build ${job.id}: ${describeSource(job.source)} at ${job.ref} = commit ${checkout.commit}${checkout.context === '' ? '' : `, context ${checkout.context}`}, ${job.file}`)
      if (checkout.dirty === true) log.line('# the work tree has uncommitted changes: they are not built (commit them to build them)')
      const id = await engine.build(checkout, { file: job.file, args: job.args, target: job.target, tag: job.tag }, text => log.write(text), options)
      record.digest = id
      log.line(`# built ${id}`)
      if (job.test !== undefined) {
        log.line(`# test: ${job.test}`)
        const exit = await engine.test(id, job.test, text => log.write(text), options)
        record.testExit = Math.min(255, Math.max(0, exit))
        log.line(`# the test exited with code ${exit}`)
        if (exit !== 0) throw new BuildError(`The test "${job.test.slice(0, 200)}" exited with code ${exit}; nothing was pushed (see "minga build logs ${job.id}")`)
      }
      // the tag is the asking org's to write (shared-builds.ts): a builder of another org pushes the image untagged
      const pushed = await images.push(id, { source: 'build', build: job.id, tags: job.org === builderOrg ? [withTag(job.tag)] : [], private: job.private })
      record.index = pushed.index
      record.status = 'passed'
      log.line(`# pushed ${id} into the mesh${job.org === builderOrg ? ` as ${withTag(job.tag)}` : `, for ${job.org} to tag as ${withTag(job.tag)}`}`)
    } catch (err) {
      record.status = 'failed'
      record.error = messageOf(err).slice(0, IMAGE_LIMITS.textLength)
      log.line(`# failed: ${record.error}`)
    }
    record.finished = clock.now()
    record.tail = log.last(IMAGE_LIMITS.tailBytes)
    try {
      record.log = (await images.putFile(chunksOf(log.text()))).root
    } catch (err) {
      record.error ??= `the log could not be stored: ${messageOf(err)}`
    }
    await this.write(job.id, record)
    images.emit('build', job.tag, record.status === 'passed'
      ? `built ${job.tag} (build ${job.id}, commit ${record.commit!.slice(0, 12)}): ${record.digest!.slice(0, 19)}${job.test === undefined ? '' : ', test passed'}, pushed into the mesh`
      : `build ${job.id} of ${job.tag} failed: ${record.error!}`)
    return { ...viewOf(record, job.id, builderOrg, images.identity.peerId), ...(checkout?.dirty === true ? { dirty: true } : {}) }
  }

  private async write (id: string, record: BuildResultRecord): Promise<void> {
    const { images } = this.init
    await images.state.write(images.identity, keys.buildResult(images.org, id), { ...record })
  }
}

/** the view of a result record */
export function viewOf (record: BuildResultRecord, id: string, builderOrg: string, by: string): BuildView {
  return { ...record, id, builderOrg, by, ...(record.finished === undefined ? {} : { durationMs: record.finished - record.started }) }
}

/** every build result `org` may read (its own, and those built for it), newest first */
export function buildResults (images: Images, org: string): BuildView[] {
  return images.state.records('build-result')
    .map(e => ({ entry: e, builderOrg: e.key.split('/')[1], id: e.key.split('/')[2] }))
    .filter(r => r.builderOrg === org || r.entry.value.org === org)
    .map(r => viewOf(r.entry.value, r.id, r.builderOrg, r.entry.author))
    .sort((a, b) => b.started - a.started || a.id.localeCompare(b.id))
}

/** the result of build `id` that `org` may read; NotFoundError otherwise */
export function buildResult (images: Images, org: string, id: string): RecordEntry<'build-result'> {
  if (!/^[0-9a-f]{16,32}$/.test(id)) throw new BadRequestError(`${id.slice(0, 40)} is not a build id; "minga build ls" lists them`)
  const found = images.state.records('build-result').find(e => e.key.endsWith(`/${id}`) && (e.key.split('/')[1] === org || e.value.org === org))
  if (found === undefined) throw new NotFoundError(`No build ${id} of ${org} is known to this node; "minga build ls" lists them`)
  return found
}

/** the log of build `id`: its bytes, fetched from the builder when this node does not hold them */
export async function * buildLog (images: Images, org: string, id: string, options: AbortOptions = {}): AsyncIterable<Uint8Array> {
  const result = buildResult(images, org, id).value
  if (result.log === undefined) {
    yield new TextEncoder().encode(result.status === 'running' ? `build ${id} is still running; its log is stored when it ends. Its last lines so far:\n${result.tail}` : result.tail)
    return
  }
  yield * images.readRoot(result.log, options)
}

function describeSource (source: BuildSourceLocation): string {
  return 'dir' in source ? source.dir : 'url' in source ? source.url : `a git bundle (${source.bundle.slice(0, 12)})`
}

async function * chunksOf (text: string): AsyncIterable<Uint8Array> {
  yield new TextEncoder().encode(text)
}
