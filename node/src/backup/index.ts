/**
 * @packageDocumentation
 *
 * Backups on a real host: the blobs this node holds for others (BlobStore,
 * served by BlobHolder), the blobs it stores on others (BlobClient), restic
 * through a REST server on 127.0.0.1 (RestServer, Restic, ResticMesh), the
 * volumes room's backend on Docker's volumes or folders (HostBackend), each
 * volume's lineage on disk (LineageStore), and the upkeep of blobs over
 * time. `createBackups` assembles them for a daemon. DockerVolumes is not
 * re-exported here: import it from './docker-volumes.js' where Docker runs,
 * so that a node on the in-memory runtime never loads dockerode.
 *
 * @example
 * ```ts
 * const backups = await createBackups({ dir: join(dataDir, 'backup'), quota: 20 * 2 ** 30, mesh, meshId, state, identity, live, volumes: new DockerVolumes({ meshId, nodeId }) })
 * const keeper = new VolumeKeeper({ …, backend: backups.backend, lineage: backups.lineage })
 * ```
 */
import { join } from 'node:path'
import type { Identity, RepoId, State } from '@minga/protocol'
import type { Clock } from '../core/clock.js'
import type { EventSink } from '../core/components.js'
import type { Mesh } from '../core/mesh.js'
import type { VolumeHost } from '../core/volumes/host.js'
import { holderRanker } from '../core/volumes/holders.js'
import type { Repositories } from '../core/volumes/repository.js'
import { BlobClient } from './blob-client.js'
import { BlobHolder } from './blob-holder.js'
import { BlobStore } from './blob-store.js'
import { HostBackend } from './host-backend.js'
import { LineageStore } from './lineage-store.js'
import { RestServer } from './rest-server.js'
import { Restic } from './restic.js'
import { ResticMesh } from './restic-mesh.js'
import { UpkeepService } from './upkeep-service.js'

export interface BackupsInit {
  /** `<data>/backup` */
  dir: string
  /** bytes this node holds for other nodes' backups (`minga up --backup-quota`) */
  quota: number
  mesh: Mesh
  meshId: string
  state: State
  identity: Identity
  clock: Clock
  events: EventSink
  live: () => readonly string[]
  volumes: VolumeHost
  /** the repository view of the volumes room, for upkeep */
  repositories: () => Repositories
  /** may `from` store blobs of `repo` here: a node of its org, or one its password is sealed to */
  mayWrite: (from: string, repo: RepoId) => boolean
  /** restic's binary (default: restic on the PATH) */
  restic?: string
  copies?: number
}

export interface Backups {
  store: BlobStore
  holder: BlobHolder
  client: BlobClient
  server: RestServer
  restic: Restic
  backend: HostBackend
  lineage: LineageStore
  upkeep: UpkeepService
  rank: (repo: RepoId, hash: string) => string[]
  close: () => Promise<void>
}

export async function createBackups (init: BackupsInit): Promise<Backups> {
  const { state, mesh, meshId, identity } = init
  const store = await BlobStore.open({ dir: join(init.dir, 'blobs'), quota: init.quota, orgLimit: fairShare(state, identity.peerId, init.quota) })
  const holder = new BlobHolder({ mesh, meshId, store, mayWrite: init.mayWrite, mayRead: (from) => state.memberOrg(from) !== undefined && state.revoked(from) === undefined })
  holder.start()
  const rank = holderRanker({ state, live: init.live, self: identity.peerId })
  const client = new BlobClient({
    mesh,
    meshId,
    rank,
    copies: init.copies,
    onCorrupt: (peer, repo, hash) => init.events.emit({ time: init.clock.now(), node: identity.peerId, kind: 'backup-error', subject: repo, reason: `holder ${peer.slice(-8)} had a damaged copy of blob ${hash.slice(0, 12)}; fetched from another holder and sent back` })
  })
  const server = new RestServer(join(init.dir, 'spool'))
  await server.start()
  const restic = new Restic({ binary: init.restic, cacheDir: join(init.dir, 'restic-cache') })
  const resticMesh = new ResticMesh({ restic, server, blobs: client, dir: join(init.dir, 'work') })
  await resticMesh.clean()
  const backend = new HostBackend(init.volumes, resticMesh)
  const lineage = new LineageStore(join(init.dir, 'lineage'))
  const upkeep = new UpkeepService({ self: identity.peerId, state, clock: init.clock, events: init.events, store, client, repositories: init.repositories, live: init.live, rank })
  upkeep.start()
  return {
    store,
    holder,
    client,
    server,
    restic,
    backend,
    lineage,
    upkeep,
    rank,
    close: async () => {
      upkeep.stop()
      await server.close()
      await store.close()
    }
  }
}

/**
 * The most one owning organization may hold here: each other organization
 * an equal share of the quota, so that none can fill what all of them share
 * (this node's own organization is bound by the quota alone)
 */
export function fairShare (state: State, self: string, quota: number): (org: string) => number {
  return (org) => {
    const own = state.memberOrg(self)
    if (org === own) return quota
    const others = new Set<string>()
    for (const [, o] of state.members()) if (o !== own) others.add(o)
    return Math.floor(quota / Math.max(1, others.size))
  }
}

export { BlobStore } from './blob-store.js'
export { BlobClient } from './blob-client.js'
export { BlobHolder } from './blob-holder.js'
export { FolderVolumes } from './folder-volumes.js'
export { HostBackend } from './host-backend.js'
export { LineageStore } from './lineage-store.js'
export { RestServer } from './rest-server.js'
export { Restic } from './restic.js'
export { ResticMesh } from './restic-mesh.js'
export { formatBytes, parseSize } from './units.js'
export * from './errors.js'
