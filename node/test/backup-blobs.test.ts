/**
 * The blob protocol between an owner and its holders, over the in-memory
 * mesh: R copies, fallback to the next holder on refusal, damaged or missing
 * copies detected on read, fetched elsewhere and sent back.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BLOB_CHUNK_BYTES, decodeBlobFrame, encodeBlobFrame, protocols, repoId, type RepoId } from '@minga/protocol'
import { rankHolders } from '@minga/scheduler'
import { BlobClient } from '../src/backup/blob-client.js'
import { BlobHolder } from '../src/backup/blob-holder.js'
import { BlobStore } from '../src/backup/blob-store.js'
import { dropUnlisted, ensureCopies } from '../src/backup/blob-upkeep.js'
import { LocalNet, type LocalMesh } from './local-mesh.js'

const MESH = 'mesh-blobs'
const REPO = repoId('acme', 'db')
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

interface Holder { node: string, org: string, mesh: LocalMesh, store: BlobStore, holder: BlobHolder, dir: string }

async function setup (options: { quotas?: Record<string, number> } = {}): Promise<{ net: LocalNet, owner: LocalMesh, client: BlobClient, holders: Holder[], corrupt: string[], cleanup: () => Promise<void> }> {
  const net = new LocalNet()
  const owner = net.add('acme-1', () => true)
  const holders: Holder[] = []
  for (const [node, org] of [['riverside-1', 'riverside'], ['coop-1', 'coop'], ['coop-2', 'coop']]) {
    const mesh = net.add(node, () => true)
    const dir = await mkdtemp(join(tmpdir(), `minga-holder-${node}-`))
    const store = await BlobStore.open({ dir, quota: options.quotas?.[node] ?? 1e9 })
    const holder = new BlobHolder({ mesh, meshId: MESH, store, mayWrite: (from, repo) => from.startsWith(`${repo.split('/')[0]}-`) })
    holder.start()
    holders.push({ node, org, mesh, store, holder, dir })
  }
  const corrupt: string[] = []
  const candidates = holders.map(h => ({ node: h.node, org: h.org }))
  const client = new BlobClient({
    mesh: owner,
    meshId: MESH,
    rank: (_repo, hash) => rankHolders(hash, candidates, { ownerOrg: 'acme' }).map(c => c.node),
    onCorrupt: (holder) => corrupt.push(holder)
  })
  return { net, owner, client, holders, corrupt, cleanup: async () => { for (const h of holders) await rm(h.dir, { recursive: true, force: true }) } }
}

const source = (bytes: Uint8Array) => async (offset: number, length: number) => bytes.subarray(offset, offset + length)

function ranking (hash: string, holders: Holder[]): Holder[] {
  return rankHolders(hash, holders.map(h => ({ node: h.node, org: h.org })), { ownerOrg: 'acme' }).map(c => holders.find(h => h.node === c.node)!)
}

async function heldBy (holders: Holder[], repo: RepoId, hash: string): Promise<string[]> {
  const out: string[] = []
  for (const h of holders) if (await h.store.has(repo, hash) >= 0) out.push(h.node)
  return out.sort()
}

test('a blob goes to the first R holders of its ranking, one per organization, and comes back whole', async () => {
  const { client, holders, cleanup } = await setup()
  const bytes = randomBytes(2 * BLOB_CHUNK_BYTES + 77)
  const hash = sha(bytes)
  const stored = await client.put(REPO, hash, bytes.length, source(bytes))
  const expected = ranking(hash, holders).slice(0, 2).map(h => h.node)
  assert.equal(stored.sort(), [...expected].sort())
  assert.equal(await heldBy(holders, REPO, hash), [...expected].sort())
  assert.equal(new Set(expected.map(n => n.split('-')[0])).size, 2)
  const dir = await mkdtemp(join(tmpdir(), 'minga-fetch-'))
  const result = await client.fetchToFile(REPO, hash, join(dir, 'blob'))
  assert.equal(await readFile(join(dir, 'blob')), bytes)
  assert.is(result.holder, expected[0])
  assert.equal(result.failures, [])
  await rm(dir, { recursive: true })
  await cleanup()
})

test('a holder that refuses (its quota is full) is replaced by the next in the ranking', async () => {
  const bytes = randomBytes(5000)
  const hash = sha(bytes)
  const probe = await setup()
  const first = ranking(hash, probe.holders)[0].node
  await probe.cleanup()
  const { client, holders, cleanup } = await setup({ quotas: { [first]: 1000 } })
  const stored = await client.put(REPO, hash, bytes.length, source(bytes))
  assert.is(stored.length, 2)
  assert.not.ok(stored.includes(first))
  assert.equal(await heldBy(holders, REPO, hash), [...stored].sort())
  await cleanup()
})

test('fewer than R holders willing: nothing is acknowledged, and the error says what each answered', async () => {
  const bytes = randomBytes(5000)
  const { client, holders, cleanup } = await setup({ quotas: { 'riverside-1': 10, 'coop-1': 10 } })
  try {
    await client.put(REPO, sha(bytes), bytes.length, source(bytes))
    assert.unreachable('stored')
  } catch (err: any) {
    assert.is(err.name, 'BlobUnavailableError')
    assert.match(err.message, /is on 1 of 2 holders/)
    assert.match(err.message, /quota is full/)
  }
  void holders
  await cleanup()
})

test('a damaged copy is detected, the blob fetched from the next holder, and the good copy sent back', async () => {
  const { client, holders, corrupt, cleanup } = await setup()
  const bytes = randomBytes(BLOB_CHUNK_BYTES + 500)
  const hash = sha(bytes)
  await client.put(REPO, hash, bytes.length, source(bytes))
  const [first, second] = ranking(hash, holders)
  const path = join(first.dir, 'repos', REPO, hash.slice(0, 2), hash)
  const damaged = Buffer.from(await readFile(path))
  damaged[10] ^= 1
  await writeFile(path, damaged)
  const result = await client.fetchBytes(REPO, hash, 10 * BLOB_CHUNK_BYTES)
  assert.equal(Buffer.from(result.bytes), bytes)
  assert.is(result.holder, second.node)
  assert.equal(result.repairing, [first.node])
  assert.equal(corrupt, [first.node])
  assert.equal(await readFile(path), bytes, 'the damaged holder has a good copy again')
  assert.is(client.stats.repaired, 1)
  assert.is(first.holder.stats.corrupt, 1)
  await cleanup()
})

test('a missing copy falls back the same way; a holder that forges bytes is not believed', async () => {
  const { net, client, holders, corrupt, cleanup } = await setup()
  const bytes = randomBytes(3000)
  const hash = sha(bytes)
  await client.put(REPO, hash, bytes.length, source(bytes))
  const [first, second, third] = ranking(hash, holders)
  await first.store.delete(REPO, hash)
  // the second holder forges: it answers with other bytes of the right length
  second.mesh.handleStream(protocols.blobGet(MESH), async function * () {
    yield encodeBlobFrame({ type: 'blob-chunk', offset: 0, size: bytes.length }, randomBytes(bytes.length))
  })
  await third.store.put('acme-1', REPO, hash, 0, bytes.length, bytes)
  const result = await client.fetchBytes(REPO, hash, 1e6)
  assert.equal(Buffer.from(result.bytes), bytes)
  assert.is(result.holder, third.node)
  assert.equal(corrupt, [second.node])
  assert.equal(result.repairing.sort(), [first.node, second.node].sort())
  assert.is(await first.store.has(REPO, hash), bytes.length)
  void net
  await cleanup()
})

test('no good copy anywhere: the read fails naming every holder asked', async () => {
  const { client, holders, cleanup } = await setup()
  const hash = sha(randomBytes(8))
  try {
    await client.fetchBytes(REPO, hash, 100)
    assert.unreachable('fetched')
  } catch (err: any) {
    assert.is(err.name, 'BlobUnavailableError')
    assert.match(err.message, /asked 3/)
    assert.match(err.message, /has no blob/)
  }
  void holders
  await cleanup()
})

test('holders take writes only from the owning organization\'s nodes, and never let a blob be overwritten', async () => {
  const { net, client, holders, cleanup } = await setup()
  const bytes = randomBytes(2000)
  const hash = sha(bytes)
  await client.put(REPO, hash, bytes.length, source(bytes))
  const stranger = net.add('mallory-1', () => true)
  const target = ranking(hash, holders)[0]
  const forged = randomBytes(2000)
  const answer = decodeBlobFrame(await stranger.request(target.node, protocols.blobs(MESH), encodeBlobFrame({ type: 'blob-put', repo: REPO, hash: sha(forged), offset: 0, size: forged.length }, forged)), ['error'])
  assert.is(answer.header.code, 'forbidden')
  assert.match(answer.header.message, /mallory-1 may not store blobs of acme\/db/)
  // even the owner cannot put other bytes under a stored blob's name
  const overwrite = decodeBlobFrame(await net.meshes.get('acme-1')!.request(target.node, protocols.blobs(MESH), encodeBlobFrame({ type: 'blob-put', repo: REPO, hash, offset: 0, size: forged.length }, forged)), ['blob-stored'])
  assert.is(overwrite.header.complete, true)
  assert.equal(Buffer.from((await client.fetchBytes(REPO, hash, 1e6)).bytes), bytes)
  assert.equal(await client.has(target.node, REPO, [hash, sha(forged)]), [2000, -1])
  assert.equal(await target.store.list(REPO).then(l => l.map(b => b.hash)), [hash])
  await cleanup()
})

test('a malformed request gets an error answer and changes nothing', async () => {
  const { net, holders, cleanup } = await setup()
  const owner = net.meshes.get('acme-1')!
  for (const junk of [new Uint8Array([1, 2, 3]), encodeBlobFrame({ type: 'blob-get', repo: REPO, hash: 'a'.repeat(64) }), new TextEncoder().encode('{"type":"blob-put"}')]) {
    const answer = decodeBlobFrame(await owner.request(holders[0].node, protocols.blobs(MESH), junk), ['error'])
    assert.is(answer.header.code, 'bad-request')
  }
  const frames: Uint8Array[] = []
  for await (const frame of owner.stream(holders[0].node, protocols.blobGet(MESH), new Uint8Array([0, 0, 0, 1, 0x7b]))) frames.push(frame)
  assert.is(frames.length, 1)
  assert.is(decodeBlobFrame(frames[0], ['error']).header.code, 'bad-request')
  assert.equal(holders[0].store.usage().total, 0)
  await cleanup()
})

test('upkeep: copies a holder lost come back from the others; blobs no kept manifest lists are dropped', async () => {
  const { client, holders, cleanup } = await setup()
  const blobs = new Map<string, number>()
  const contents = new Map<string, Buffer>()
  for (let i = 0; i < 12; i++) {
    const bytes = randomBytes(500 + i)
    const hash = sha(bytes)
    await client.put(REPO, hash, bytes.length, source(bytes))
    blobs.set(hash, bytes.length)
    contents.set(hash, bytes)
  }
  // one holder loses everything it had (a new disk)
  const victim = holders[1]
  const had = (await victim.store.list(REPO)).map(b => b.hash)
  assert.ok(had.length > 0)
  await victim.store.deleteRepo(REPO)
  const rank = (hash: string): string[] => ranking(hash, holders).map(h => h.node)
  const report = await ensureCopies(client, REPO, blobs, rank)
  assert.equal(report, { blobs: 12, restored: had.length, lost: [], unreachable: [] })
  assert.equal((await victim.store.list(REPO)).map(b => b.hash).sort(), [...had].sort())
  for (const hash of blobs.keys()) assert.is((await heldBy(holders, REPO, hash)).length, 2)
  // nothing to do the second time
  assert.is((await ensureCopies(client, REPO, blobs, rank)).restored, 0)

  const [keep, ...drop] = [...blobs.keys()]
  const before = Date.now() + 1000
  let dropped = 0
  for (const h of holders) dropped += await dropUnlisted(h.store, REPO, new Set([keep]), before)
  assert.is(dropped, drop.length * 2)
  assert.is((await heldBy(holders, REPO, keep)).length, 2)
  // blobs stored after the prune's time stay, whatever the manifests say
  assert.is(await dropUnlisted(holders[0].store, REPO, new Set(), 0), 0)
  for (const h of holders) await dropUnlisted(h.store, REPO, undefined, 0)
  assert.equal(await heldBy(holders, REPO, keep), [])
  await cleanup()
})

test.run()
