/**
 * The volumes room on real parts, without Docker: folders as volumes, real
 * restic through the REST server, blobs on the other nodes' stores over the
 * in-memory mesh. A singleton's data survives its node, comes back on
 * another node, and the holders of the other organization hold no plaintext.
 */
import * as assert from 'uvu/assert'
import { test } from 'uvu'
import { appendFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { keys, type ServiceSpec } from '@minga/protocol'
import { createBackups, FolderVolumes, type Backups } from '../src/backup/index.js'
import { systemClock } from '../src/core/clock.js'
import type { VolumeKeeper } from '../src/core/volumes/keeper.js'
import { filesUnder, folderContent, resticTest, tempDir } from './backup-fixtures.js'
import { MESH_ID, TestCluster, spec as specOf, waitFor, type TestNode } from './core-cluster.js'
import { keeperOn } from './volumes-fixtures.js'

const MARKER = 'PLAINTEXT-MARKER-19f3'
const VOLUME = 'minga-acme-db-pgdata'

interface Kept { node: TestNode, keeper: VolumeKeeper, backups: Backups, volumes: FolderVolumes, dir: string }

async function mesh (): Promise<{ cluster: TestCluster, nodes: Kept[], close: () => Promise<void> }> {
  const cluster = await TestCluster.start(['acme', 'acme', 'riverside', 'riverside'], { realTime: true })
  await cluster.settled()
  const acme = cluster.nodes.filter(n => n.org === 'acme').map(n => n.identity.peerId).sort()
  const nodes: Kept[] = []
  for (const node of cluster.nodes) {
    const dir = await tempDir(`keeper-${node.org}`)
    const volumes = new FolderVolumes(join(dir, 'volumes'))
    const keeper: { current?: VolumeKeeper } = {}
    const backups = await createBackups({
      dir: join(dir, 'backup'),
      quota: 1e9,
      mesh: node.mesh,
      meshId: MESH_ID,
      state: node.state,
      identity: node.identity,
      clock: systemClock,
      events: node.core.events,
      live: () => node.core.liveness.live(),
      volumes,
      repositories: () => keeper.current!.repositories,
      mayWrite: (from, repo) => keeper.current!.repositories.mayStore(from, repo)
    })
    keeper.current = keeperOn(node, { backend: backups.backend, lineage: backups.lineage, readers: () => acme, volumeTiming: { handoffWait: 20_000, handoffPoll: 50 } })
    nodes.push({ node, keeper: keeper.current, backups, volumes, dir })
  }
  return {
    cluster,
    nodes,
    close: async () => {
      for (const n of nodes) { n.keeper.stop(); await n.backups.close() }
      await cluster.stop()
      for (const n of nodes) await rm(n.dir, { recursive: true, force: true })
    }
  }
}

async function deployed (nodes: Kept[], spec: ServiceSpec): Promise<void> {
  const a = nodes[0]
  await a.node.state.write(a.node.identity, keys.service(spec.org, spec.name), { spec, created: a.node.state.clock.tick() })
  for (const n of nodes.filter(k => k.node.org === spec.org)) await waitFor(() => n.keeper.repositories.ref(spec.org, spec.name), 'the backup password is readable')
}

function db (): ServiceSpec {
  return specOf('acme', 'db', { singleton: true, volumes: [{ name: 'pgdata', path: '/data', readOnly: false }] })
}

resticTest('a singleton\'s volume, snapshotted with restic onto the other org\'s nodes, comes back on another node; the holders never see its plaintext', async () => {
  const { cluster, nodes, close } = await mesh()
  const [a, b, r1, r2] = nodes
  const spec = db()
  await deployed(nodes, spec)
  await a.keeper.prepare(spec, 0)
  const path = (await a.volumes.path(VOLUME))!
  await appendFile(join(path, 'lines.log'), `${MARKER} line 1\nline 2\n`)
  a.keeper.observe([{ id: 'container-a', service: 'acme/db', replica: 0, hash: 'h', image: 'x', state: 'running', health: 'none' }], () => ({ id: 'acme/db', spec, hash: 'h', created: '0' } as any))
  const [snap] = await a.keeper.backupHere('acme/db')
  assert.is(snap.generation, 1)
  assert.ok(snap.bytesStored > 0)
  const expected = await folderContent(path)

  // the holders of riverside hold ciphertext only
  let held = 0
  for (const holder of [r1, r2]) {
    for (const bytes of await filesUnder(join(holder.dir, 'backup', 'blobs'))) {
      held++
      assert.not.ok(bytes.includes(MARKER), 'a holder of riverside holds the marker in plaintext')
    }
  }
  assert.ok(held > 0, 'riverside holds blobs')

  a.node.mesh.down = true
  cluster.net.regate()
  await waitFor(() => b.keeper.repositories.latest('acme', 'db', 'pgdata'), 'b knows the snapshot')
  await b.keeper.prepare(spec, 0)
  assert.equal(await folderContent((await b.volumes.path(VOLUME))!), expected)
  assert.equal(b.keeper.restoreNotes(), [])
  await close()
})

resticTest('holders drop what the owner prunes, and the whole repository when the owner deletes it', async () => {
  const { nodes, close } = await mesh()
  const [a, , r1, r2] = nodes
  const spec = db()
  await deployed(nodes, spec)
  await a.keeper.prepare(spec, 0)
  const path = (await a.volumes.path(VOLUME))!
  a.keeper.observe([{ id: 'container-a', service: 'acme/db', replica: 0, hash: 'h', image: 'x', state: 'running', health: 'none' }], () => ({ id: 'acme/db', spec, hash: 'h', created: '0' } as any))
  const heldOnRiverside = async (): Promise<number> => (await r1.backups.store.list('acme/db' as any)).length + (await r2.backups.store.list('acme/db' as any)).length
  for (let i = 0; i < 3; i++) {
    await appendFile(join(path, `file-${i}`), `generation ${i} `.repeat(5000))
    await a.keeper.backupHere('acme/db')
  }
  const before = await heldOnRiverside()
  // restic forgets all but the last snapshot; the owner's prune entry lets holders drop the rest
  const ref = a.keeper.repositories.ref('acme', 'db')!
  const manifest = await a.backups.backend.forget(ref, { keepLast: 1 })
  await a.node.state.write(a.node.identity, keys.prune('acme', 'db'), { manifests: [manifest], before: Date.now() })
  await waitFor(async () => await heldOnRiverside() < before, 'riverside drops the pruned blobs', 20_000)
  // what is left still restores
  const b = nodes[1]
  a.node.mesh.down = true
  await b.keeper.prepare(spec, 0)
  assert.equal(await folderContent((await b.volumes.path(VOLUME))!), await folderContent(path))
  a.node.mesh.down = false
  // minga rm --volumes: the owner deletes the service and the password entry; holders drop everything of the repository
  await b.node.state.write(b.node.identity, keys.service('acme', 'db'), undefined)
  await b.node.state.write(b.node.identity, keys.backup('acme', 'db'), undefined)
  // the reconciler stops a's container of the removed service
  a.keeper.observe([], () => undefined)
  await waitFor(async () => await heldOnRiverside() === 0, 'riverside drops the deleted repository', 20_000)
  // and every node removes its copies of the service's volumes
  await waitFor(async () => await a.volumes.path(VOLUME) === undefined && await b.volumes.path(VOLUME) === undefined, 'the local volumes are removed', 20_000)
  await close()
})

test.run()
