/**
 * The operator's verbs on git sources: `minga apply --git URL --watch 1m`
 * records one (`source/<org>/<name>`), `minga sources` lists them with the
 * node that watches each and what it did last, `minga sources rm NAME`
 * stops the watch (the services stay).
 */
import { keys, sourceProblem, type SourceRecord, type SourceStatusRecord } from '@minga/protocol'
import type { CoreComponents, LiveSet } from '../components.js'
import { BadRequestError, ForbiddenError, NotFoundError } from '../../errors.js'
import { sourceWatcher } from './source-watch.js'

export interface SourcesComponents extends CoreComponents {
  liveness: Pick<LiveSet, 'live'>
}

/** a source as `minga sources` shows it */
export type SourceView = SourceRecord & {
  /** `org/name` */
  id: string
  org: string
  name: string
  /** the node that watches it now, as this node computes it; absent when no node of the org is live */
  watcher?: string
  status?: SourceStatusRecord
}

/** set, remove and list the git sources of this node's organization (see above) */
export class Sources {
  constructor (private readonly init: SourcesComponents) {}

  /** record (or change) a source of this node's org; BadRequestError naming the flag that is wrong */
  async set (name: string, record: SourceRecord): Promise<SourceView> {
    const org = this.org()
    const key = keys.source(org, name)
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) throw new BadRequestError(`"${name}" is not a source name: use lower-case letters, digits and dashes (--name)`)
    const problem = sourceProblem(record as unknown as Record<string, unknown>)
    if (problem !== undefined) throw new BadRequestError(problem)
    await this.init.state.write(this.init.identity, key, record)
    this.init.events.emit({ time: this.init.clock.now(), node: this.init.identity.peerId, kind: 'source-watch', subject: `${org}/${name}`, reason: `source set: ${record.url} (${record.ref}${record.path === '' ? '' : `, ${record.path}`}), every ${Math.round(record.interval / 1000)}s${record.prune ? ', prune' : ''}${record.signers === undefined ? '' : `, ${record.signers.length} signer(s)`}` })
    return this.view(org, name)!
  }

  /** stop watching a source; its services stay as they are */
  async remove (name: string): Promise<void> {
    const org = this.org()
    if (this.init.state.value(keys.source(org, name)) === undefined) throw new NotFoundError(`${org} has no source ${name}; "minga sources" lists them`)
    await this.init.state.writeMany(this.init.identity, [{ key: keys.source(org, name), value: undefined }, { key: keys.sourceStatus(org, name), value: undefined }])
    this.init.events.emit({ time: this.init.clock.now(), node: this.init.identity.peerId, kind: 'source-watch', subject: `${org}/${name}`, reason: 'source removed: no node watches it any more; its services stay' })
  }

  /** every source of `org` (default: this node's), by name */
  list (org: string = this.org()): SourceView[] {
    return this.init.state.records('source', `${org}/`).map(entry => this.view(org, entry.key.slice(`source/${org}/`.length))!).sort((a, b) => a.name < b.name ? -1 : 1)
  }

  private view (org: string, name: string): SourceView | undefined {
    const { state, liveness } = this.init
    const record = state.value(keys.source(org, name))
    if (record === undefined) return undefined
    const watcher = sourceWatcher(state, liveness.live(), org, name)
    const status = state.value(keys.sourceStatus(org, name))
    return { id: `${org}/${name}`, org, name, ...record, ...(watcher === undefined ? {} : { watcher }), ...(status === undefined ? {} : { status }) }
  }

  private org (): string {
    const org = this.init.state.memberOrg(this.init.identity.peerId)
    if (org === undefined) throw new ForbiddenError('This node is not a member of the mesh yet; run "minga join TOKEN" first')
    return org
  }
}
