/**
 * Volumes backed up with real restic into blobs on other nodes (over the
 * in-memory mesh), restored by a node that starts with nothing but the
 * password and the manifest's hash: the phoenix path, without Docker.
 */
import * as assert from 'uvu/assert'
import { test } from 'uvu'
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { repoId } from '@minga/protocol'
import { rankHolders } from '@minga/scheduler'
import { BlobClient } from '../src/backup/blob-client.js'
import { BlobHolder } from '../src/backup/blob-holder.js'
import { BlobStore } from '../src/backup/blob-store.js'
import { decodeManifest } from '../src/backup/manifest.js'
import { RestServer } from '../src/backup/rest-server.js'
import { Restic } from '../src/backup/restic.js'
import { ResticMesh } from '../src/backup/restic-mesh.js'
import { filesUnder, folderContent, resticTest, tempDir, volumeLike } from './backup-fixtures.js'
import { LocalNet, type LocalMesh } from './local-mesh.js'

const MESH = 'mesh-restic'
const REPO = repoId('acme', 'db')
const MARKER = 'MARKER-PLAINTEXT-7f3a9c'
const PASSWORD = 'a long random repository password'

interface Holder { node: string, org: string, mesh: LocalMesh, store: BlobStore, dir: string }

async function mesh (): Promise<{ net: LocalNet, holders: Holder[], node: (name: string) => Promise<{ mesh: ResticMesh, client: BlobClient, server: RestServer, dir: string }>, cleanup: () => Promise<void> }> {
  const net = new LocalNet()
  const holders: Holder[] = []
  const dirs: string[] = []
  const servers: RestServer[] = []
  for (const [node, org] of [['riverside-1', 'riverside'], ['coop-1', 'coop'], ['coop-2', 'coop']]) {
    const m = net.add(node, () => true)
    const dir = await tempDir(`holder-${node}`)
    dirs.push(dir)
    const store = await BlobStore.open({ dir, quota: 1e9 })
    new BlobHolder({ mesh: m, meshId: MESH, store, mayWrite: (from, repo) => from.startsWith(`${repo.split('/')[0]}-`) }).start()
    holders.push({ node, org, mesh: m, store, dir })
  }
  const candidates = holders.map(h => ({ node: h.node, org: h.org }))
  const node = async (name: string): Promise<{ mesh: ResticMesh, client: BlobClient, server: RestServer, dir: string }> => {
    const m = net.add(name, () => true)
    const dir = await tempDir(name)
    dirs.push(dir)
    const live = (): typeof candidates => candidates.filter(c => !net.meshes.get(c.node)!.down)
    const client = new BlobClient({ mesh: m, meshId: MESH, rank: (_repo, hash) => rankHolders(hash, live(), { ownerOrg: 'acme' }).map(c => c.node) })
    const server = new RestServer(join(dir, 'spool'))
    await server.start()
    servers.push(server)
    const restic = new Restic({ cacheDir: join(dir, 'restic-cache') })
    return { mesh: new ResticMesh({ restic, server, blobs: client, dir: join(dir, 'backup') }), client, server, dir }
  }
  return {
    net,
    holders,
    node,
    cleanup: async () => {
      for (const s of servers) await s.close()
      for (const d of dirs) await rm(d, { recursive: true, force: true })
    }
  }
}

resticTest('a volume snapshotted on one node is restored on a node that starts with nothing but the password and the manifest', async () => {
  const { holders, node, cleanup } = await mesh()
  const a = await node('acme-1')
  const volume = join(a.dir, 'volume')
  await volumeLike(volume, MARKER)
  const first = await a.mesh.snapshot({ repo: REPO, password: PASSWORD, manifests: [] }, volume, { volume: 'pgdata' })
  assert.match(first.snapshot, /^[0-9a-f]{64}$/)
  assert.ok(first.bytesStored > 3 * 1024 * 1024, `stored ${first.bytesStored}`)

  // every blob of the manifest, and the manifest itself, is on exactly two holders of two organizations
  const manifest = decodeManifest((await a.client.fetchBytes(REPO, first.manifest, 1e7)).bytes)
  const blobs = [first.manifest, manifest.config!.hash, ...Object.values(manifest.files).flatMap(f => Object.keys(f))]
  for (const hash of blobs) {
    const on = []
    for (const h of holders) if (await h.store.has(REPO, hash) >= 0) on.push(h)
    assert.is(on.length, 2, `blob ${hash.slice(0, 8)} on ${on.map(h => h.node)}`)
    assert.is(new Set(on.map(h => h.org)).size, 2)
  }
  // holders hold ciphertext: the marker written in the volume is nowhere in their stores
  for (const h of holders) for (const bytes of await filesUnder(h.dir)) assert.not.ok(bytes.includes(MARKER), `${h.node} holds the marker in plaintext`)

  await appendFile(join(volume, 'lines.log'), 'line 2\n')
  const second = await a.mesh.snapshot({ repo: REPO, password: PASSWORD, manifests: [first.manifest] }, volume, { volume: 'pgdata', parent: first.snapshot })
  assert.is(second.summary.filesChanged, 1)
  assert.ok(second.bytesStored < 64 * 1024, `an unchanged 3 MiB file is not sent again (sent ${second.bytesStored})`)

  const b = await node('acme-2')
  const target = join(b.dir, 'restored')
  const progress: number[] = []
  await b.mesh.restore({ repo: REPO, password: PASSWORD, manifests: [second.manifest] }, second.snapshot, target, { onProgress: (bytes) => progress.push(bytes) })
  assert.equal(await folderContent(target), await folderContent(volume))
  assert.ok(progress.at(-1)! >= 3 * 1024 * 1024)
  const listed = await b.mesh.snapshots({ repo: REPO, password: PASSWORD, manifests: [second.manifest] }, { volume: 'pgdata' })
  assert.equal(listed.map(s => s.id).sort(), [first.snapshot, second.snapshot].sort())
  await cleanup()
})

