import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BLOB_CHUNK_BYTES, repoId } from '@minga/protocol'
import { BlobStore } from '../src/backup/blob-store.js'

const REPO = repoId('acme', 'db')
const OTHER = repoId('riverside', 'wiki')
const WRITER = 'writer-a'
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

async function store (options: { quota?: number, orgLimit?: (org: string) => number, now?: () => number } = {}): Promise<{ store: BlobStore, dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'minga-blobs-'))
  return { store: await BlobStore.open({ dir, quota: options.quota ?? 64 * 1024 * 1024, orgLimit: options.orgLimit, now: options.now }), dir }
}

async function putWhole (s: BlobStore, repo: typeof REPO, bytes: Uint8Array, writer = WRITER): Promise<void> {
  const hash = sha(bytes)
  let offset = 0
  do {
    const chunk = bytes.subarray(offset, offset + BLOB_CHUNK_BYTES)
    const result = await s.put(writer, repo, hash, offset, bytes.length, chunk)
    offset += chunk.length
    assert.is(result.complete, offset === bytes.length)
    assert.is(result.have, offset)
  } while (offset < bytes.length)
}

async function readAll (s: BlobStore, repo: typeof REPO, hash: string): Promise<Buffer | undefined> {
  const reader = await s.read(repo, hash)
  if (reader === undefined) return undefined
  const parts: Uint8Array[] = []
  for await (const chunk of reader.chunks()) {
    assert.ok(chunk.length <= BLOB_CHUNK_BYTES)
    parts.push(chunk)
  }
  return Buffer.concat(parts)
}

async function expectError (promise: Promise<unknown>, name: string, code?: string): Promise<any> {
  try {
    await promise
  } catch (err: any) {
    assert.is(err.name, name, err.message)
    if (code !== undefined) assert.is(err.code, code)
    return err
  }
  assert.unreachable(`expected ${name}`)
}

test('a blob sent in chunks is stored once whole and checked, then read back in bounded chunks', async () => {
  const { store: s, dir } = await store()
  const bytes = randomBytes(2 * BLOB_CHUNK_BYTES + 123)
  await putWhole(s, REPO, bytes)
  assert.is(await s.has(REPO, sha(bytes)), bytes.length)
  assert.equal(await readAll(s, REPO, sha(bytes)), bytes)
  assert.equal((await s.list(REPO)).map(b => [b.hash, b.size]), [[sha(bytes), bytes.length]])
  assert.equal(s.usage(), { total: bytes.length, reserved: 0, byOrg: { acme: bytes.length } })
  assert.equal(await s.repos(), [REPO])
  assert.equal(await readdir(join(dir, 'uploads')), [])
  await rm(dir, { recursive: true })
})

test('bytes that do not hash to the name are refused and leave nothing behind', async () => {
  const { store: s, dir } = await store()
  const bytes = randomBytes(1000)
  const wrong = sha(randomBytes(10))
  const err = await expectError(s.put(WRITER, REPO, wrong, 0, bytes.length, bytes), 'BlobHashMismatchError', 'bad-hash')
  assert.match(err.message, /nothing was stored/)
  assert.is(await s.has(REPO, wrong), -1)
  assert.equal(s.usage(), { total: 0, reserved: 0, byOrg: {} })
  assert.equal(await readdir(join(dir, 'uploads')), [])
  await rm(dir, { recursive: true })
})

test('a stored blob is never overwritten: other bytes under its name change nothing', async () => {
  const { store: s, dir } = await store()
  const bytes = randomBytes(5000)
  await putWhole(s, REPO, bytes)
  const result = await s.put('someone-else', REPO, sha(bytes), 0, 5000, randomBytes(5000))
  assert.equal(result, { have: 5000, complete: true })
  assert.equal(await readAll(s, REPO, sha(bytes)), bytes)
  await rm(dir, { recursive: true })
})

test('chunks may come in any order and twice; only whole aligned chunks are taken', async () => {
  const { store: s, dir } = await store()
  const bytes = randomBytes(2 * BLOB_CHUNK_BYTES + 10)
  const hash = sha(bytes)
  const chunk = (i: number): Buffer => bytes.subarray(i * BLOB_CHUNK_BYTES, (i + 1) * BLOB_CHUNK_BYTES)
  assert.equal(await s.put(WRITER, REPO, hash, 2 * BLOB_CHUNK_BYTES, bytes.length, chunk(2)), { have: 10, complete: false })
  assert.equal(await s.put(WRITER, REPO, hash, 0, bytes.length, chunk(0)), { have: BLOB_CHUNK_BYTES + 10, complete: false })
  assert.equal(await s.put(WRITER, REPO, hash, 0, bytes.length, chunk(0)), { have: BLOB_CHUNK_BYTES + 10, complete: false }, 'a repeat counts once')
  const err = await expectError(s.put(WRITER, REPO, hash, 5, bytes.length, bytes.subarray(5, 10)), 'BlobError', 'bad-offset')
  assert.match(err.message, /multiple of 1048576/)
  await expectError(s.put(WRITER, REPO, hash, BLOB_CHUNK_BYTES, bytes.length, bytes.subarray(BLOB_CHUNK_BYTES, BLOB_CHUNK_BYTES + 5)), 'BlobError', 'bad-offset')
  // another writer's upload of the same blob is its own
  assert.equal(await s.put('writer-b', REPO, hash, BLOB_CHUNK_BYTES, bytes.length, chunk(1)), { have: BLOB_CHUNK_BYTES, complete: false })
  assert.equal(await s.put(WRITER, REPO, hash, BLOB_CHUNK_BYTES, bytes.length, chunk(1)), { have: bytes.length, complete: true })
  assert.equal(await readAll(s, REPO, hash), bytes)
  // once stored, the other writer's next chunk learns it is complete, and its upload is dropped
  assert.equal(await s.put('writer-b', REPO, hash, 0, bytes.length, chunk(0)), { have: bytes.length, complete: true })
  assert.is(s.usage().reserved, 0)
  await rm(dir, { recursive: true })
})

