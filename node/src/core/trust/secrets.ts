/**
 * Secrets of services: `secret/<org>/<service>/<name>`, sealed (protocol's
 * secret-box.ts) to exactly the nodes that may read it; the passwords of
 * their backup repositories (`backup/<org>/<service>`) are sealed to the
 * same nodes and sealed again with them. The rule, the same on every node
 * because it reads only replicated state:
 *
 *   readers(org, service) = the unremoved nodes of <org> (the owners)
 *     ∪ the unremoved nodes of other orgs that may ever run the service:
 *       the spec's allowOrgs admit their org, their acceptOrgs admit <org>,
 *       their shareForOthers is above 0, and their labels meet the spec's
 *       constraints (cordons and capacity do not count: they change by the
 *       minute). Before the service is deployed: the owners only.
 *
 * When the readers change (a node joins, leaves, is removed, changes its
 * policy; the spec changes), a live owner node that can read the secret
 * seals it again under a fresh data key to the new readers; the first such
 * node by peer id does it. The reconciler asks `inputsFor` when it starts a
 * replica; a node that cannot read a secret yet fails that start, which is
 * retried with back-off until the re-sealed secret arrives.
 */
import { messageOf, keys, openSecret, parseKey, removedOrgs, sealSecret, type Identity, type NodeRecord, type SealedSecret, type ServiceSpec } from '@minga/protocol'
import { matchesConstraints } from '@minga/scheduler'
import { errorText, type Logger } from '../logger.js'
import { SerialTask } from '../task.js'
import type { CoreComponents, LiveSet } from '../components.js'
import { BadRequestError, ForbiddenError, SecretUnavailableError } from '../../errors.js'
import type { ContainerFile } from '../../runtime/types.js'

export interface SecretsComponents extends Pick<CoreComponents, 'identity' | 'state' | 'clock' | 'events' | 'logger'> {
  /** the first live owner that can open a secret seals it again; a change of the live set changes the readers */
  liveness: Pick<LiveSet, 'live' | 'onChange'>
  /**
   * the org's recovery key, on a node that joined with it (an org that lost
   * its nodes): it opens what was sealed to the lost nodes, and this node
   * seals it again to the readers; `done` hears when nothing of the org
   * needs the key any more
   */
  recovery?: { identity: Identity, done: () => void }
}

export interface SecretView {
  service: string
  name: string
  /** nodes it is sealed to */
  readers: number
  /** true when those are exactly the nodes that may read it now */
  current: boolean
  /** this node can read it */
  readable: boolean
  author: string
  updated: string
}

const RESEAL_KEYS = ['secret/', 'backup/', 'recovery/', 'service/', 'node/', 'member/', 'revoked/', 'vote/']
const RESEAL_DEBOUNCE = 200
const decoder = new TextDecoder('utf-8', { fatal: false })

/**
 * Secrets of services, sealed to who may run them (see above): `set`, `remove`, `list` (names and readers, never values),
 * `inputsFor` (what a replica gets); re-seals when the readers change
 */
export class Secrets {
  private readonly unsubscribe: Array<() => void> = []
  private readonly opened = new Map<string, { sig: string, value: Uint8Array }>()
  readonly stats = { resealed: 0, failures: 0 }

  private readonly log: Logger
  private readonly resealTask: SerialTask<number>

  constructor (private readonly init: SecretsComponents) {
    this.log = init.logger.forComponent('secrets')
    this.resealTask = new SerialTask(init.clock, RESEAL_DEBOUNCE, async () => await this.resealPass(), () => 0)
  }

  start (): void {
    this.resealTask.start()
    this.unsubscribe.push(this.init.state.subscribe((applied) => {
      if (applied.some(e => RESEAL_KEYS.some(prefix => e.key.startsWith(prefix)))) this.schedule()
    }))
    // who may read a secret depends on who is live, not on what peers run
    this.unsubscribe.push(this.init.liveness.onChange((change) => { if (change.status) this.schedule() }))
    this.schedule()
  }

  stop (): void {
    this.resealTask.stop()
    for (const off of this.unsubscribe.splice(0)) off()
  }

