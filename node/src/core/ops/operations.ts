/**
 * What people ask a node to do, and what they ask it to show: deploy,
 * remove, scale, cordon, invite, and the views behind `minga ls`, `ps`,
 * `nodes` and `status`. Sans I/O: the control API and the simulator both
 * call it.
 */
import {
  createInvite, encodeRecoveryKey, generateIdentity, inviteSecretHash, keys, newInviteId, newInviteSecret, snapshotPrefix, swarmKeyBytes, swarmKeyFile, canonicalJson,
  type Identity, type InviteRecord, type PeerIdString, type ServiceRecord, type ServiceSpec
} from '@minga/protocol'
import type { EventSink, NodeReports } from '../components.js'
import type { EventLog, MeshEvent } from '../events/event-log.js'
import type { EventItem, MeshEvents } from '../events/mesh-events.js'
import type { Secrets } from '../trust/secrets.js'
import type { GatherLogsOptions, LogItem } from '../logs/logs-gather.js'
import type { PinnedImage, PinOptions } from '../images/pinning.js'
import { auditView, type AuditRecord } from '../trust/audit.js'
import { BadRequestError, ClockSkewError, ConflictError, ForbiddenError, NotFoundError } from '../../errors.js'
import { clockVerdict } from '../membership/clock-offset.js'
import { routeConflicts, type WebPorts } from '../ingress/routes.js'
import { applyChangeSet, checkDeployable, type ApplyResult, type ChangeSet } from './apply.js'
import { chunksOf, configFilesOf, dropChunks, storeChunks } from './configs.js'
import { statusView, type StatusComponents, type StatusView } from './status-view.js'
import { nodesView, psView, servicesView, type NodeView, type ReplicaView, type ServiceView } from './views.js'

/** what Operations uses: the views' components, the event log, and the mesh-wide reads (reports, logs, events) */
export interface OperationsComponents extends StatusComponents {
  identity: Identity
  /** the live nodes' reports, asked for when a view is shown */
  reports: Pick<NodeReports, 'gather'>
  events: EventSink & Pick<EventLog, 'recent'>
  /** the logs of a service's replicas from every node that runs them, merged by time */
  readLogs: (options: GatherLogsOptions) => AsyncGenerator<LogItem>
  meshEvents: Pick<MeshEvents, 'gather' | 'follow'>
  /** images pinned by digest and gated by the org's policy (when the node carries images) */
  images?: { pin: (specs: ServiceSpec[], options: PinOptions) => Promise<{ specs: ServiceSpec[], images: PinnedImage[] }> }
  /** this node's shared web ports, which a published port may not take while a service routes host names there (default 80 and 443) */
  webPorts?: WebPorts
  /** a change set sets its services' secrets when they differ */
  secrets: Pick<Secrets, 'set' | 'differs'>
}

export interface DeployResult {
  service: string
  status: 'created' | 'updated' | 'unchanged'
  hash?: string
  /** the image as pinned: its digest, where it came from, what its scan says */
  image?: PinnedImage
}

export type DeployOptions = PinOptions

export interface InviteOptions {
  org?: string
  newOrg?: boolean
  ttlMs: number
  uses: number
  /** door addresses joiners dial */
  bootstrap: string[]
  /** the private-network key file */
  psk: Uint8Array
}

/**
 * What people ask a node to do and show (see above); every method checks what the caller may do and
 * throws BadRequestError, ForbiddenError, NotFoundError, ConflictError or ClockSkewError saying what to do instead
 */
export class Operations {
  constructor (private readonly core: OperationsComponents) {}

  /** this node's clock, ms since epoch */
  now (): number {
    return this.core.clock.now()
  }

  /**
   * Throws ClockSkewError when this node's clock runs so far ahead of the
   * mesh's that every other node would refuse what it writes now (an
   * acknowledged write that the mesh refuses would be a lie)
   */
  checkClockForWrite (): void {
    const verdict = clockVerdict(this.core.clockOffset(), this.core.state.maxClockAhead)
    if (verdict.level === 'refused') throw new ClockSkewError(verdict.text)
  }

