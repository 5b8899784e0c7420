/**
 * Docker's images as minga carries them, on a real engine
 * (MINGA_TEST_DOCKER_HOST, else /var/run/docker.sock; skipped without one,
 * except under CI): `docker save` cut into chunks on disk, each layer
 * hashing to its diff id; the image removed and loaded back from the chunks
 * without the layers the engine still holds; the same id, and it runs.
 * Then the chunk store on disk: damaged chunks found and dropped.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pack } from 'tar-stream'
import type { IndexedFile } from '@minga/protocol'
import { chainIds, configDiffIds, readFile, storeFile } from '../src/core/index.js'
import { DiskChunkStore } from '../src/images/disk-store.js'
import { DockerImages } from '../src/images/docker-images.js'

const socket = (process.env.MINGA_TEST_DOCKER_HOST ?? '/var/run/docker.sock').replace(/^unix:\/\//, '')
const images = new DockerImages({ socketPath: socket })
const engine = await images.inspect('minga/busybox:1').then(() => true, () => false)
const missing = `no Docker engine at ${socket} (start one with "scripts/docker-engine.sh start test" and set MINGA_TEST_DOCKER_HOST)`
if (!engine && process.env.CI === undefined) console.log(`skipped: ${missing}`)
const it: (name: string, fn: () => Promise<void>) => void = engine ? test : process.env.CI !== undefined ? (name) => test(name, () => assert.unreachable(`${missing}; CI always provides one`)) : test.skip
if (engine) buildTestImages()

/** `docker build` of a one-line change on minga/busybox:1, through the API's legacy builder */
async function build (tag: string, line: string): Promise<string> {
  const archive = pack()
  archive.entry({ name: 'Dockerfile' }, `FROM minga/busybox:1\nRUN echo '${line}' > /hello\nCMD ["cat", "/hello"]\n`)
  archive.finalize()
  const stream = await images.docker.buildImage(archive as unknown as NodeJS.ReadableStream, { t: tag, rm: true })
  await new Promise((resolve, reject) => images.docker.modem.followProgress(stream, (err: unknown) => { if (err != null) reject(err); else resolve(undefined) }))
  return (await images.inspect(tag))!.id
}

it('docker: an image saved into chunks loads back from them, without the layers the engine holds, and runs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-chunks-'))
  const tag = `minga-test/saved:${process.pid}`
  try {
    const store = await DiskChunkStore.open(dir)
    const id = await build(tag, `saved ${Date.now()}`)
    const image = (await images.inspect(id))!
    const files = new Map<string, IndexedFile>()
    let config: IndexedFile | undefined
    for await (const file of images.save(id)) {
      const stored = await storeFile(store, file.role, file.data)
      if (file.role === 'config') config = stored
      else files.set(`sha256:${stored.digest}`, stored)
    }
    assert.is(`sha256:${config!.digest}`, id, 'the config hashes to the image id')
    const configBytes = Buffer.concat(await all(readFile(store, config!)))
    assert.equal(configDiffIds(configBytes), image.layers)
    for (const diff of image.layers) assert.ok(files.has(diff), `layer ${diff} was saved under its diff id`)

    const chainsBefore = await images.layerChains()
    execFileSync('docker', ['-H', `unix://${socket}`, 'rmi', tag], { stdio: 'ignore' })
    assert.is(await images.inspect(id), undefined)
    const held = await images.layerChains()
    const stack = chainIds(image.layers)
    assert.ok(held.has(stack[0]) && !held.has(stack[1]), 'the base stays, the top layer went with the image')
    assert.ok(chainsBefore.has(stack[1]))
    await images.load({
      config: configBytes,
      layers: image.layers.map((diff, i) => ({ digest: diff.slice(7), size: files.get(diff)!.size, ...(held.has(stack[i]) ? {} : { data: () => readFile(store, files.get(diff)!) }) })),
      tags: [tag]
    })
    assert.is((await images.inspect(tag))?.id, id, 'the same image, under its tag')
    const out = execFileSync('docker', ['-H', `unix://${socket}`, 'run', '--rm', '--network', 'none', tag]).toString()
    assert.match(out, 'saved ')

    // a layer whose bytes are not its diff id: the engine refuses the load
    const top = files.get(image.layers[1])!
    execFileSync('docker', ['-H', `unix://${socket}`, 'rmi', tag], { stdio: 'ignore' })
    const err = await images.load({
      config: configBytes,
      layers: [{ digest: image.layers[0].slice(7), size: 0 }, { digest: image.layers[1].slice(7), size: top.size, data: async function * () { yield new Uint8Array(top.size) } }],
      tags: [tag]
    }).then(() => undefined, (e: Error) => e)
    assert.ok(err !== undefined, 'refused')
    assert.is(await images.inspect(id), undefined)
  } finally {
    execFileSync('docker', ['-H', `unix://${socket}`, 'rmi', '-f', tag], { stdio: 'ignore' })
    await rm(dir, { recursive: true, force: true })
  }
})

test('disk store: a chunk damaged on disk is dropped on read and counted; unfinished writes vanish on open', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-chunks-'))
  try {
    let store = await DiskChunkStore.open(dir)
    const bytes = new TextEncoder().encode('chunk bytes')
    const { sha256Hex } = await import('@minga/protocol')
    const digest = sha256Hex(bytes)
    await store.put(digest, bytes)
    const refused = await store.put(digest.replace(/^./, c => c === '0' ? '1' : '0'), bytes).then(() => undefined, (e: Error) => e)
    assert.is(refused?.name, 'ChunkMismatchError')
    assert.is(store.refused, 1)
    await writeFile(join(dir, 'chunks', digest.slice(0, 2), digest), 'damaged')
    await writeFile(join(dir, 'tmp', 'leftover'), 'half a chunk')
    store = await DiskChunkStore.open(dir)
    assert.ok(store.has(digest))
    assert.is(await store.get(digest), undefined)
    assert.is(store.refused, 1)
    assert.ok(!store.has(digest))
    assert.equal(await readdir(join(dir, 'tmp')), [])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

async function all<T> (source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of source) out.push(x)
  return out
}

function buildTestImages (): void {
  for (let dir of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    for (; dir !== dirname(dir); dir = dirname(dir)) {
      const script = join(dir, 'scripts', 'test-image.sh')
      if (existsSync(script)) { execFileSync(script, [socket], { stdio: 'ignore' }); return }
    }
  }
  throw new Error('scripts/test-image.sh not found; run the tests from the minga repository')
}

test.run()