test('chunks that arrive together are written together, and the blob is committed once', async () => {
  const { store: s, dir } = await store()
  const bytes = randomBytes(4 * BLOB_CHUNK_BYTES)
  const hash = sha(bytes)
  const results = await Promise.all([3, 1, 0, 2].map(async i => await s.put(WRITER, REPO, hash, i * BLOB_CHUNK_BYTES, bytes.length, bytes.subarray(i * BLOB_CHUNK_BYTES, (i + 1) * BLOB_CHUNK_BYTES))))
  assert.is(results.filter(r => r.complete).length >= 1, true)
  assert.equal(await readAll(s, REPO, hash), bytes)
  assert.equal(s.usage(), { total: bytes.length, reserved: 0, byOrg: { acme: bytes.length } })
  assert.equal(await readdir(join(dir, 'uploads')), [])
  await rm(dir, { recursive: true })
})

test('the quota counts stored and reserved bytes, and one org cannot take another\'s share', async () => {
  const MiB = BLOB_CHUNK_BYTES
  const { store: s, dir } = await store({ quota: 10 * MiB, orgLimit: () => 6 * MiB })
  await putWhole(s, REPO, randomBytes(4 * MiB))
  // an upload under way reserves its whole size
  const big = randomBytes(3 * MiB)
  await s.put(WRITER, OTHER, sha(big), 0, big.length, big.subarray(0, MiB))
  assert.is(s.usage().reserved, 3 * MiB)
  const err = await expectError(s.put(WRITER, REPO, sha(randomBytes(1)), 0, 2.5 * MiB, randomBytes(MiB)), 'QuotaExceededError', 'quota')
  assert.match(err.message, /acme holds 4MiB here, and may hold at most 6MiB/)
  const full = await expectError(s.put(WRITER, OTHER, sha(randomBytes(2)), 0, 3.5 * MiB, randomBytes(MiB)), 'QuotaExceededError', 'quota')
  assert.match(full.message, /quota is full \(7MiB of 10MiB used or reserved\); .*--backup-quota/)
  await s.put(WRITER, OTHER, sha(big), MiB, big.length, big.subarray(MiB, 2 * MiB))
  await s.put(WRITER, OTHER, sha(big), 2 * MiB, big.length, big.subarray(2 * MiB))
  assert.equal(s.usage(), { total: 7 * MiB, reserved: 0, byOrg: { acme: 4 * MiB, riverside: 3 * MiB } })
  await rm(dir, { recursive: true })
})

test('a damaged copy is found before it is sent, dropped, and no longer counted', async () => {
  const { store: s, dir } = await store()
  const bytes = randomBytes(3000)
  await putWhole(s, REPO, bytes)
  const path = join(dir, 'repos', REPO, sha(bytes).slice(0, 2), sha(bytes))
  const damaged = Buffer.from(await readFile(path))
  damaged[1500] ^= 0xff
  await writeFile(path, damaged)
  await expectError(s.read(REPO, sha(bytes)), 'BlobHashMismatchError', 'bad-hash')
  assert.is(await s.has(REPO, sha(bytes)), -1)
  assert.is(s.usage().total, 0)
  assert.is(await s.read(REPO, sha(bytes)), undefined)
  await rm(dir, { recursive: true })
})

test('reopening counts what is held and drops unfinished uploads; idle uploads are swept', async () => {
  let now = 1_000_000
  const { store: s, dir } = await store({ now: () => now })
  await putWhole(s, REPO, randomBytes(700))
  await putWhole(s, OTHER, randomBytes(300))
  const half = randomBytes(BLOB_CHUNK_BYTES + 1)
  await s.put(WRITER, REPO, sha(half), 0, half.length, half.subarray(0, BLOB_CHUNK_BYTES))
  now += 121_000
  await s.sweep()
  assert.is(s.usage().reserved, 0)
  // the swept upload is gone: its last chunk alone does not complete the blob
  assert.equal(await s.put(WRITER, REPO, sha(half), BLOB_CHUNK_BYTES, half.length, half.subarray(BLOB_CHUNK_BYTES)), { have: 1, complete: false })
  const again = await BlobStore.open({ dir, quota: 1e9 })
  assert.equal(again.usage(), { total: 1000, reserved: 0, byOrg: { acme: 700, riverside: 300 } })
  assert.equal(await readdir(join(dir, 'uploads')), [])
  assert.is(await again.deleteRepo(REPO), 1)
  assert.equal(again.usage().byOrg, { riverside: 300 })
  await s.close()
  await rm(dir, { recursive: true })
})

test('ids that are not a repository or a sha256 are refused before the disk is touched', async () => {
  const { store: s, dir } = await store()
  await expectError(s.put(WRITER, '../../etc' as any, sha(new Uint8Array(1)), 0, 1, new Uint8Array(1)), 'BlobError', 'bad-request')
  await expectError(s.read(REPO, '../x'), 'BlobError', 'bad-request')
  await expectError(s.put(WRITER, REPO, sha(new Uint8Array(1)), 0, 1, new Uint8Array(2)), 'BlobError', 'bad-offset')
  assert.equal(await readdir(join(dir, 'repos')), [])
  await rm(dir, { recursive: true })
})

test.run()
