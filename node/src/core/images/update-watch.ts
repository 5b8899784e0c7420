/**
 * `update: { watch: true }` (issue 15): a service follows its tag. One node
 * of the service's organization acts for it — the first of the org's live,
 * uncordoned nodes in rendezvous order for `image-update/<org>/<name>`
 * (gitops/source-watch.ts `orgNodeFor`), which every node computes alike,
 * so exactly one acts and the next takes over when it dies. That node
 * follows the org's tag record in the mesh as it changes (a `minga image
 * push` of a new build under the same tag), and every `watchInterval` asks
 * the registry, when one answers, for the tag's current digest (a newer one
 * is pulled once and pushed into the mesh, which moves the tag). When the
 * tag names another digest than the service runs, the org's scan gate
 * judges it (scanning when needed); if it passes, the service is deployed
 * again pinned to it — a signed service entry by this node, through the
 * same path as `minga deploy` — and the reconcile loops roll the replicas
 * (the spec's `maxUnavailable`). Each step is an `image-update` event:
 * seen, refused (with the gate's reasons; judged again when the org's
 * policy, scans, waivers or database change) or rolling.
 */
import { keys, messageOf, tagKeyId, withTag, type ServiceRecord, type ServiceSpec } from '@minga/protocol'
import type { Timer } from '../clock.js'
import type { CoreComponents, LiveSet } from '../components.js'
import type { Logger } from '../logger.js'
import { orgNodeFor } from '../gitops/source-watch.js'
import type { Images } from './images.js'
import type { DeployImages } from './pinning.js'
import type { ImageEngine } from './types.js'

export interface UpdateWatchComponents extends CoreComponents {
  images: Images
  gate: Pick<DeployImages, 'judge'>
  engine: Pick<ImageEngine, 'registryDigest' | 'pull'>
  liveness: Pick<LiveSet, 'live'>
  /** Operations.deploy: the same checked path as `minga deploy` */
  deploy: (specs: ServiceSpec[]) => Promise<unknown>
}

/** how often the watcher looks at the services it follows */
export const UPDATE_TICK_MS = 1000
const DEFAULT_INTERVAL_MS = 5 * 60_000

/** record kinds whose change may turn a refusal into a pass */
const GATE_INPUTS = /^(policy|scan|waiver|scanner-db)\//

interface Followed { nextRegistryCheck: number, busy: boolean, refused?: string, retryAt?: number }

/** how long after a failed update the watcher tries again (ms) */
const RETRY_MS = 60_000

/** the node that follows `org/name`'s tag (see above) */
export function updateWatcher (state: CoreComponents['state'], live: readonly string[], org: string, name: string): string | undefined {
  return orgNodeFor(state, live, org, `image-update/${org}/${name}`)
}

/** the tag the service follows, or undefined when its image is named by digest */
function followedTag (spec: ServiceSpec): string | undefined {
  return spec.image.includes('@') || spec.image.startsWith('sha256:') ? undefined : withTag(spec.image)
}

/** does the service follow its tag: watched, pinned, named by a tag */
function follows (spec: ServiceSpec): boolean {
  return spec.update.watch === true && spec.imageDigest !== undefined && followedTag(spec) !== undefined
}

/** the watch (see above) */
export class UpdateWatch {
  private readonly log: Logger
  private readonly followed = new Map<string, Followed>()
  private timer?: Timer
  private unsubscribe?: () => void
  private readonly abort = new AbortController()

  constructor (private readonly init: UpdateWatchComponents) {
    this.log = init.logger.forComponent('image-update')
  }

  start (): void {
    this.timer = this.init.clock.every(UPDATE_TICK_MS, () => { this.tick() })
    this.unsubscribe = this.init.state.subscribe((applied) => {
      if (applied.some(e => GATE_INPUTS.test(e.key))) for (const f of this.followed.values()) f.refused = undefined
      if (applied.some(e => e.key.startsWith('tag/') || GATE_INPUTS.test(e.key))) this.tick()
    })
  }

  stop (): void {
    this.timer?.cancel()
    this.unsubscribe?.()
    this.abort.abort(new Error('the node is stopping'))
    this.followed.clear()
  }

