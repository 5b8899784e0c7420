/**
 * Where a build runs, and builds for other organizations (the talk's
 * "shared" git, test and registry; issue 15).
 *
 * A node started with `minga up --builder` says so in its node record
 * (`builds: true`); its organization then offers builds. `minga build`
 * runs:
 *
 * - with `--on ORG`: on a builder node of ORG (here, if this node is one);
 * - else here, when this node is a builder, or when no live node offers
 *   builds and this node has an engine;
 * - else on a builder of this node's organization, else on one of another
 *   organization that offers builds (the organization of the builder node
 *   ranked first by rendezvous hashing of the build id over all live
 *   builder nodes).
 *
 * A build for elsewhere is a signed `build/<org>/<id>` entry: the source is
 * a git URL, or a git bundle of the local repository stored as a root that
 * the builder fetches over the mesh; the ref is already resolved to its
 * commit. Exactly one builder takes it: the live builder node of the asked
 * organization ranked first by rendezvous hashing of the build id (Thaler
 * and Ravishankar 1998); if that node dies before it records a result,
 * the next one in order takes it over. The asking node waits for the
 * signed `build-result`, and when it passed, tags the image for its own
 * organization (`tag/<org>/…`), so its deploys pin it.
 */
import { keys, recordValue, tagKeyId, withTag, type BuildRecord, type BuildResultRecord } from '@minga/protocol'
import { rendezvousChoice } from '@minga/scheduler'
import { BadRequestError, BuildError } from '../../errors.js'
import type { AbortOptions } from '../../runtime/types.js'
import type { Clock, Timer } from '../clock.js'
import type { LiveSet } from '../components.js'
import { errorText, type Logger } from '../logger.js'
import type { Images } from '../images/images.js'
import { BuildRunner, buildLog, buildResult, buildResults, newBuildId, viewOf, type BuildRequest, type BuildView } from './builds.js'
import type { BuildEngine } from './types.js'

/** how long a build for elsewhere may take before the asking node stops waiting (ms) */
export const REMOTE_BUILD_TIMEOUT_MS = 60 * 60_000
/** how often a builder looks for requests besides on changes of the state (ms): a builder's death shows here */
const CHECK_MS = 5_000
/** requests older than this are not taken up any more (ms) */
const REQUEST_TTL_MS = 24 * 3_600_000

export interface BuildsComponents {
  images: Images
  /** git and the engine: absent on a node without Docker (it can only ask others) */
  engine?: BuildEngine
  /** this node offers builds (`minga up --builder`) */
  offers: boolean
  liveness: Pick<LiveSet, 'live'>
  clock: Clock
  logger: Logger
}

type Final = { value: BuildResultRecord, author: string }

/** the build verbs and the builder's duty (see above) */
export class Builds {
  readonly runner?: BuildRunner
  private timer?: Timer
  private unsubscribe?: () => void
  /** builds for others run one at a time, in the order they were taken */
  private queue: Promise<void> = Promise.resolve()
  private readonly taken = new Set<string>()

  constructor (private readonly init: BuildsComponents) {
    if (init.engine !== undefined) this.runner = new BuildRunner({ images: init.images, engine: init.engine, clock: init.clock })
  }

  start (): void {
    if (!this.init.offers || this.runner === undefined) return
    this.timer = this.init.clock.every(CHECK_MS, () => this.pickUp())
    this.unsubscribe = this.init.images.state.subscribe((applied) => {
      if (applied.some(e => e.key.startsWith('build/') || e.key.startsWith('build-result/'))) this.pickUp()
    })
    this.pickUp()
  }

  stop (): void {
    this.timer?.cancel()
    this.unsubscribe?.()
  }

  /** live builder nodes, of `org` or of every organization */
  builders (org?: string): string[] {
    const { state } = this.init.images
    return this.init.liveness.live().filter(p => state.value(keys.node(p))?.builds === true && (org === undefined || state.memberOrg(p) === org))
  }

  /** builds as asked (see above for where); resolves with the result, passed or failed */
  async build (request: BuildRequest, options: AbortOptions = {}): Promise<BuildView> {
    const { images } = this.init
    const org = images.org
    const id = newBuildId()
    const where = this.where(id, request.on)
    const job = { id, org, ref: request.ref ?? 'HEAD', context: request.context, file: request.file ?? 'Dockerfile', args: request.args, target: request.target, test: request.test, tag: request.tag, private: request.private === true ? true : undefined }
    if (where === 'here') return await this.runner!.run({ ...job, source: request.source }, options)
    if (request.private === true) throw new BadRequestError(`--private applies to builds on this node; ${where} would build it for all members to fetch`)
    return await this.ask(where, { ...job, source: request.source }, options)
  }

  /** 'here', or the organization whose builder runs build `id` */
  private where (id: string, on?: string): string {
    const self = this.init.images.identity.peerId
    const own = this.init.images.org
    if (on !== undefined) {
      if (on === own && this.init.offers && this.runner !== undefined) return 'here'
      if (this.builders(on).length === 0) throw new BuildError(`No live node of ${on} offers builds; ask ${on} to run a node with "minga up --builder", or build here without --on`)
      return on
    }
    if (this.init.offers && this.runner !== undefined) return 'here'
    if (this.builders(own).length > 0) return own
    const first = rendezvousChoice(id, this.builders().filter(p => p !== self))
    if (first !== undefined) return this.init.images.state.memberOrg(first)!
    if (this.runner !== undefined) return 'here'
    throw new BuildError('This node cannot build (it has no Docker engine) and no live node offers builds; run a node with "minga up --builder"')
  }

