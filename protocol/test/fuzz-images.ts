/**
 * Fuzz targets of the images protocol (issue 15): chunk frames, blob
 * indexes and the image records, each from random bytes or values, shapes
 * of the right kind with wrong fields, and mutations of valid inputs.
 */
import fc from 'fast-check'
import {
  checkRecord, decodeBlobIndex, decodeChunkFrame, encodeBlobIndex, encodeChunkFrame, parseKey, sha256Hex, tagKeyId, type Json
} from '../src/index.js'
import { mutated, type FuzzTarget } from './fuzz-targets.js'

const enc = new TextEncoder()
const HEX = 'ab'.repeat(32)

export function chunkFrameTarget (): FuzzTarget<Uint8Array> {
  const payload = enc.encode('layer bytes')
  const valid = [
    encodeChunkFrame({ type: 'chunk', digest: sha256Hex(payload), size: payload.length }, payload),
    encodeChunkFrame({ type: 'error', code: 'forbidden', message: 'private image' }),
    encodeChunkFrame({ type: 'chunk', digest: HEX, size: 0 })
  ]
  return {
    name: 'chunk-frame',
    inputs: fc.oneof(fc.uint8Array({ maxLength: 2048 }), mutated(valid), fc.constantFrom(...valid)),
    run: (bytes) => {
      const frame = decodeChunkFrame(bytes)
      // what the decoder lets through encodes again to the same bytes' meaning
      decodeChunkFrame(encodeChunkFrame(frame.header, frame.payload))
    },
    refusals: ['InvalidMessageError', 'MessageTooLargeError']
  }
}

export function blobIndexTarget (): FuzzTarget<Uint8Array> {
  const image = encodeBlobIndex({
    kind: 'image',
    files: [
      { role: 'config', digest: HEX, size: 1520, chunks: [HEX] },
      { role: 'layer', digest: 'cd'.repeat(32), size: 3 * 1024 * 1024, chunks: ['01'.repeat(32), '02'.repeat(32), '03'.repeat(32)] }
    ]
  }).bytes
  const file = encodeBlobIndex({ kind: 'file', files: [{ role: 'file', digest: HEX, size: 0, chunks: [] }] }).bytes
  const shapes = fc.record({
    type: fc.constantFrom('blob-index', 'x'),
    kind: fc.constantFrom('image', 'file', 'other'),
    chunk: fc.constantFrom(1048576, 0, -1, 1.5),
    files: fc.array(fc.record({ role: fc.constantFrom('config', 'layer', 'file', 7), digest: fc.constantFrom(HEX, 'zz'), size: fc.oneof(fc.nat(), fc.constant(-1)), chunks: fc.constantFrom('', HEX, HEX + HEX, 'q') }), { maxLength: 4 })
  }).map(v => enc.encode(JSON.stringify(v)))
  return {
    name: 'blob-index',
    inputs: fc.oneof(fc.uint8Array({ maxLength: 2048 }), shapes, mutated([image, file]), fc.constantFrom(image, file)),
    run: (bytes) => {
      const index = decodeBlobIndex(bytes)
      decodeBlobIndex(encodeBlobIndex(index).bytes)
    },
    refusals: ['InvalidMessageError', 'MessageTooLargeError']
  }
}

const validRecords: Array<[string, Json]> = [
  [`image/acme/${HEX}`, { index: HEX, size: 5_000_000, layers: 2, tags: ['acme/web:1'], source: 'build', build: '0123456789abcdef', pushed: 1_800_000_000_000 }],
  [`tag/acme/${tagKeyId('acme/web:1')}`, { ref: 'acme/web:1', digest: `sha256:${HEX}` }],
  [`scan/acme/${HEX}`, {
    scanner: 'trivy 0.50.1',
    at: 1_800_000_000_000,
    db: { built: 1_799_900_000_000 },
    counts: { critical: 1, high: 0, medium: 0, low: 0, unknown: 0 },
    fixable: { critical: 1, high: 0, medium: 0, low: 0, unknown: 0 },
    findings: [{ id: 'CVE-2024-0001', severity: 'critical', package: 'openssl', installed: '3.0.1', fixed: '3.0.2' }]
  }],
  ['policy/acme', { block: 'critical-fixable', maxDbAge: 432_000_000 }],
  ['waiver/acme/web/CVE-2024-0001', { digest: `sha256:${HEX}`, reason: 'not reachable' }],
  ['build/acme/0123456789abcdef', { source: { bundle: HEX }, ref: 'main', file: 'Dockerfile', test: 'make test', tag: 'acme/web:2', builderOrg: 'riverside', requested: 1_800_000_000_000 }],
  ['build/acme/0123456789abcdef0123', { source: { url: 'https://git.example.org/acme/web.git' }, ref: 'a'.repeat(40), context: 'app', file: 'app/Dockerfile', args: { NODE_VERSION: '22' }, target: 'prod', tag: 'acme/web:3', builderOrg: 'acme', requested: 1 }],
  ['build-result/riverside/0123456789abcdef', { org: 'acme', status: 'passed', started: 1, finished: 2, tag: 'acme/web:2', commit: 'b'.repeat(40), digest: `sha256:${HEX}`, index: HEX, testExit: 0, log: HEX, tail: 'ok' }],
  ['build-result/acme/0123456789abcdef', { org: 'acme', status: 'failed', started: 1, finished: 2, commit: 'b'.repeat(40), digest: `sha256:${HEX}`, testExit: 3, tail: 'testing\n', error: 'The test exited with code 3' }],
  ['scanner-db/acme/trivy', { index: HEX, size: 100, built: 1, pushed: 2 }]
]

/** the image kinds' record checks: any value under a valid key is judged without throwing */
export function imageRecordTarget (): FuzzTarget<[string, unknown]> {
  const odd = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom<unknown>(HEX, `sha256:${HEX}`, -1, 2 ** 60, '', 'critical', 'x'.repeat(5000), [], {}))
  const mutatedRecord = fc.record({ base: fc.constantFrom(...validRecords), field: fc.string({ maxLength: 10 }), known: fc.boolean(), value: odd, drop: fc.boolean() })
    .map(({ base: [key, value], field, known, value: v, drop }): [string, unknown] => {
      const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) }
      const name = known ? Object.keys(copy)[field.length % Object.keys(copy).length] : field
      if (drop) delete copy[name]
      else copy[name] = v
      return [key, copy]
    })
  return {
    name: 'image-records',
    inputs: fc.oneof(mutatedRecord, fc.constantFrom(...validRecords), fc.tuple(fc.constantFrom(...validRecords.map(r => r[0])), fc.jsonValue({ maxDepth: 3 }))),
    run: ([key, value]) => {
      const parsed = parseKey(key)
      if (parsed === undefined) throw new Error(`fixture key ${key} does not parse`)
      const problem = checkRecord(parsed, value as Json)
      if (problem !== undefined) throw Object.assign(new Error(problem), { name: 'RecordRefused' })
      // an accepted record survives JSON as it is
      if (checkRecord(parsed, JSON.parse(JSON.stringify(value))) !== undefined) throw new Error('accepted once, refused after a JSON round trip')
    },
    refusals: ['RecordRefused']
  }
}