  /** the nodes that may read secrets of `org/service` (see the rule above), sorted */
  readers (org: string, service: string): string[] {
    const { state } = this.init
    const removed = removedOrgs(state)
    const spec = state.value(keys.service(org, service))?.spec
    const out: string[] = []
    for (const [peer, peerOrg] of state.members()) {
      if (state.revoked(peer) !== undefined || removed.has(peerOrg)) continue
      if (peerOrg === org || (spec !== undefined && mayRun(spec, peerOrg, state.value(keys.node(peer))))) out.push(peer)
    }
    // the org's recovery key reads everything of the org: it brings the org back if it loses every node
    const recovery = state.value(keys.recovery(org))?.key
    if (recovery !== undefined && !out.includes(recovery)) out.push(recovery)
    return out.sort()
  }

  /** opens a sealed value with this node's key, or with the org's recovery key when this node holds it */
  open (key: string, sealed: SealedSecret): Uint8Array {
    const recovery = this.init.recovery?.identity
    if (sealed.keys[this.init.identity.peerId] === undefined && recovery !== undefined && sealed.keys[recovery.peerId] !== undefined) return openSecret(recovery, key, sealed)
    return openSecret(this.init.identity, key, sealed)
  }

  /**
   * seal and write a secret; with `ifChanged`, a value equal to the one set
   * writes nothing (so deploying a Compose file again restarts nothing)
   */
  async set (org: string, service: string, name: string, value: Uint8Array, options: { ifChanged?: boolean } = {}): Promise<{ key: string, readers: number, unchanged?: true }> {
    const key = keys.secret(org, service, name)
    if (parseKey(key) === undefined) throw new BadRequestError(`"${name}" is not a secret name: use letters, digits and _ . - (an environment variable name), up to 128 characters`)
    this.requireOwner(org)
    const readers = this.readers(org, service)
    if (options.ifChanged === true && this.sameValue(org, service, name, value)) return { key, readers: readers.length, unchanged: true }
    let sealed
    try {
      sealed = sealSecret(key, value, readers)
    } catch (err) {
      throw new BadRequestError(messageOf(err))
    }
    await this.init.state.write(this.init.identity, key, { sealed, version: this.init.state.clock.tick() })
    this.opened.delete(key)
    this.emit(`${org}/${service}`, `secret ${name} set, sealed to ${readers.length} node(s)`)
    return { key, readers: readers.length }
  }

  /** would `set` with `ifChanged` write this value (it differs from the one set, or none is) */
  differs (org: string, service: string, name: string, value: Uint8Array): boolean {
    return !this.sameValue(org, service, name, value)
  }

  async remove (org: string, service: string, name: string): Promise<void> {
    const key = keys.secret(org, service, name)
    this.requireOwner(org)
    if (this.init.state.value(key) === undefined) throw new BadRequestError(`No secret ${name} for ${org}/${service}; "minga secret ls" lists them`)
    await this.init.state.write(this.init.identity, key, undefined)
    this.opened.delete(key)
    this.emit(`${org}/${service}`, `secret ${name} removed`)
  }

  /** names and readers, never values */
  list (org?: string, service?: string): SecretView[] {
    const under = org === undefined ? '' : service === undefined ? `${org}/` : `${org}/${service}/`
    return this.init.state.records('secret', under).map(entry => {
      const [, o, s, name] = entry.key.split('/')
      const record = entry.value
      const sealedTo = Object.keys(record.sealed.keys).sort()
      return {
        service: `${o}/${s}`,
        name,
        readers: sealedTo.length,
        current: sealedTo.join(',') === this.readers(o, s).join(','),
        readable: Object.hasOwn(record.sealed.keys, this.init.identity.peerId),
        author: entry.author,
        updated: new Date(Number(entry.hlc.slice(0, 15))).toISOString()
      }
    }).sort((a, b) => a.service.localeCompare(b.service) || a.name.localeCompare(b.name))
  }

  /**
   * what a replica of `spec` gets of its service's secrets, opened with this
   * node's key: the secrets its `secretFiles` name as files, every other one
   * as an environment variable. Throws `SecretUnavailableError` when one is
   * not sealed to this node (yet), or a secret file names a secret not set
   */
  inputsFor (spec: ServiceSpec): { env?: Record<string, string>, files?: ContainerFile[] } {
    const serviceId = `${spec.org}/${spec.name}`
    const values = this.valuesOf(spec.org, spec.name)
    const asFiles = new Set((spec.secretFiles ?? []).map(f => f.secret))
    const files = (spec.secretFiles ?? []).map(f => {
      const content = values.get(f.secret)
      if (content === undefined) throw new SecretUnavailableError(`Secret ${f.secret} of ${serviceId} is not set; set it with "minga secret set ${serviceId} ${f.secret}"`)
      return { path: f.path, content, mode: f.mode, uid: f.uid, gid: f.gid }
    })
    const env: Record<string, string> = {}
    for (const [name, value] of values) if (!asFiles.has(name)) env[name] = decoder.decode(value)
    return { ...(Object.keys(env).length > 0 ? { env } : {}), ...(files.length > 0 ? { files } : {}) }
  }

