/**
 * Stores random blobs in a BlobStore (in chunks, as holders receive them)
 * and lineage records, as fast as it can, printing each one once it is
 * acknowledged. The crash test kills it with SIGKILL at a random moment.
 */
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { BLOB_CHUNK_BYTES, repoId } from '@minga/protocol'
import { BlobStore } from '../src/backup/blob-store.js'
import { LineageStore } from '../src/backup/lineage-store.js'

const dir = process.argv[2]
const store = await BlobStore.open({ dir: join(dir, 'blobs'), quota: 1e10 })
const lineage = new LineageStore(join(dir, 'lineage'))
const repo = repoId('acme', 'db')
process.stdout.write('ready\n')
for (let i = 0; ; i++) {
  const bytes = randomBytes(1 + Math.floor(Math.random() * 2.5 * BLOB_CHUNK_BYTES))
  const hash = createHash('sha256').update(bytes).digest('hex')
  for (let offset = 0; offset < bytes.length; offset += BLOB_CHUNK_BYTES) {
    await store.put('writer', repo, hash, offset, bytes.length, bytes.subarray(offset, offset + BLOB_CHUNK_BYTES))
  }
  process.stdout.write(`blob ${hash} ${bytes.length}\n`)
  await lineage.set('minga-acme-db-pgdata', { service: 'acme/db', volume: 'pgdata', base: { snapshot: hash, generation: i + 1 }, fingerprint: hash, updated: Date.now() })
  process.stdout.write(`lineage ${i + 1}\n`)
}
