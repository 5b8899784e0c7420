/** Fuzzing the images protocol's decoders: chunk frames, blob indexes, image records; then huge inputs */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CHUNK_BYTES, decodeBlobIndex, decodeChunkFrame } from '../src/index.js'
import { fuzz } from './fuzz-harness.js'
import { blobIndexTarget, chunkFrameTarget, imageRecordTarget } from './fuzz-images.js'

for (const target of [chunkFrameTarget(), blobIndexTarget(), imageRecordTarget()]) {
  test(`${target.name}: every input is decoded cleanly or refused with its own error, in bounded time`, async () => {
    const report = await fuzz(target as any, { numRuns: 3000 })
    assert.is(report.runs, 3000)
    assert.ok(report.refused > 0 && report.accepted > 0, `refused ${report.refused}, accepted ${report.accepted}: the generator must reach both`)
  })
}

test('oversized frames and indexes are refused before they are parsed', () => {
  const frame = new Uint8Array(4 + 10 + CHUNK_BYTES + 1)
  new DataView(frame.buffer).setUint32(0, 10)
  frame.set(new TextEncoder().encode('{"type":1}'), 4)
  assert.throws(() => decodeChunkFrame(frame), (err: Error) => err.name === 'MessageTooLargeError')
  const header = new Uint8Array(8)
  new DataView(header.buffer).setUint32(0, 1 << 30)
  assert.throws(() => decodeChunkFrame(header), (err: Error) => err.name === 'MessageTooLargeError')
  assert.throws(() => decodeBlobIndex(new Uint8Array(CHUNK_BYTES + 1)), (err: Error) => err.name === 'MessageTooLargeError')
})

test.run()
