/**
 * A change set: every service an organization declares in a folder (or a
 * commit of its git source), applied as one change (`minga apply`, `minga
 * diff`, the git watcher). Every service is checked first (this node's
 * organization, not replacing another Compose project's service, its config
 * content here, its secrets sealable); unless all pass, nothing is written.
 * Then secrets are set, and the services and removals are written in one
 * batch (`State.writeMany`): a crash leaves the whole change or none of it,
 * and every node's reconcile loop sees it at once. A dry run checks and
 * plans and writes nothing.
 */
import {
  containerHash, keys, projectConflict, specChanges,
  type FieldChange, type Identity, type Json, type ServiceRecord, type ServiceSource, type ServiceSpec, type State
} from '@minga/protocol'
import type { EventSink } from '../components.js'
import type { Clock } from '../clock.js'
import type { Secrets } from '../trust/secrets.js'
import { BadRequestError, ConflictError, ForbiddenError } from '../../errors.js'
import { chunksOf, dropChunks, missingChunks } from './configs.js'

/** what `minga apply` and the watcher hand the node */
export interface ChangeSet {
  specs: ServiceSpec[]
  /** secrets of the declared services (from Compose `secrets:`), set when their value differs */
  secrets?: Array<{ service: string, name: string, value: Uint8Array }>
  /**
   * remove services the set does not declare: `org`, every service of the
   * organization (`minga apply DIR --prune`); `source`, those that came from
   * the named git source
   */
  prune?: { scope: 'org' } | { scope: 'source', name: string }
  /** recorded on every service the set creates or changes */
  source?: ServiceSource
  /** config chunks (sha256) the caller stores before it applies for real: a dry run counts them as present */
  provided?: string[]
}

export type ChangeAction = 'create' | 'update' | 'unchanged' | 'remove'

/** one service in a plan: what happens to it, each field that changes, whether its containers are replaced */
export interface ServiceChange {
  service: string
  action: ChangeAction
  fields: FieldChange[]
  /** its running containers are replaced (a rolling update); false when only placement fields change */
  restarts: boolean
  /** secrets whose value the set changes (names only) */
  secrets?: string[]
}

export interface ApplyResult {
  org: string
  dryRun: boolean
  /** every declared service and every removal, by service id */
  changes: ServiceChange[]
}

export interface ApplyComponents {
  identity: Identity
  state: State
  clock: Clock
  events: EventSink
  secrets: Pick<Secrets, 'set' | 'differs'>
}

/** the org's own name, checked: a change set of another organization is refused whole */
export async function applyChangeSet (c: ApplyComponents, org: string, set: ChangeSet, options: { dryRun: boolean }): Promise<ApplyResult> {
  const changes = plan(c, org, set)
  if (options.dryRun) return { org, dryRun: true, changes }
  for (const secret of set.secrets ?? []) await c.secrets.set(org, secret.service, secret.name, secret.value, { ifChanged: true })
  const writes: Array<{ key: string, value: Json | undefined }> = []
  const declared = new Map(set.specs.map(spec => [spec.name, spec]))
  const previous = new Map<string, ServiceSpec | undefined>()
  for (const change of changes) {
    const name = change.service.slice(org.length + 1)
    const key = keys.service(org, name)
    const existing = c.state.value(key)
    previous.set(name, existing?.spec)
    if (change.action === 'remove') {
      writes.push({ key, value: undefined })
      continue
    }
    const spec = declared.get(name)!
    const adopt = set.source !== undefined && existing?.source?.name !== set.source.name
    if (change.action === 'unchanged' && !adopt) continue
    const record: ServiceRecord = { spec, created: existing?.created ?? c.state.clock.tick(), ...(set.source === undefined ? {} : { source: set.source }) }
    writes.push({ key, value: record as unknown as Json })
  }
  await c.state.writeMany(c.identity, writes)
  const now = c.clock.now()
  const from = set.source === undefined ? '' : ` (${set.source.name}@${set.source.commit.slice(0, 12)})`
  for (const change of changes) {
    if (change.action === 'unchanged') continue
    const name = change.service.slice(org.length + 1)
    const spec = declared.get(name)
    // replicas of a replaced spec may still start from its chunks during the update
    await dropChunks(c.state, c.identity, org, name, new Set([...chunksOf(spec), ...chunksOf(previous.get(name))]))
    const reason = change.action === 'remove'
      ? `removed: no longer declared${from}`
      : change.action === 'create' ? `created with ${spec!.replicas} replica(s) of ${spec!.image}${from}` : `updated to ${spec!.image}, ${spec!.replicas} replica(s)${from}`
    c.events.emit({ time: now, node: c.identity.peerId, kind: change.action === 'remove' ? 'service-removed' : 'deploy', subject: change.service, reason })
  }
  return { org, dryRun: false, changes }
}

