/** kill -9 of a holder while it stores blobs: every acknowledged blob is there and whole, nothing half-written is; lineage records are old or new, never torn */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { repoId } from '@minga/protocol'
import { BlobStore } from '../src/backup/blob-store.js'
import { LineageStore } from '../src/backup/lineage-store.js'
import { tempDir } from './backup-fixtures.js'
import { runUntilKilled } from './crash-child.js'

const child = fileURLToPath(new URL('./backup-crash-child.js', import.meta.url))
const repo = repoId('acme', 'db')

async function runAndKill (dir: string, blobs: number): Promise<{ acked: Map<string, number>, generation: number }> {
  const acked = new Map<string, number>()
  let generation = 0
  await runUntilKilled(child, [dir], ([kind, a, b]) => {
    if (kind === 'blob') acked.set(a, Number(b))
    if (kind === 'lineage') generation = Number(a)
    // killed at once, often in the middle of the next blob's chunks
    return acked.size >= blobs
  })
  return { acked, generation }
}

test('kill -9 while storing blobs loses no acknowledged blob, in a loop, and leaves nothing half-written counted', async () => {
  const dir = await tempDir('blob-crash')
  const all = new Map<string, number>()
  for (let cycle = 0; cycle < 5; cycle++) {
    const { acked, generation } = await runAndKill(dir, 3 + Math.floor(Math.random() * 8))
    for (const [hash, size] of acked) all.set(hash, size)
    const store = await BlobStore.open({ dir: join(dir, 'blobs'), quota: 1e10 })
    for (const [hash, size] of all) {
      assert.is(await store.has(repo, hash), size, `blob ${hash.slice(0, 8)} was acknowledged`)
      const reader = await store.read(repo, hash)
      assert.ok(reader !== undefined, 'it reads back and checks against its hash')
    }
    const listed = await store.list(repo)
    assert.is(store.usage().total, listed.reduce((sum, b) => sum + b.size, 0))
    assert.equal(await readdir(join(dir, 'blobs', 'uploads')), [], 'unfinished uploads are dropped at open')
    const record = await new LineageStore(join(dir, 'lineage')).get('minga-acme-db-pgdata')
    // each run writes generations 1, 2, … over the record: it holds the last acknowledged one, or the one after
    assert.ok(record !== undefined && record.base.generation >= generation && record.base.generation <= generation + 1, `lineage generation ${record?.base.generation} after ${generation} acknowledged`)
    await store.close()
  }
  assert.ok(all.size >= 15)
  await rm(dir, { recursive: true, force: true })
})

test.run()