  /** this node's organization; ForbiddenError before its admission has arrived */
  get org (): string {
    const org = this.core.state.memberOrg(this.core.identity.peerId)
    if (org === undefined) throw new ForbiddenError('This node is not a member of the mesh yet; run "minga join TOKEN" first')
    return org
  }

  /** `name` or `org/name` → `[org, name]`, defaulting to this node's org */
  resolveService (ref: string): [string, string] {
    const parts = ref.split('/')
    if (parts.length === 1) return [this.org, parts[0]]
    if (parts.length === 2) return [parts[0], parts[1]]
    throw new BadRequestError(`"${ref}" is not a service name; use NAME or ORG/NAME`)
  }

  /**
   * `org/name`, or a name: this node's organization's service of that name,
   * else the one service of that name in any organization (as `minga ls`
   * shows them all). NotFoundError when none; BadRequestError when several
   * other organizations have one
   */
  findService (ref: string): [string, string] {
    const [org, name] = this.resolveService(ref)
    if (ref.includes('/') || this.core.state.value(keys.service(org, name)) !== undefined) return [org, name]
    const orgs = this.core.reconciler.desired().filter(s => s.spec.name === name).map(s => s.spec.org)
    if (orgs.length === 1) return [orgs[0], name]
    if (orgs.length > 1) throw new BadRequestError(`${orgs.length} organizations have a service ${name} (${orgs.slice(0, 5).join(', ')}); name one as ORG/${name}`)
    return [org, name]
  }

  serviceRecord (ref: string): ServiceRecord {
    const [org, name] = this.findService(ref)
    const record = this.core.state.value(keys.service(org, name))
    if (record === undefined) throw new NotFoundError(`No service ${ref.includes('/') ? ref : name} in the mesh; "minga ls" lists the services`)
    return record
  }

  /**
   * Declare services. Nothing is written unless every spec may be: one of
   * this node's org, not replacing a service of another Compose project (or
   * a project's service with one of none), its config content on this node,
   * its image found and passed by the org's scan gate (when the node carries
   * images: each is then pinned by digest)
   */
  async deploy (given: ServiceSpec[], options: DeployOptions = {}): Promise<DeployResult[]> {
    const org = this.org
    for (const spec of given) {
      if (spec.org !== org) throw new ForbiddenError(`This node belongs to ${org} and cannot deploy ${spec.org}/${spec.name}; deploy it from a node of ${spec.org}`)
      checkDeployable(this.core.state, this.core.state.value(keys.service(spec.org, spec.name)), spec)
    }
    // each image resolved to a digest once, and judged by the org's scan gate (nothing is written when one is refused)
    const pinned = this.core.images === undefined ? { specs: given, images: [] } : await this.core.images.pin(given, options)
    const specs = pinned.specs
    this.checkRoutes(specs)
    const results: DeployResult[] = []
    for (const spec of specs) {
      const key = keys.service(spec.org, spec.name)
      const existing = this.core.state.value(key)
      const image = pinned.images.find(p => p.service === `${spec.org}/${spec.name}`)
      if (existing !== undefined && canonicalJson(existing.spec) === canonicalJson(spec)) {
        results.push({ service: `${spec.org}/${spec.name}`, status: 'unchanged', ...(image === undefined ? {} : { image }) })
        continue
      }
      const created = existing?.created ?? this.core.state.clock.tick()
      await this.core.state.write(this.core.identity, key, { spec, created })
      // replicas of the replaced spec may still start from its chunks during the update
      await dropChunks(this.core.state, this.core.identity, spec.org, spec.name, new Set([...chunksOf(spec), ...chunksOf(existing?.spec)]))
      const named = spec.imageDigest === undefined ? spec.image : `${spec.image} (${spec.imageDigest.slice(0, 19)})`
      this.emit('deploy', `${spec.org}/${spec.name}`, existing === undefined ? `created with ${spec.replicas} replica(s) of ${named}` : `updated to ${named}, ${spec.replicas} replica(s)`)
      results.push({ service: `${spec.org}/${spec.name}`, status: existing === undefined ? 'created' : 'updated', ...(image === undefined ? {} : { image }) })
    }
    return results
  }

