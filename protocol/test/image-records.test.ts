/**
 * The image kinds of the state (issue 15): records checked field by field,
 * written only by the org their key names, and the chunks protocol's
 * messages, blob indexes and spec fields that go with them.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  CHUNK_BYTES, checkRecord, checkServiceSpec, containerHash, decodeBlobIndex, decodeChunkFrame, decodeChunksRequest, decodeChunksResponse,
  encodeBlobIndex, encodeChunkFrame, encodeMessage, keys, parseKey, parseServiceSpec, sha256Hex, signEntry, tagKeyId, withTag, type Json
} from '../src/index.js'
import { buildFixture, openState, MESH_ID } from './fixtures.js'

const HEX = 'ab'.repeat(32)
const IMAGE: Json = { index: HEX, size: 5_000_000, layers: 2, tags: ['acme/web:1'], source: 'build', pushed: 1_800_000_000_000 }

test('image keys parse by kind, and every other shape of them is unknown', () => {
  assert.equal(parseKey(keys.image('acme', HEX)), { kind: 'image', org: 'acme', digest: HEX })
  assert.equal(parseKey(keys.tag('acme', tagKeyId('acme/web:1'))), { kind: 'tag', org: 'acme', id: tagKeyId('acme/web:1') })
  assert.equal(parseKey(keys.waiver('acme', 'web', 'CVE-2024-0001')), { kind: 'waiver', org: 'acme', service: 'web', vulnerability: 'CVE-2024-0001' })
  assert.equal(parseKey(keys.buildResult('riverside', '0123456789abcdef')), { kind: 'build-result', org: 'riverside', id: '0123456789abcdef' })
  for (const bad of [`image/acme/${HEX.slice(1)}`, `image/Acme/${HEX}`, 'policy/acme/x', 'waiver/acme/web/CVE 1', 'build/acme/xyz', `scan/acme/${HEX}/1`, 'scanner-db/acme/Trivy']) {
    assert.is(parseKey(bad), undefined, bad)
  }
})

test('image records are checked field by field; a tag must match its key', () => {
  const check = (key: string, value: Json): string | undefined => checkRecord(parseKey(key)!, value)
  assert.is(check(keys.image('acme', HEX), IMAGE), undefined)
  assert.match(check(keys.image('acme', HEX), { ...(IMAGE as object), tags: ['UPPER/case:1'] })!, 'image reference')
  assert.match(check(keys.image('acme', HEX), { ...(IMAGE as object), source: 'magic' })!, 'push, build or registry')
  assert.match(check(keys.image('acme', HEX), { ...(IMAGE as object), extra: 1 })!, 'unknown field')
  assert.is(check(keys.tag('acme', tagKeyId('acme/web:1')), { ref: 'acme/web:1', digest: `sha256:${HEX}` }), undefined)
  assert.match(check(keys.tag('acme', tagKeyId('acme/web:2')), { ref: 'acme/web:1', digest: `sha256:${HEX}` })!, 'does not match the key')
  assert.match(check(keys.policy('acme'), { block: 'everything' })!, 'must be one of none, critical')
  assert.match(check(keys.buildResult('acme', '0123456789abcdef'), { org: 'acme', status: 'passed', started: 1, tail: '' })!, 'names its image')
  assert.match(check(keys.scan('acme', HEX), { scanner: 't', at: 1, counts: {}, fixable: {}, findings: [] })!, 'counts.critical')
})

test('build requests name a context, build arguments and a stage; results the tag, the commit and the test\'s exit code; a node says it builds', () => {
  const check = (key: string, value: Json): string | undefined => checkRecord(parseKey(key)!, value)
  const request = { source: { bundle: HEX }, ref: 'c'.repeat(40), context: 'app', file: 'Dockerfile', args: { NODE_VERSION: '22' }, target: 'prod', tag: 'acme/web:2', builderOrg: 'riverside', requested: 1 }
  assert.is(check(keys.build('acme', '0123456789abcdef'), request), undefined)
  assert.match(check(keys.build('acme', '0123456789abcdef'), { ...request, args: { '1X': 'y' } })!, 'names must be like NODE_VERSION')
  assert.match(check(keys.build('acme', '0123456789abcdef'), { ...request, args: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`A${i}`, ''])) })!, 'at most 64 arguments')
  assert.match(check(keys.build('acme', '0123456789abcdef'), { ...request, target: '-x' })!, 'stage name')
  const result = { org: 'acme', status: 'failed', started: 1, finished: 9, tag: 'acme/web:2', commit: 'c'.repeat(40), digest: `sha256:${HEX}`, testExit: 1, log: HEX, tail: 'testing\n', error: 'The test exited with code 1' }
  assert.is(check(keys.buildResult('riverside', '0123456789abcdef'), result), undefined)
  assert.match(check(keys.buildResult('riverside', '0123456789abcdef'), { ...result, testExit: 256 })!, 'testExit')
  assert.match(check(keys.buildResult('riverside', '0123456789abcdef'), { ...result, tag: 'Not A Ref' })!, 'image reference')
  const node = { labels: {}, addrs: [] }
  assert.is(check(keys.node('12D3KooWSscniPJjxJ2TikRPuvvA6NpAHeC4N7XdUPe9M4pcLVKj'), { ...node, builds: true }), undefined)
  assert.match(check(keys.node('12D3KooWSscniPJjxJ2TikRPuvvA6NpAHeC4N7XdUPe9M4pcLVKj'), { ...node, builds: 'yes' })!, 'builds must be true')
})

test('only nodes of the org write its image, tag, scan, policy and waiver entries', async () => {
  const f = await buildFixture()
  const state = await openState(f.root.peerId, () => f.now.ms)
  await state.merge(f.log)
  const before = state.digest()
  const stamp = `${String(f.now.ms).padStart(15, '0')}.000000`
  const forged = [
    [keys.image('acme', HEX), IMAGE],
    [keys.tag('acme', tagKeyId('acme/web:1')), { ref: 'acme/web:1', digest: `sha256:${HEX}` }],
    [keys.policy('acme'), { block: 'none' }],
    [keys.waiver('acme', 'web', 'CVE-2024-0001'), { digest: `sha256:${HEX}`, reason: 'beta says so' }]
  ].map(([key, value], i) => signEntry(MESH_ID, f.beta, { author: f.beta.peerId, seq: 100 + i, hlc: stamp, key: key as string, value: value as Json }))
  const result = await state.merge(forged)
  assert.is(result.applied.length, 0)
  assert.is(state.digest(), before)
  await f.write(f.acme2, keys.policy('acme'), { block: 'critical-fixable', maxDbAge: 5 * 86_400_000 })
  await state.merge(f.log)
  assert.equal(state.value(keys.policy('acme')), { block: 'critical-fixable', maxDbAge: 5 * 86_400_000 })
})

test('blob indexes round-trip, pin their bytes by root, and refuse chunk lists that do not fit the sizes', () => {
  const index = { kind: 'image' as const, files: [{ role: 'config' as const, digest: HEX, size: 100, chunks: [HEX] }, { role: 'layer' as const, digest: 'cd'.repeat(32), size: CHUNK_BYTES + 1, chunks: ['01'.repeat(32), '02'.repeat(32)] }] }
  const { bytes, root } = encodeBlobIndex(index)
  assert.equal(decodeBlobIndex(bytes, root), index)
  assert.throws(() => decodeBlobIndex(bytes, HEX), /does not match its digest/)
  assert.throws(() => encodeBlobIndex({ ...index, files: [index.files[0], { ...index.files[1], chunks: ['01'.repeat(32)] }] }), /must have 2 chunks/)
  assert.throws(() => encodeBlobIndex({ ...index, files: [index.files[1]] }), /config, then its layers/)
})

test('chunks messages: requests and answers checked, chunk frames carry exactly their size', () => {
  assert.equal(decodeChunksRequest(encodeMessage({ type: 'chunks-get', root: HEX, chunks: [HEX] })), { type: 'chunks-get', root: HEX, chunks: [HEX] })
  assert.throws(() => decodeChunksRequest(encodeMessage({ type: 'chunks-have', have: '1' })), /not expected here/)
  assert.throws(() => decodeChunksRequest(new TextEncoder().encode(JSON.stringify({ type: 'chunks-get', root: HEX, chunks: Array(17).fill(HEX) }))), /at most 16/)
  assert.throws(() => decodeChunksResponse(encodeMessage({ type: 'error', code: 'forbidden', message: 'private image' }), 'chunks-have'), (err: any) => err.name === 'ChunksProtocolError' && err.code === 'forbidden')
  const payload = new TextEncoder().encode('hello')
  const frame = decodeChunkFrame(encodeChunkFrame({ type: 'chunk', digest: sha256Hex(payload), size: 5 }, payload))
  assert.equal([...frame.payload], [...payload])
  const lying = encodeChunkFrame({ type: 'chunk', digest: HEX, size: 4 }, payload)
  assert.throws(() => decodeChunkFrame(lying), /says 4 bytes but carries 5/)
})

test('imageDigest is part of the container hash; watching is not', () => {
  const [spec] = parseServiceSpec('name: web\nimage: acme/web:1\nupdate: { watch: true, watchInterval: 10m }\n', { org: 'acme' })
  assert.equal(spec.update, { maxUnavailable: 1, watch: true, watchInterval: 600_000 })
  const pinned = checkServiceSpec({ ...spec, imageDigest: `sha256:${HEX}` })
  assert.is.not(containerHash(pinned), containerHash(spec))
  assert.is(containerHash({ ...spec, update: { maxUnavailable: 1 } }), containerHash(spec))
  assert.throws(() => parseServiceSpec('name: web\nimage: a:1\nupdate: { watchInterval: 5s }\n', { org: 'acme' }), /watchInterval: must be a duration from 1m to 7d/)
  assert.throws(() => checkServiceSpec({ ...spec, imageDigest: 'sha256:xyz' }), /imageDigest: must be an image id/)
  assert.is(withTag('nginx'), 'nginx:latest')
  assert.is(withTag('localhost:5000/acme/web'), 'localhost:5000/acme/web:latest')
  assert.is(withTag('acme/web:2'), 'acme/web:2')
})

test.run()