  /** asks a builder of `builderOrg`: writes the request, waits for its result, tags the image for this org when it passed */
  private async ask (builderOrg: string, job: { id: string, org: string, ref: string, context?: string, file: string, args?: Record<string, string>, target?: string, test?: string, tag: string, source: BuildRequest['source'] }, options: AbortOptions): Promise<BuildView> {
    const { images, engine, clock } = this.init
    let source: BuildRecord['source']
    let ref = job.ref
    let context = job.context
    if ('dir' in job.source) {
      if (engine === undefined) throw new BuildError('This node has no git and engine to read the folder with; give a git URL, or run the build on a node with Docker')
      // the builder cannot read this node's folder: the commit travels as a git bundle
      const checkout = await engine.checkout(job.source, job.ref, job.context, options)
      source = { bundle: (await images.putFile(engine.bundle(job.source.dir, job.ref, options))).root }
      ref = checkout.commit
      context = checkout.context === '' ? undefined : checkout.context
    } else source = { url: job.source.url }
    const record: BuildRecord = {
      source,
      ref,
      ...(context === undefined ? {} : { context }),
      file: job.file,
      ...(job.args === undefined ? {} : { args: job.args }),
      ...(job.target === undefined ? {} : { target: job.target }),
      ...(job.test === undefined ? {} : { test: job.test }),
      tag: withTag(job.tag),
      builderOrg,
      requested: clock.now()
    }
    const done = this.finished(builderOrg, job.id, options)
    await images.state.write(images.identity, keys.build(job.org, job.id), record)
    images.emit('build', job.tag, `asked ${builderOrg} to build ${job.tag} (build ${job.id})`)
    const result = await done
    const view = viewOf(result.value, job.id, builderOrg, result.author)
    if (view.status === 'passed' && images.state.value(keys.tag(job.org, tagKeyId(record.tag)))?.digest !== view.digest) {
      await images.state.write(images.identity, keys.tag(job.org, tagKeyId(record.tag)), { ref: record.tag, digest: view.digest! })
    }
    return view
  }

  /** resolves with the final result of build `id` by `builderOrg`; BuildError after REMOTE_BUILD_TIMEOUT_MS */
  private async finished (builderOrg: string, id: string, options: AbortOptions): Promise<Final> {
    const { state } = this.init.images
    const key = keys.buildResult(builderOrg, id)
    const final = (): Final | undefined => {
      const entry = state.get(key)
      const value = entry === undefined ? undefined : recordValue(entry, 'build-result')
      return value !== undefined && value.status !== 'running' ? { value, author: entry!.author } : undefined
    }
    return await new Promise((resolve, reject) => {
      const end = (): void => { unsubscribe(); timer.cancel(); options.signal?.removeEventListener('abort', onAbort) }
      const check = (): void => {
        const entry = final()
        if (entry !== undefined) { end(); resolve(entry) }
      }
      const onAbort = (): void => { end(); reject(new BuildError(`Stopped waiting for build ${id}; "minga build ls" shows it when ${builderOrg} is done`)) }
      const unsubscribe = state.subscribe((applied) => { if (applied.some(e => e.key === key)) check() })
      const timer = this.init.clock.after(REMOTE_BUILD_TIMEOUT_MS, () => { end(); reject(new BuildError(`${builderOrg} did not finish build ${id} within ${REMOTE_BUILD_TIMEOUT_MS / 60_000} minutes; "minga build ls" shows it if it does later`)) })
      options.signal?.addEventListener('abort', onAbort, { once: true })
      check()
    })
  }

  /** a builder's duty: the requests to its organization this node ranks first for, run one at a time */
  private pickUp (): void {
    const { images, clock } = this.init
    const self = images.identity.peerId
    const own = images.state.memberOrg(self)
    if (own === undefined || this.runner === undefined) return
    const live = new Set(this.init.liveness.live())
    const builders = this.builders(own)
    for (const entry of images.state.records('build')) {
      const request = entry.value
      const [, org, id] = entry.key.split('/')
      if (request.builderOrg !== own || this.taken.has(id) || clock.now() - request.requested > REQUEST_TTL_MS) continue
      const result = images.state.get(keys.buildResult(own, id))
      const status = result === undefined ? undefined : recordValue(result, 'build-result')?.status
      // a result under way stands while its builder lives; one whose builder died goes to the next in order
      if (status !== undefined && (status !== 'running' || (live.has(result!.author) && result!.author !== self))) continue
      if (rendezvousChoice(id, builders) !== self) continue
      this.taken.add(id)
      const source = 'url' in request.source ? { url: request.source.url } : { bundle: request.source.bundle, read: () => images.readRoot((request.source as { bundle: string }).bundle) }
      const job = { id, org, requested: true, source, ref: request.ref, context: request.context, file: request.file, args: request.args, target: request.target, test: request.test, tag: request.tag }
      this.queue = this.queue.then(async () => { await this.runner!.run(job) }).catch((err) => {
        this.init.logger.error('build %s for %s: %s', id, org, errorText(err))
      })
    }
  }

  /** every build this node's organization may read, newest first */
  list (): BuildView[] {
    return buildResults(this.init.images, this.init.images.org)
  }

  /** one build's result */
  get (id: string): BuildView {
    const entry = buildResult(this.init.images, this.init.images.org, id)
    return viewOf(entry.value, id, entry.key.split('/')[1], entry.author)
  }

  /** one build's log, from whichever node holds it */
  logs (id: string, options: AbortOptions = {}): AsyncIterable<Uint8Array> {
    return buildLog(this.init.images, this.init.images.org, id, options)
  }
}