  /** ConflictError when `specs` would take a published port or a web host name that another service of the mesh holds */
  private checkRoutes (specs: ServiceSpec[]): void {
    const existing = this.core.state.records('service').map(e => ({ id: `${e.value.spec.org}/${e.value.spec.name}`, spec: e.value.spec, created: e.value.created }))
    // a new service is younger than every service there is
    const stamp = '\uffff'
    const candidates = specs.map(spec => {
      const id = `${spec.org}/${spec.name}`
      return { id, spec, created: existing.find(s => s.id === id)?.created ?? stamp }
    })
    const conflicts = routeConflicts(candidates, existing, this.core.webPorts === undefined ? {} : { webPorts: this.core.webPorts })
    if (conflicts.length > 0) throw new ConflictError(conflicts.join('; '))
  }

  /**
   * `minga apply` and `minga diff`: every service of a folder (or a commit)
   * as one change, checked whole before anything is written (ops/apply.ts),
   * its images pinned and gated as a deploy's are; with `dryRun`, only the plan
   */
  async apply (set: ChangeSet, options: { dryRun: boolean }): Promise<ApplyResult> {
    if (!options.dryRun) this.checkClockForWrite()
    const org = this.org
    for (const spec of set.specs) if (spec.org !== org) throw new ForbiddenError(`This node belongs to ${org} and cannot apply ${spec.org}/${spec.name}; a change set declares services of the organization that applies it`)
    // each image pinned by digest and judged by the org's scan gate, as a deploy does (a dry run too: its plan shows what the apply would write)
    const specs = this.core.images === undefined ? set.specs : (await this.core.images.pin(set.specs, {})).specs
    this.checkRoutes(specs)
    return await applyChangeSet(this.core, org, { ...set, specs }, options)
  }

  /** `minga export`: the stored records of an organization's services (default: this node's), sorted by name */
  records (org: string = this.org): ServiceRecord[] {
    return this.core.state.records('service', `${org}/`).map(entry => entry.value).sort((a, b) => a.spec.name < b.spec.name ? -1 : 1)
  }

  /** the config files of a service with their content (not secret: every node holds them), for `minga export` */
  configFiles (ref: string): Array<{ path: string, content: string }> {
    const { spec } = this.serviceRecord(ref)
    return configFilesOf(this.core.state, spec).map(file => ({ path: file.path, content: Buffer.from(file.content).toString('base64') }))
  }

  /**
   * Removes a service everywhere. Its volumes and their backups stay (a
   * service deployed again under the name continues from them), unless
   * `volumes`: then its backups are deleted (holders drop them) and every
   * node removes its copies, kept-aside ones included
   */
  async remove (ref: string, options: { volumes?: boolean } = {}): Promise<void> {
    const record = this.serviceRecord(ref)
    const { org, name } = record.spec
    this.requireOwnOrg(org)
    const { state, identity } = this.core
    await state.write(identity, keys.service(org, name), undefined)
    await dropChunks(state, identity, org, name, new Set())
    if (options.volumes === true) {
      for (const entry of state.records('snapshot', snapshotPrefix(org, name))) await state.write(identity, entry.key, undefined)
      if (state.value(keys.prune(org, name)) !== undefined) await state.write(identity, keys.prune(org, name), undefined)
      if (state.value(keys.backup(org, name)) !== undefined) await state.write(identity, keys.backup(org, name), undefined)
    }
    this.emit('service-removed', `${org}/${name}`, options.volumes === true ? 'removed by an operator, with its volumes and their backups' : 'removed by an operator (its volumes and backups stay: "minga rm --volumes" removes them)')
  }

  /** remove every service of this node's org that a Compose project declared; returns their ids */
  async removeProject (project: string, options: { volumes?: boolean } = {}): Promise<string[]> {
    const org = this.org
    const ids = this.core.state.records('service', `${org}/`)
      .map(entry => entry.value.spec)
      .filter(spec => spec.project === project)
      .map(spec => `${spec.org}/${spec.name}`)
      .sort()
    if (ids.length === 0) throw new NotFoundError(`No service of ${org} belongs to project ${project}; "minga ls" shows the projects`)
    for (const id of ids) await this.remove(id, options)
    return ids
  }