  /** every secret of a service, by name, opened with this node's key */
  private valuesOf (org: string, service: string): Map<string, Uint8Array> {
    const values = new Map<string, Uint8Array>()
    for (const entry of this.init.state.records('secret', `${org}/${service}/`)) {
      const name = entry.key.split('/')[3]
      const cached = this.opened.get(entry.key)
      if (cached !== undefined && cached.sig === entry.sig) {
        values.set(name, cached.value)
        continue
      }
      try {
        const value = this.open(entry.key, entry.value.sealed)
        this.opened.set(entry.key, { sig: entry.sig, value })
        values.set(name, value)
      } catch (err) {
        throw new SecretUnavailableError(`Secret ${name} of ${org}/${service} is not readable on this node yet (${messageOf(err)}); a live node of ${org} seals it again for this node`)
      }
    }
    return values
  }

  /** a re-seal pass soon (debounced), after a change of who may read */
  schedule (): void {
    this.resealTask.schedule()
  }

  /** seal again every secret of this node's org whose readers changed, where this node is the one to do it; returns how many */
  async reseal (): Promise<number> {
    return await this.resealTask.run()
  }

  private async resealPass (): Promise<number> {
    let count = 0
    const { state, identity, liveness } = this.init
    const org = state.memberOrg(identity.peerId)
    if (org === undefined || state.revoked(identity.peerId) !== undefined) return 0
    // the services' secrets and their backup repositories' passwords, sealed alike
    const sealedEntries = [...state.records('secret', `${org}/`), ...state.records('backup', `${org}/`)]
    if (sealedEntries.length === 0) {
      this.init.recovery?.done()
      return 0
    }
    const live = new Set(liveness.live())
    const recovery = this.init.recovery?.identity
    let needsRecovery = false
    for (const entry of sealedEntries) {
      const [, , service] = entry.key.split('/')
      const sealed = entry.value.sealed
      const readers = this.readers(org, service)
      if (sealed.keys[identity.peerId] === undefined) needsRecovery = true
      if (Object.keys(sealed.keys).sort().join(',') === readers.join(',')) continue
      // the first live owner that can open it seals it again; when none is left, a node that holds the recovery key
      const resealer = Object.keys(sealed.keys).filter(p => state.memberOrg(p) === org && live.has(p) && state.revoked(p) === undefined).sort()[0] ??
        (recovery !== undefined && sealed.keys[recovery.peerId] !== undefined ? identity.peerId : undefined)
      if (resealer !== identity.peerId) continue
      try {
        const value = this.open(entry.key, sealed)
        await state.writeJson(identity, entry.key, { sealed: sealSecret(entry.key, value, readers), version: entry.value.version })
        this.stats.resealed++
        count++
      } catch (err) {
        this.stats.failures++
        this.log.error('sealing %s again failed: %s', entry.key, errorText(err))
      }
    }
    if (recovery !== undefined && !needsRecovery) this.init.recovery?.done()
    return count
  }

  private sameValue (org: string, service: string, name: string, value: Uint8Array): boolean {
    try {
      const current = this.valuesOf(org, service).get(name)
      return current !== undefined && Buffer.from(current).equals(Buffer.from(value))
    } catch {
      return false
    }
  }

  private requireOwner (org: string): void {
    const own = this.init.state.memberOrg(this.init.identity.peerId)
    if (own !== org) throw new ForbiddenError(`Only nodes of ${org} set or remove its secrets; this node belongs to ${own ?? 'no organization yet'}`)
  }

  private emit (subject: string, reason: string): void {
    this.init.events.emit({ time: this.init.clock.now(), node: this.init.identity.peerId, kind: 'secret', subject, reason })
  }
}

/** a node of `org` with this policy may ever run `spec` (cordons and capacity aside) */
function mayRun (spec: ServiceSpec, org: string, record: NodeRecord | undefined): boolean {
  if (record === undefined) return false
  if (spec.allowOrgs !== undefined && !spec.allowOrgs.includes(org)) return false
  if (record.acceptOrgs !== undefined && !record.acceptOrgs.includes(spec.org)) return false
  if ((record.shareForOthers ?? 1) <= 0) return false
  return matchesConstraints(spec, { labels: record.labels ?? {} })
}
