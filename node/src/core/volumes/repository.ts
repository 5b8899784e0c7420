/**
 * A service's backup repository as the replicated state knows it: its
 * password (sealed to the nodes that may run the service, opened with this
 * node's key), the manifests its entries name, and the latest snapshot of
 * each volume among the nodes the owner trusts. Pure reads of the state,
 * plus `ensureRecord`, which a node of the owning org calls to create the
 * password of a service that has none yet.
 */
import { randomBytes } from 'node:crypto'
import {
  keys, latestSnapshot, openSecret, repoId, sealSecret, snapshotPrefix,
  type Identity, type RecordEntry, type SealedSecret, type ServiceSpec, type SnapshotRecord, type State
} from '@minga/protocol'
import { volumeName } from '../../runtime/docker-spec.js'
import type { RepoRef } from './types.js'

/** a named volume that is backed up, with what the spec says of it */
export interface BackedVolume {
  /** the volume's name within the service */
  volume: string
  /** the engine's name for it on every node */
  name: string
  /** ms between snapshots */
  interval: number
  pre: string[][]
  post: string[][]
}

export interface Latest { entry: RecordEntry<'snapshot'>, record: SnapshotRecord }

/** the named volumes of a spec that are backed up (`backup.interval` above 0; 5 minutes when unset) */
export function backedVolumes (spec: ServiceSpec, defaultInterval: number): BackedVolume[] {
  return spec.volumes.flatMap(v => {
    if (v.name === undefined) return []
    const interval = v.backup?.interval ?? defaultInterval
    if (interval <= 0) return []
    return [{ volume: v.name, name: volumeName(spec.org, spec.name, v.name), interval, pre: v.backup?.pre ?? [], post: v.backup?.post ?? [] }]
  })
}

export class Repositories {
  private readonly opened = new Map<string, { sig: string, password: string }>()

  constructor (private readonly init: { state: State, identity: Identity, readers: (org: string, service: string) => string[], open?: (key: string, sealed: SealedSecret) => Uint8Array }) {}

  /** nodes whose snapshot entries count: the owner's, and those the password is sealed to (the owner lets them run it) */
  trusted (org: string, service: string): (peer: string) => boolean {
    const { state } = this.init
    const record = state.value(keys.backup(org, service))
    const sealedTo = new Set(record === undefined ? [] : Object.keys(record.sealed.keys))
    return (peer) => state.memberOrg(peer) === org || sealedTo.has(peer)
  }

  /** may `from` store blobs of the repository on this node: a live member of its org, or a node its password is sealed to */
  mayStore (from: string, repo: string): boolean {
    const [org, service] = repo.split('/')
    const { state } = this.init
    if (state.memberOrg(from) === undefined || state.revoked(from) !== undefined) return false
    return this.trusted(org, service)(from)
  }

  /** the latest snapshot of a volume, or undefined when none was taken */
  latest (org: string, service: string, volume: string): Latest | undefined {
    return latestSnapshot(this.init.state.records('snapshot', snapshotPrefix(org, service, volume)), this.trusted(org, service))
  }

  /** the repository, or undefined when it has no password yet or the password is not sealed to this node */
  ref (org: string, service: string): RepoRef | undefined {
    const password = this.password(org, service)
    if (password === undefined) return undefined
    return { repo: repoId(org, service), password, manifests: this.manifests(org, service) }
  }

  /** why `ref` is undefined, in words */
  unavailable (org: string, service: string): string {
    const entry = this.init.state.get(keys.backup(org, service))
    if (entry === undefined || entry.tombstone === true) return `${org}/${service} has no backup password yet; a live node of ${org} creates it`
    return `the backup password of ${org}/${service} is not sealed to this node yet; a live node of ${org} seals it again for this node`
  }

  /**
   * The manifests whose union is the repository now: every trusted snapshot
   * entry's, and those the last prune kept (entries older than the prune
   * name files it may have dropped, so they are left out)
   */
  manifests (org: string, service: string): string[] {
    const { state } = this.init
    const prune = state.get(keys.prune(org, service))
    const kept = state.value(keys.prune(org, service))?.manifests ?? []
    const trusted = this.trusted(org, service)
    const out = new Set(kept)
    for (const entry of state.records('snapshot', snapshotPrefix(org, service))) {
      if (!trusted(entry.author)) continue
      if (prune !== undefined && prune.tombstone !== true && entry.hlc < prune.hlc) continue
      out.add(entry.value.manifest)
    }
    return [...out].sort()
  }

  /**
   * Creates the service's repository password, sealed to the nodes that may
   * run it, when it has none; only a node of the owning org does. Resolves
   * true when it wrote one
   */
  async ensureRecord (org: string, service: string): Promise<boolean> {
    const { state, identity } = this.init
    if (state.memberOrg(identity.peerId) !== org) return false
    const key = keys.backup(org, service)
    const current = state.get(key)
    if (current !== undefined && current.tombstone !== true) return false
    const password = randomBytes(32).toString('base64')
    const sealed = sealSecret(key, new TextEncoder().encode(password), this.init.readers(org, service))
    await state.write(identity, key, { sealed, version: state.clock.tick() })
    return true
  }

  private password (org: string, service: string): string | undefined {
    const { state, identity } = this.init
    const key = keys.backup(org, service)
    const entry = state.get(key)
    const record = state.value(key)
    if (entry === undefined || record === undefined) return undefined
    const cached = this.opened.get(key)
    if (cached?.sig === entry.sig) return cached.password
    try {
      const password = new TextDecoder().decode(this.init.open?.(key, record.sealed) ?? openSecret(identity, key, record.sealed))
      this.opened.set(key, { sig: entry.sig, password })
      return password
    } catch {
      return undefined
    }
  }
}