  /** store config content (base64 chunks) of a service of this node's org, ahead of the deploy that names it */
  async storeConfigs (ref: string, chunks: unknown[]): Promise<{ service: string, stored: string[], written: number }> {
    const [org, name] = this.resolveService(ref)
    this.requireOwnOrg(org)
    const { stored, written } = await storeChunks(this.core.state, this.core.identity, org, name, chunks)
    return { service: `${org}/${name}`, stored, written }
  }

  /**
   * Gives this node's organization a recovery key when it has none (an org
   * made before recovery keys existed): resolves with the key's text, shown
   * once. ConflictError when the org has one (it is kept for good)
   */
  async createRecoveryKey (): Promise<{ org: string, key: string }> {
    const org = this.org
    const { state, identity } = this.core
    if (state.value(keys.recovery(org)) !== undefined) throw new ConflictError(`${org} already has a recovery key (made with the org, kept for good); use the one you keep`)
    const recovery = await generateIdentity()
    await state.write(identity, keys.recovery(org), { key: recovery.peerId })
    this.emit('secret', org, 'recovery key made; the org\'s secrets and backup passwords are sealed to it too')
    return { org, key: encodeRecoveryKey(recovery) }
  }

  async scale (ref: string, replicas: number): Promise<void> {
    const record = this.serviceRecord(ref)
    this.requireOwnOrg(record.spec.org)
    if (!Number.isSafeInteger(replicas) || replicas < 0 || replicas > 1000) throw new BadRequestError(`Replicas must be a whole number from 0 to 1000, not ${replicas}`)
    if (record.spec.singleton && replicas > 1) throw new BadRequestError(`${record.spec.org}/${record.spec.name} is a singleton: it runs 0 or 1 replica`)
    // only the count changes: the update policy and every container field stay as deployed, so no replica restarts
    const spec = { ...record.spec, replicas }
    await this.core.state.write(this.core.identity, keys.service(spec.org, spec.name), { ...record, spec })
  }

  /** resolve a node by full peer id or a unique prefix/suffix of it */
  resolveNode (ref: string): string {
    const matches = [...this.core.state.members().keys()].filter(id => id === ref || id.endsWith(ref) || id.startsWith(ref))
    if (matches.length === 1) return matches[0]
    if (matches.length === 0) throw new NotFoundError(`No member node matches "${ref}"; "minga nodes" lists them`)
    throw new BadRequestError(`"${ref}" matches ${matches.length} nodes; give more of the id`)
  }

  /** a node of this node's organization: only its own organization drains, uncordons or removes it */
  private ownNode (ref: string, verb: string): string {
    const peer = this.resolveNode(ref)
    const org = this.core.state.memberOrg(peer)
    if (org !== this.org) throw new ForbiddenError(`Node ${peer.slice(-8)} belongs to ${org}; only its members ${verb} it (run this on a node of ${org})`)
    return peer
  }

  async cordon (ref: string, reason: string): Promise<string> {
    const peer = this.ownNode(ref, 'drain or cordon')
    await this.core.state.write(this.core.identity, keys.cordon(peer), { reason })
    this.emit('cordon', peer, reason)
    return peer
  }

  async uncordon (ref: string): Promise<string> {
    const peer = this.ownNode(ref, 'uncordon')
    await this.core.state.write(this.core.identity, keys.cordon(peer), undefined)
    this.emit('uncordon', peer, 'back in service')
    return peer
  }