resticTest('a restore survives a damaged copy and a dead holder, and sends good copies back', async () => {
  const { net, holders, node, cleanup } = await mesh()
  const a = await node('acme-1')
  const volume = join(a.dir, 'volume')
  await volumeLike(volume, MARKER)
  const snap = await a.mesh.snapshot({ repo: REPO, password: PASSWORD, manifests: [] }, volume, { volume: 'pgdata' })
  const manifest = decodeManifest((await a.client.fetchBytes(REPO, snap.manifest, 1e7)).bytes)
  // damage the first holder's copy of every data pack
  let damaged = 0
  for (const pack of Object.keys(manifest.files.data)) {
    const first = rankHolders(pack, holders.map(h => ({ node: h.node, org: h.org })), { ownerOrg: 'acme' })[0]
    const holder = holders.find(h => h.node === first.node)!
    const path = join(holder.dir, 'repos', REPO, pack.slice(0, 2), pack)
    const bytes = await readFile(path)
    bytes[bytes.length >> 1] ^= 0x40
    await writeFile(path, bytes)
    damaged++
  }
  assert.ok(damaged > 0)
  const b = await node('acme-2')
  await b.mesh.restore({ repo: REPO, password: PASSWORD, manifests: [snap.manifest] }, snap.snapshot, join(b.dir, 'r1'))
  assert.equal(await folderContent(join(b.dir, 'r1')), await folderContent(volume))
  assert.is(b.client.stats.corrupt, damaged)
  assert.is(b.client.stats.repaired, damaged)

  // one holder dies: every blob still has a copy elsewhere
  net.meshes.get(holders[0].node)!.down = true
  const c = await node('acme-3')
  await c.mesh.restore({ repo: REPO, password: PASSWORD, manifests: [snap.manifest] }, snap.snapshot, join(c.dir, 'r2'))
  assert.equal(await folderContent(join(c.dir, 'r2')), await folderContent(volume))
  await cleanup()
})

resticTest('forget keeps the newest snapshots of each volume and its manifest stops listing what was pruned', async () => {
  const { node, cleanup } = await mesh()
  const a = await node('acme-1')
  const volume = join(a.dir, 'volume')
  await volumeLike(volume, MARKER, 64 * 1024)
  let manifests: string[] = []
  let parent: string | undefined
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    await writeFile(join(volume, `file-${i}`), `generation ${i}\n`.repeat(1000))
    const snap = await a.mesh.snapshot({ repo: REPO, password: PASSWORD, manifests }, volume, { volume: 'pgdata', parent })
    manifests = [snap.manifest]
    parent = snap.snapshot
    ids.push(snap.snapshot)
  }
  const pruned = await a.mesh.forget({ repo: REPO, password: PASSWORD, manifests }, { keepLast: 1 })
  const after = await a.mesh.manifestOf(REPO, [pruned])
  assert.equal(Object.keys(after.files.snapshots), [ids[2]])
  const b = await node('acme-2')
  await b.mesh.restore({ repo: REPO, password: PASSWORD, manifests: [pruned] }, ids[2], join(b.dir, 'r'))
  assert.equal(await folderContent(join(b.dir, 'r')), await folderContent(volume))
  try {
    await b.mesh.restore({ repo: REPO, password: PASSWORD, manifests: [pruned] }, ids[0], join(b.dir, 'old'))
    assert.unreachable('restored a forgotten snapshot')
  } catch (err: any) {
    assert.is(err.name, 'BackupError')
    assert.match(err.message, /is not in the repository of acme\/db/)
  }
  await cleanup()
})

test.run()
