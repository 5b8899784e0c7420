import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  BLOB_CHUNK_BYTES, MAX_BLOB_BYTES, MAX_HAS_HASHES, decodeBlobFrame, encodeBlobFrame, isRepoId, repoId,
  type BlobHeader
} from '../src/index.js'

const HASH = 'a'.repeat(64)
const REPO = repoId('acme', 'db')
const ALL = ['blob-put', 'blob-has', 'blob-get', 'blob-stored', 'blob-has-ok', 'blob-chunk', 'error'] as const

function raw (header: unknown, payload = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header))
  const out = new Uint8Array(4 + json.length + payload.length)
  new DataView(out.buffer).setUint32(0, json.length)
  out.set(json, 4)
  out.set(payload, 4 + json.length)
  return out
}

function refuses (bytes: Uint8Array, name: string, pattern: RegExp): void {
  try {
    decodeBlobFrame(bytes, ALL)
    assert.unreachable('decoded')
  } catch (err: any) {
    assert.is(err.name, name)
    assert.match(err.message, pattern)
  }
}

test('every header round-trips, with its payload', () => {
  const payload = new Uint8Array([1, 2, 3, 250])
  const samples: Array<[BlobHeader, Uint8Array]> = [
    [{ type: 'blob-put', repo: REPO, hash: HASH, offset: 0, size: 4 }, payload],
    [{ type: 'blob-put', repo: REPO, hash: HASH, offset: 0, size: 0 }, new Uint8Array(0)],
    [{ type: 'blob-has', repo: REPO, hashes: [HASH, 'b'.repeat(64)] }, new Uint8Array(0)],
    [{ type: 'blob-get', repo: REPO, hash: HASH }, new Uint8Array(0)],
    [{ type: 'blob-stored', have: 4, complete: true }, new Uint8Array(0)],
    [{ type: 'blob-has-ok', sizes: [4, -1] }, new Uint8Array(0)],
    [{ type: 'blob-chunk', offset: 1, size: 5 }, payload],
    [{ type: 'error', code: 'quota', message: 'Quota of 20 GiB is full' }, new Uint8Array(0)]
  ]
  for (const [header, bytes] of samples) {
    const frame = decodeBlobFrame(encodeBlobFrame(header, bytes), ALL)
    assert.equal(frame.header, header)
    assert.equal([...frame.payload], [...bytes])
  }
})

test('a type the reader does not expect is refused', () => {
  refuses(raw({ type: 'blob-delete', repo: REPO, hash: HASH }), 'InvalidMessageError', /blob frame type/)
  try {
    decodeBlobFrame(encodeBlobFrame({ type: 'blob-get', repo: REPO, hash: HASH }), ['blob-put'])
    assert.unreachable()
  } catch (err: any) {
    assert.is(err.name, 'InvalidMessageError')
  }
})

test('bad fields are refused, naming the field', () => {
  refuses(raw({ type: 'blob-put', repo: 'acme', hash: HASH, offset: 0, size: 1 }), 'InvalidMessageError', /blob-put.repo/)
  refuses(raw({ type: 'blob-put', repo: 'acme/../x', hash: HASH, offset: 0, size: 1 }), 'InvalidMessageError', /blob-put.repo/)
  refuses(raw({ type: 'blob-put', repo: REPO, hash: HASH.toUpperCase(), offset: 0, size: 1 }), 'InvalidMessageError', /blob-put.hash/)
  refuses(raw({ type: 'blob-put', repo: REPO, hash: HASH, offset: 2, size: 1 }), 'InvalidMessageError', /blob-put.offset/)
  refuses(raw({ type: 'blob-put', repo: REPO, hash: HASH, offset: 0, size: MAX_BLOB_BYTES + 1 }), 'InvalidMessageError', /blob-put.size/)
  refuses(raw({ type: 'blob-put', repo: REPO, hash: HASH, offset: 0, size: 1, extra: 1 }), 'InvalidMessageError', /unknown field/)
  refuses(raw({ type: 'blob-put', repo: REPO, hash: HASH, offset: 0, size: 1 }, new Uint8Array(2)), 'InvalidMessageError', /past the blob size/)
  refuses(raw({ type: 'blob-get', repo: REPO, hash: HASH }, new Uint8Array(1)), 'InvalidMessageError', /carries no payload/)
  refuses(raw({ type: 'blob-has-ok', sizes: [-2] }), 'InvalidMessageError', /sizes\[0\]/)
  refuses(raw({ type: 'error', code: 'Nope!', message: 'x' }), 'InvalidMessageError', /error.code/)
  refuses(raw([1, 2]), 'InvalidMessageError', /object/)
  refuses(new Uint8Array([0, 0, 0, 9, 123]), 'InvalidMessageError', /past the end/)
  refuses(new Uint8Array([0, 0]), 'InvalidMessageError', /shorter/)
})

test('limits hold before parsing: header size, payload size, hash count', () => {
  refuses(raw({ type: 'blob-get', repo: REPO, hash: HASH, pad: 'x'.repeat(5000) }), 'MessageTooLargeError', /header/)
  refuses(raw({ type: 'blob-put', repo: REPO, hash: HASH, offset: 0, size: BLOB_CHUNK_BYTES + 1 }, new Uint8Array(BLOB_CHUNK_BYTES + 1)), 'MessageTooLargeError', /carries/)
  const hashes = Array.from({ length: MAX_HAS_HASHES + 1 }, () => HASH)
  refuses(raw({ type: 'blob-has', repo: REPO, hashes }), 'InvalidMessageError', /at most 1024/)
  // a full blob-has fits its larger header limit
  const full = decodeBlobFrame(encodeBlobFrame({ type: 'blob-has', repo: REPO, hashes: hashes.slice(1) }), ALL)
  assert.is((full.header as any).hashes.length, MAX_HAS_HASHES)
})

test('repository ids are org/service names', () => {
  assert.ok(isRepoId('acme/db'))
  for (const bad of ['acme', 'acme/db/x', 'Acme/db', '/db', 'acme/', 'acme/-db', 42]) assert.not.ok(isRepoId(bad), String(bad))
  assert.throws(() => repoId('acme', 'DB'), (err: any) => err.name === 'InvalidMessageError')
})

test('arbitrary bytes never throw anything but the two wire errors', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, prefixed) => {
    const input = prefixed ? raw(new TextDecoder().decode(bytes), bytes) : bytes
    try {
      decodeBlobFrame(input, ALL)
    } catch (err: any) {
      return err.name === 'InvalidMessageError' || err.name === 'MessageTooLargeError'
    }
    return true
  }), { numRuns: 2000 })
})

test.run()
