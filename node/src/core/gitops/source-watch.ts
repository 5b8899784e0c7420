/**
 * Git as the source of an organization's desired state. Every source
 * (`source/<org>/<name>`) is watched by one node of its organization: the
 * first of its live, uncordoned nodes in rendezvous order for the source
 * (scheduler's `rendezvousChoice`), which every node computes alike, so
 * when the watcher dies the next one takes over without a word. The
 * watcher polls every `interval`: it fetches the ref and, when it names a
 * commit other than the one applied (or refused) last, reads the commit's
 * change set and applies it as `minga apply` does (Operations.apply: checked
 * whole, one batch), recording the commit on every service it touches. A
 * commit whose files or signature fail the checks changes nothing and is
 * reported; a fetch that fails is retried at the next poll. What happened
 * goes to `source-status/<org>/<name>` (written only when it changes) and
 * to the events (`source-applied`, `source-rejected`, `source-error`,
 * `source-watch`).
 */
import { canonicalJson, keys, nameOf, messageOf, sourceFingerprint, type SourceStatusRecord, SOURCE_LIMITS } from '@minga/protocol'
import { rendezvousChoice } from '@minga/scheduler'
import type { Timer } from '../clock.js'
import type { CoreComponents, LiveSet } from '../components.js'
import type { Logger } from '../logger.js'
import type { ApplyResult, ChangeSet } from '../ops/apply.js'
import { chunkDigest, storeChunks } from '../ops/configs.js'
import type { SourceReader, SourceRef } from './reader.js'

export interface SourceWatchComponents extends CoreComponents {
  liveness: Pick<LiveSet, 'live'>
  reader: SourceReader
  /** Operations.apply: the same checked, atomic path as `minga apply` */
  apply: (set: ChangeSet, options: { dryRun: boolean }) => Promise<ApplyResult>
}

/** how often the watcher checks whether it holds a source and whether a poll is due */
export const SOURCE_TICK_MS = 1000
/** how long one poll (fetch, read, apply) may take */
const POLL_TIMEOUT_MS = 5 * 60_000

/** errors of a commit's content: the commit is refused until the next one, not retried */
const CHECK_ERRORS = new Set(['SourceCheckError', 'InvalidSpecError', 'BadRequestError', 'ForbiddenError', 'ConflictError', 'ComposeFileError'])

interface Watched { nextPoll: number, polling: boolean, record: string }

/** the node of `org` that acts for `key`: the first of its live members in rendezvous order for the key (cordoned ones only when no other is live) */
export function orgNodeFor (state: CoreComponents['state'], live: readonly string[], org: string, key: string): string | undefined {
  const ofOrg = live.filter(peer => state.memberOrg(peer) === org && state.revoked(peer) === undefined)
  const uncordoned = ofOrg.filter(peer => state.value(keys.cordon(peer)) === undefined)
  return rendezvousChoice(key, uncordoned.length > 0 ? uncordoned : ofOrg)
}

/** the node that watches `org/name` among the live members of `org` (orgNodeFor) */
export function sourceWatcher (state: CoreComponents['state'], live: readonly string[], org: string, name: string): string | undefined {
  return orgNodeFor(state, live, org, `source/${org}/${name}`)
}

/** the watch of every source of this node's organization that falls to this node (see above) */
export class SourceWatch {
  private readonly log: Logger
  private readonly watched = new Map<string, Watched>()
  private timer?: Timer
  private unsubscribe?: () => void
  private readonly aborts = new Set<AbortController>()
  /** polls finished, for tests */
  polls = 0

  constructor (private readonly init: SourceWatchComponents) {
    this.log = init.logger.forComponent('gitops')
  }

  start (): void {
    this.timer = this.init.clock.every(SOURCE_TICK_MS, () => { this.tick() })
    this.unsubscribe = this.init.state.subscribe((applied) => {
      // a new or changed source is polled at once
      if (applied.some(e => e.key.startsWith('source/'))) this.tick()
    })
  }

  stop (): void {
    this.timer?.cancel()
    this.unsubscribe?.()
    for (const abort of this.aborts) abort.abort(new Error('the node is stopping'))
    this.watched.clear()
  }

  /** the sources this node watches now, by `org/name` */
  watching (): string[] {
    return [...this.watched.keys()].sort()
  }

  private tick (): void {
    const { state, identity, liveness } = this.init
    const org = state.memberOrg(identity.peerId)
    if (org === undefined) return
    const live = liveness.live()
    const mine = new Set<string>()
    for (const entry of state.records('source', `${org}/`)) {
      const name = entry.key.slice(`source/${org}/`.length)
      const id = `${org}/${name}`
      if (sourceWatcher(state, live, org, name) !== identity.peerId) continue
      mine.add(id)
      const record = JSON.stringify(entry.value)
      let watched = this.watched.get(id)
      if (watched === undefined) {
        watched = { nextPoll: 0, polling: false, record }
        this.watched.set(id, watched)
        this.emit('source-watch', id, `this node watches ${entry.value.url} (${entry.value.ref}${entry.value.path === '' ? '' : `, ${entry.value.path}`}) every ${Math.round(entry.value.interval / 1000)}s`)
      }
      if (watched.record !== record) { watched.record = record; watched.nextPoll = 0 }
      if (!watched.polling && this.init.clock.now() >= watched.nextPoll) void this.poll(id, { org, name, ...entry.value }, watched)
    }
    for (const id of this.watched.keys()) if (!mine.has(id)) this.watched.delete(id)
  }

