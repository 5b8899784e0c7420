/** LevelDB on disk passes protocol's persistence conformance suite, and fails clearly where a disk does */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { runPersistenceTests } from '@minga/protocol/testing'
import { LevelPersistence } from '../src/store/level-persistence.js'

runPersistenceTests('level', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-level-'))
  return { open: () => new LevelPersistence(dir), cleanup: async () => await rm(dir, { recursive: true, force: true }) }
})

test('level: a second process on the same store gets a clear error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-level-'))
  const first = new LevelPersistence(dir)
  await first.load()
  try {
    await new LevelPersistence(dir).load()
    assert.unreachable()
  } catch (err: any) {
    assert.is(err.name, 'StorageError')
    assert.match(err.message, /in use by another process/)
  }
  await first.close()
  await rm(dir, { recursive: true, force: true })
})

test('level: a damaged record is skipped and reported, the rest loads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-level-'))
  const db = new ClassicLevel<string, string>(dir)
  await db.put('e!service/acme/web', '{"not":"an entry"')
  await db.put('m!12D3KooWx', '{"mark":"x"}')
  await db.close()
  const damaged: string[] = []
  const p = new LevelPersistence(dir, { onDamaged: (key) => damaged.push(key) })
  assert.equal(await p.load(), { entries: [], marks: {} })
  assert.equal(damaged.sort(), ['e!service/acme/web', 'm!12D3KooWx'])
  await p.close()
  await rm(dir, { recursive: true, force: true })
})

test('level: an unwritable directory gives a clear error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-level-'))
  await writeFile(join(dir, 'file'), 'x')
  try {
    await new LevelPersistence(join(dir, 'file', 'db')).load()
    assert.unreachable()
  } catch (err: any) {
    assert.is(err.name, 'StorageError')
    assert.match(err.message, /Cannot open the state store/)
  }
  assert.equal((await readdir(dir)).sort(), ['file'])
  await rm(dir, { recursive: true, force: true })
})

test.run()