  async invite (options: InviteOptions): Promise<{ token: string, id: string, expires: number }> {
    const org = this.org
    if (options.org !== undefined && options.org !== org) throw new ForbiddenError(`This node belongs to ${org}; it invites to ${org} or to a new organization (--new-org)`)
    if (!(options.ttlMs > 0)) throw new BadRequestError('The invite lifetime must be positive, e.g. --ttl 24h')
    if (!Number.isSafeInteger(options.uses) || options.uses < 1) throw new BadRequestError('--uses must be a whole number of at least 1')
    if (options.bootstrap.length === 0) throw new BadRequestError('This node has no door address to put in the invite; start it with "minga up" first')
    const id = newInviteId()
    const secret = newInviteSecret()
    const expires = this.core.clock.now() + options.ttlMs
    const newOrg = options.newOrg === true
    const record: InviteRecord = { issuerOrg: org, newOrg, secretHash: inviteSecretHash(secret), expires, uses: options.uses }
    if (!newOrg) record.org = org
    await this.core.state.write(this.core.identity, keys.invite(id), record)
    const token = createInvite(this.core.identity, {
      meshId: this.core.state.meshId,
      root: this.core.state.root as PeerIdString,
      psk: swarmKeyFile(swarmKeyBytes(options.psk)),
      bootstrap: options.bootstrap.slice(0, 8),
      inviteId: id,
      secret,
      org: newOrg ? undefined : org,
      newOrg,
      expires,
      uses: options.uses
    })
    return { token, id, expires }
  }

  /** `minga ls`: every desired service with its replicas' counts, sorted by id (from the live nodes' reports) */
  async services (): Promise<ServiceView[]> { return servicesView(this.core, await this.core.reports.gather()) }
  /** every replica, or those of one service (NotFoundError when there is no such service) */
  async ps (ref?: string): Promise<ReplicaView[]> {
    const service = ref === undefined ? undefined : this.serviceRecord(ref).spec
    const reports = await this.core.reports.gather()
    return psView(this.core, reports, service === undefined ? undefined : `${service.org}/${service.name}`)
  }

  /** `minga nodes`: every member, its liveness, capacity and labels */
  async nodes (): Promise<NodeView[]> { return nodesView(this.core, await this.core.reports.gather()) }
  /** `minga status`: is the mesh healthy, and if not, what to look at */
  async status (): Promise<StatusView> { return statusView(this.core, await this.core.reports.gather()) }

  /** the logs of a service's replicas from every node that runs them, merged by time (ends when the signal aborts) */
  logs (options: GatherLogsOptions): AsyncGenerator<LogItem> { return this.core.readLogs(options) }
  /** this node's own recent events, since `since` (ms since epoch), at most `limit` */
  recentEvents (options: { since?: number, limit?: number }): MeshEvent[] { return this.core.events.recent(options) }
  /** every live node's events since `since`, merged by time: the last `limit` of them */
  async gatherEvents (options: { since?: number, limit?: number, signal?: AbortSignal }): Promise<EventItem[]> { return await this.core.meshEvents.gather(options) }
  /** recent events of every live node, then new ones as they happen, until the signal aborts */
  followEvents (options: { since?: number, signal?: AbortSignal }): AsyncGenerator<EventItem> { return this.core.meshEvents.follow(options) }
  /** `minga audit`: the governance entries the mesh holds, signatures checked */
  audit (options: { kinds?: string[], limit?: number } = {}): AuditRecord[] { return auditView(this.core.state, options) }

  /**
   * a node for an act that cannot be undone: its full peer id, or a unique
   * suffix of at least 6 characters (as "minga nodes" shows 8);
   * BadRequestError when too short or ambiguous, NotFoundError when none
   */
  resolveNodeStrictly (ref: string): string {
    const members = [...this.core.state.members().keys()]
    if (members.includes(ref)) return ref
    if (ref.length < 6) throw new BadRequestError(`"${ref}" is too short to name a node for removal; give its full id or at least its last 6 characters`)
    const matches = members.filter(id => id.endsWith(ref))
    if (matches.length === 1) return matches[0]
    if (matches.length === 0) throw new NotFoundError(`No member node ends with "${ref}"; "minga nodes" lists them`)
    throw new BadRequestError(`"${ref}" matches ${matches.length} nodes; give more of the id`)
  }

  private requireOwnOrg (org: string): void {
    if (org !== this.org) throw new ForbiddenError(`Only members of ${org} change its services; this node belongs to ${this.org}`)
  }

  private emit (kind: 'deploy' | 'service-removed' | 'cordon' | 'uncordon' | 'secret', subject: string, reason: string): void {
    this.core.events.emit({ time: this.core.clock.now(), node: this.core.identity.peerId, kind, subject, reason })
  }
}