  /** one poll of one source: fetch, and apply the commit when it is new; never throws */
  private async poll (id: string, source: SourceRef, watched: Watched): Promise<void> {
    const { state, identity, clock } = this.init
    watched.polling = true
    const abort = new AbortController()
    this.aborts.add(abort)
    const timer = clock.after(POLL_TIMEOUT_MS, () => abort.abort(new Error('the poll took too long')))
    const status = state.value(keys.sourceStatus(source.org, source.name))
    try {
      const commit = await this.init.reader.fetch(source, { signal: abort.signal })
      const same = status?.of === sourceFingerprint(source)
      if (same && (commit === status?.commit || commit === status?.rejected?.commit)) {
        await this.report(source, { ...facts(status), node: identity.peerId })
        return
      }
      await this.applyCommit(id, source, commit, status, abort.signal)
    } catch (err) {
      this.log.error('source %s: %s', id, messageOf(err))
      const error = messageOf(err).slice(0, SOURCE_LIMITS.error)
      if (status?.error !== error) this.emit('source-error', id, `${error} (retried every ${Math.round(source.interval / 1000)}s)`)
      await this.report(source, { ...facts(status), node: identity.peerId, error })
    } finally {
      timer.cancel()
      this.aborts.delete(abort)
      watched.polling = false
      watched.nextPoll = clock.now() + source.interval
      this.polls++
    }
  }

  private async applyCommit (id: string, source: SourceRef, commit: string, status: SourceStatusRecord | undefined, signal: AbortSignal): Promise<void> {
    const { state, identity, clock } = this.init
    const short = commit.slice(0, 12)
    let result: ApplyResult
    try {
      const loaded = await this.init.reader.load(source, commit, source.org, { signal })
      const set: ChangeSet = {
        specs: loaded.specs,
        secrets: loaded.secrets,
        source: { name: source.name, commit },
        ...(source.prune ? { prune: { scope: 'source' as const, name: source.name } } : {}),
        provided: loaded.configs.flatMap(c => c.chunks.map(chunk => chunkDigest(chunk)))
      }
      // the whole set is checked before any content is stored
      await this.init.apply(set, { dryRun: true })
      for (const config of loaded.configs) await storeChunks(state, identity, source.org, config.service, config.chunks.map(c => Buffer.from(c).toString('base64')))
      result = await this.init.apply({ ...set, provided: undefined }, { dryRun: false })
    } catch (err) {
      if (!CHECK_ERRORS.has(nameOf(err) ?? '')) throw err
      const error = messageOf(err).slice(0, SOURCE_LIMITS.error)
      this.emit('source-rejected', id, `commit ${short} not applied: ${error}`)
      await this.report(source, { ...facts(status), node: identity.peerId, rejected: { commit, error } })
      return
    }
    const counts = (['create', 'update', 'remove'] as const).map(action => [action, result.changes.filter(c => c.action === action).length] as const)
    const summary = counts.filter(([, n]) => n > 0).map(([action, n]) => `${n} ${action === 'create' ? 'created' : action === 'update' ? 'updated' : 'removed'}`).join(', ')
    this.emit('source-applied', id, `commit ${short} applied: ${summary === '' ? 'nothing changed' : summary}`)
    await this.report(source, { commit, applied: clock.now(), node: identity.peerId })
  }

  /** write the status when it says something new */
  private async report (source: SourceRef, next: SourceStatusRecord): Promise<void> {
    const { state, identity } = this.init
    const key = keys.sourceStatus(source.org, source.name)
    const current = state.value(key)
    const record: SourceStatusRecord = { ...next, of: sourceFingerprint(source) }
    if (current !== undefined && canonicalJson(current) === canonicalJson(record)) return
    try {
      await state.write(identity, key, record)
    } catch (err) {
      this.log.error('status of source %s/%s not written: %s', source.org, source.name, messageOf(err))
    }
  }

  private emit (kind: 'source-applied' | 'source-rejected' | 'source-error' | 'source-watch', subject: string, reason: string): void {
    this.init.events.emit({ time: this.init.clock.now(), node: this.init.identity.peerId, kind, subject, reason })
  }
}

/** what a status keeps across polls: the commit applied and when, the commit refused (not the watcher, not the last error) */
function facts (status: SourceStatusRecord | undefined): Omit<SourceStatusRecord, 'node'> {
  if (status === undefined) return {}
  const { commit, applied, rejected } = status
  return { ...(commit === undefined ? {} : { commit }), ...(applied === undefined ? {} : { applied }), ...(rejected === undefined ? {} : { rejected }) }
}