/** every check, then the plan; throws what the first failed check says, writing nothing */
function plan (c: ApplyComponents, org: string, set: ChangeSet): ServiceChange[] {
  const provided = new Set(set.provided ?? [])
  const seen = new Set<string>()
  const changes: ServiceChange[] = []
  for (const spec of set.specs) {
    const id = `${spec.org}/${spec.name}`
    if (spec.org !== org) throw new ForbiddenError(`This node belongs to ${org} and cannot apply ${id}; a change set declares services of the organization that applies it`)
    if (seen.has(spec.name)) throw new BadRequestError(`${id} is declared twice in the change set; declare each service in one file`)
    seen.add(spec.name)
    const existing = c.state.value(keys.service(org, spec.name))
    checkDeployable(c.state, existing, spec, provided)
    const secrets = (set.secrets ?? []).filter(s => s.service === spec.name && c.secrets.differs(org, s.service, s.name, s.value)).map(s => s.name).sort()
    const fields = specChanges(existing?.spec, spec)
    const action: ChangeAction = existing === undefined ? 'create' : fields.length === 0 ? 'unchanged' : 'update'
    const restarts = existing !== undefined && (containerHash(existing.spec) !== containerHash(spec) || secrets.length > 0)
    changes.push({ service: id, action, fields, restarts, ...(secrets.length > 0 ? { secrets } : {}) })
  }
  for (const secret of set.secrets ?? []) {
    if (!seen.has(secret.service)) throw new BadRequestError(`The change set sets secret ${secret.name} of ${org}/${secret.service}, which it does not declare`)
  }
  const prune = set.prune
  if (prune !== undefined) {
    for (const entry of c.state.records('service', `${org}/`)) {
      const { spec, source } = entry.value
      if (seen.has(spec.name)) continue
      if (prune.scope === 'source' && source?.name !== prune.name) continue
      changes.push({ service: `${org}/${spec.name}`, action: 'remove', fields: specChanges(spec, undefined), restarts: false })
    }
  }
  return changes.sort((a, b) => a.service < b.service ? -1 : a.service > b.service ? 1 : 0)
}

/**
 * May `spec` replace `existing`: not another Compose project's service (nor
 * a project's with one of none), and its config content on this node (or
 * among `provided`). ConflictError or BadRequestError saying what to do
 */
export function checkDeployable (state: State, existing: ServiceRecord | undefined, spec: ServiceSpec, provided: ReadonlySet<string> = new Set()): void {
  const id = `${spec.org}/${spec.name}`
  const conflict = existing === undefined ? undefined : projectConflict(id, existing.spec.project, spec.project)
  if (conflict !== undefined) throw new ConflictError(conflict)
  const missing = missingChunks(state, spec).filter(d => !provided.has(d))
  if (missing.length > 0) throw new BadRequestError(`The content of ${id}'s config files is not on this node (${missing.length} chunk(s) missing); send it first (POST /v1/configs), as "minga deploy" does`)
}
