/**
 * The REST backend against real restic (backup, list, restore, forget), and
 * what it refuses: requests without the session's credentials, other
 * repositories' paths, bodies that do not hash to their name.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash, randomBytes } from 'node:crypto'
import { appendFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FolderFiles } from '../src/backup/folder-files.js'
import { parseRange, RestServer } from '../src/backup/rest-server.js'
import { Restic } from '../src/backup/restic.js'
import { folderContent, resticTest, tempDir, volumeLike } from './backup-fixtures.js'

async function serve (): Promise<{ server: RestServer, files: FolderFiles, url: string, base: string, dir: string, close: () => Promise<void> }> {
  const dir = await tempDir('rest')
  const server = new RestServer(join(dir, 'spool'))
  await server.start()
  const files = new FolderFiles(join(dir, 'repo'))
  const session = server.open('acme/db', files)
  const url = session.url.replace(/^rest:/, '')
  const base = `http://127.0.0.1:${server.port()}/acme/db/`
  return { server, files, url, base, dir, close: async () => { session.close(); await server.close(); await rm(dir, { recursive: true, force: true }) } }
}

resticTest('restic backs up through the REST server, lists, restores what it backed up, and forgets', async () => {
  const { server, url, dir, close } = await serve()
  const restic = new Restic({ cacheDir: join(dir, 'cache') })
  const repo = { url: `rest:${url}`, password: 'correct horse' }
  assert.match(await restic.version(), /^\d+\.\d+\.\d+$/)
  await restic.initRepo(repo)
  const volume = join(dir, 'volume')
  await volumeLike(volume, 'line 1')
  const progress: number[] = []
  const first = await restic.backup(repo, volume, { host: 'minga', tags: ['volume=pgdata'], onProgress: (p) => progress.push(p.bytesDone) })
  assert.is(first.filesNew, 4)
  await appendFile(join(volume, 'lines.log'), 'line 2\n')
  const [snapshot] = await restic.snapshots(repo)
  const second = await restic.backup(repo, volume, { host: 'minga', tags: ['volume=pgdata'], parent: snapshot.id })
  assert.is(second.filesChanged, 1)
  assert.is(second.filesUnmodified, 3)
  const snapshots = await restic.snapshots(repo, { tags: ['volume=pgdata'] })
  assert.is(snapshots.length, 2)
  assert.ok(snapshots.every(s => /^[0-9a-f]{64}$/.test(s.id)))
  const target = join(dir, 'restored')
  const restored: number[] = []
  await restic.restore(repo, snapshots[1].id, target, { onProgress: (b) => restored.push(b), pollMs: 50 })
  assert.equal(await folderContent(target), await folderContent(volume))
  assert.is(restored.at(-1), 3 * 1024 * 1024 + 3 + 14)
  await restic.forget(repo, { keepLast: 1 })
  assert.is((await restic.snapshots(repo)).length, 1)
  assert.ok(server.stats.bytesIn > 3 * 1024 * 1024)
  await close()
})

resticTest('an empty folder is a snapshot too, and restores empty; a folder that holds a folder of its own name restores whole', async () => {
  const { url, dir, close } = await serve()
  const restic = new Restic({ cacheDir: join(dir, 'cache') })
  const repo = { url: `rest:${url}`, password: 'pw' }
  await restic.initRepo(repo)
  const empty = join(dir, 'volumes', 'empty', '_data')
  await mkdir(empty, { recursive: true })
  await restic.backup(repo, empty, { host: 'minga' })
  const [snapshot] = await restic.snapshots(repo)
  await restic.restore(repo, snapshot.id, join(dir, 'r1'))
  assert.equal(await readdir(join(dir, 'r1')), [])
  const nested = join(dir, 'volumes', 'nested', '_data')
  await mkdir(join(nested, '_data'), { recursive: true })
  await writeFile(join(nested, '_data', 'inner'), 'x')
  await writeFile(join(nested, 'top'), 'y')
  await restic.backup(repo, nested, { host: 'minga' })
  const latest = (await restic.snapshots(repo)).at(-1)!
  await restic.restore(repo, latest.id, join(dir, 'r2'))
  assert.equal(await folderContent(join(dir, 'r2')), await folderContent(nested))
  await close()
})

resticTest('a wrong password is restic\'s error, with its words', async () => {
  const { url, dir, close } = await serve()
  const restic = new Restic({ cacheDir: join(dir, 'cache') })
  await restic.initRepo({ url: `rest:${url}`, password: 'right' })
  try {
    await restic.snapshots({ url: `rest:${url}`, password: 'wrong' })
    assert.unreachable('listed')
  } catch (err: any) {
    assert.is(err.name, 'ResticError')
    assert.match(err.message, /restic snapshots failed \(exit 1\)/)
    assert.match(err.message, /wrong password/)
  }
  await close()
})

test('requests without the session\'s credentials, or outside its repository, are refused', async () => {
  const { server, url, base, close } = await serve()
  const auth = 'Basic ' + Buffer.from(new URL(url).username + ':' + new URL(url).password).toString('base64')
  assert.is((await fetch(`${base}keys/`)).status, 401)
  assert.is((await fetch(`${base}keys/`, { headers: { authorization: auth.slice(0, -4) + 'AAAA' } })).status, 401)
  assert.is((await fetch(`http://127.0.0.1:${server.port()}/riverside/wiki/keys/`, { headers: { authorization: auth } })).status, 403)
  assert.is((await fetch(`${base}?create=true`, { method: 'POST', headers: { authorization: auth } })).status, 200)
  assert.is((await fetch(base, { method: 'DELETE', headers: { authorization: auth } })).status, 501)
  assert.is((await fetch(`${base}../../etc/passwd`, { headers: { authorization: auth } })).status, 403)
  assert.is((await fetch(`${base}data/not-a-hash`, { headers: { authorization: auth } })).status, 400)
  await close()
})

test('a body that does not hash to its name is refused and not stored; listings speak v1 and v2; ranges are served', async () => {
  const { files, url, base, close } = await serve()
  const auth = 'Basic ' + Buffer.from(new URL(url).username + ':' + new URL(url).password).toString('base64')
  const body = randomBytes(1000)
  const name = createHash('sha256').update(body).digest('hex')
  const wrong = await fetch(`${base}data/${'0'.repeat(64)}`, { method: 'POST', body, headers: { authorization: auth } })
  assert.is(wrong.status, 400)
  assert.match(await wrong.text(), /hashes to/)
  assert.equal(await readdir(join(files.dir, 'data')).catch(() => []), [])
  assert.is((await fetch(`${base}data/${name}`, { method: 'POST', body, headers: { authorization: auth } })).status, 200)
  const v2 = await fetch(`${base}data/`, { headers: { authorization: auth, accept: 'application/vnd.x.restic.rest.v2' } })
  assert.is(v2.headers.get('content-type'), 'application/vnd.x.restic.rest.v2')
  assert.equal(await v2.json(), [{ name, size: 1000 }])
  assert.equal(await (await fetch(`${base}data/`, { headers: { authorization: auth } })).json(), [name])
  const head = await fetch(`${base}data/${name}`, { method: 'HEAD', headers: { authorization: auth } })
  assert.is(head.headers.get('content-length'), '1000')
  const part = await fetch(`${base}data/${name}`, { headers: { authorization: auth, range: 'bytes=10-19' } })
  assert.is(part.status, 206)
  assert.equal(Buffer.from(await part.arrayBuffer()), body.subarray(10, 20))
  assert.is(part.headers.get('content-range'), 'bytes 10-19/1000')
  assert.is((await fetch(`${base}data/${name}`, { headers: { authorization: auth, range: 'bytes=2000-' } })).status, 416)
  assert.is((await fetch(`${base}data/${'1'.repeat(64)}`, { headers: { authorization: auth } })).status, 404)
  assert.is((await fetch(`${base}data/${name}`, { method: 'DELETE', headers: { authorization: auth } })).status, 200)
  assert.equal(await readdir(join(files.dir, 'data')), [])
  await close()
})

test('Range headers: what restic sends is read, anything else is refused', () => {
  assert.equal(parseRange('bytes=0-99'), { start: 0, end: 99 })
  assert.equal(parseRange('bytes=5-'), { start: 5, end: undefined })
  assert.is(parseRange(undefined), undefined)
  for (const bad of ['bytes=9-1', 'bytes=-5', 'items=0-1', 'bytes=0-1,3-4', 'bytes=1e3-']) assert.is(parseRange(bad), null, bad)
})

test.run()