  /** the services this node follows now, by `org/name` */
  following (): string[] {
    return [...this.followed.keys()].sort()
  }

  private tick (): void {
    const { state, identity, liveness, clock } = this.init
    const self = identity.peerId
    const org = state.memberOrg(self)
    const live = org === undefined ? [] : liveness.live()
    // the org's services that follow a tag and fall to this node
    const mine = org === undefined
      ? []
      : state.records('service', `${org}/`).map(e => e.value).filter(r => follows(r.spec) && updateWatcher(state, live, org, r.spec.name) === self)
    const ids = new Set(mine.map(r => `${r.spec.org}/${r.spec.name}`))
    for (const id of [...this.followed.keys()]) if (!ids.has(id)) this.followed.delete(id)
    for (const record of mine) {
      const id = `${record.spec.org}/${record.spec.name}`
      const followed = this.followed.get(id) ?? { nextRegistryCheck: clock.now(), busy: false }
      this.followed.set(id, followed)
      if (!followed.busy && clock.now() >= (followed.retryAt ?? 0)) void this.check(id, record, followed)
    }
  }

  /** one look at one service: its tag's digest in the mesh (and the registry's, when due); never throws */
  private async check (id: string, record: ServiceRecord, followed: Followed): Promise<void> {
    const { state, clock, images } = this.init
    const spec = record.spec
    const tag = followedTag(spec)!
    followed.busy = true
    try {
      if (clock.now() >= followed.nextRegistryCheck) {
        followed.nextRegistryCheck = clock.now() + (spec.update.watchInterval ?? DEFAULT_INTERVAL_MS)
        await this.checkRegistry(id, tag, spec.imageDigest!)
      }
      const latest = state.value(keys.tag(spec.org, tagKeyId(tag)))?.digest
      if (latest === undefined || latest === spec.imageDigest || latest === followed.refused) return
      images.emit('image-update', id, `seen: ${tag} is now ${latest.slice(0, 19)} (${id} runs ${spec.imageDigest!.slice(0, 19)})`)
      const { verdict } = await this.init.gate.judge(spec, latest, [], { signal: this.abort.signal })
      if (!verdict.pass) {
        followed.refused = latest
        images.emit('image-update', id, `refused ${latest.slice(0, 19)} by ${spec.org}'s scan gate: ${verdict.problems.join('; ')} (${id} stays on ${spec.imageDigest!.slice(0, 19)}; deploy with --waive ID to accept a finding)`)
        return
      }
      // the entry may have changed while the gate ran
      const current = state.value(keys.service(spec.org, spec.name))
      if (current === undefined || current.spec.imageDigest !== spec.imageDigest || current.spec.update.watch !== true) return
      await this.init.deploy([{ ...current.spec, imageDigest: latest }])
      images.emit('image-update', id, `gate passed (${verdict.summary}); rolling ${id} to ${latest.slice(0, 19)}, at most ${current.spec.update.maxUnavailable} replica(s) down at a time`)
    } catch (err) {
      this.log.error('%s: %s', id, messageOf(err))
      followed.retryAt = clock.now() + RETRY_MS
      images.emit('image-update', id, `update of ${id} failed: ${messageOf(err)} (tried again in ${RETRY_MS / 1000}s)`)
    } finally {
      followed.busy = false
    }
  }

  /** a newer digest of `tag` in the registry, when one answers: pulled and pushed into the mesh, which moves the tag */
  private async checkRegistry (id: string, tag: string, running: string): Promise<void> {
    const { images, engine } = this.init
    const remote = await engine.registryDigest(tag, { signal: this.abort.signal })
    if (remote === undefined) return
    const known = images.readable(running).some(r => r.value.registry?.endsWith(`@${remote}`) === true) ||
      images.state.records('image', `${images.org}/`).some(r => r.value.registry?.endsWith(`@${remote}`) === true && r.value.tags.includes(tag))
    if (known) return
    images.emit('image-update', id, `seen: the registry has ${tag} at ${remote.slice(0, 19)}; pulling it once for the mesh`)
    await engine.pull(tag, { signal: this.abort.signal })
    await images.push(tag, { source: 'registry' })
  }
}
