/** Sealed secrets: only the chosen nodes open them; tampering, moving or reading without the key fails */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { checkRecord, generateIdentity, openSecret, parseKey, sealSecret, SECRET_LIMITS, type Json } from '../src/index.js'
import { buildFixture } from './fixtures.js'

const KEY = 'secret/acme/web/DB_PASSWORD'
const value = new TextEncoder().encode('correct horse battery staple')

test('each reader opens the secret with its own node key; no one else does', async () => {
  const [a, b, outsider] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()])
  const sealed = sealSecret(KEY, value, [a.peerId, b.peerId])
  assert.equal(openSecret(a, KEY, sealed), value)
  assert.equal(openSecret(b, KEY, sealed), value)
  try {
    openSecret(outsider, KEY, sealed)
    assert.unreachable('an outsider opened it')
  } catch (err: any) {
    assert.is(err.name, 'InvalidSecretError')
  }
  // the outsider copying a reader's sealed key does not help: it is sealed to the reader's key
  try {
    openSecret(outsider, KEY, { ...sealed, keys: { [outsider.peerId]: sealed.keys[a.peerId] } })
    assert.unreachable('a copied sealed key opened')
  } catch (err: any) {
    assert.is(err.name, 'InvalidSecretError')
  }
  // nothing of the value shows in the record
  assert.not.match(JSON.stringify(sealed), /horse/)
})

test('a tampered or moved secret does not open', async () => {
  const a = await generateIdentity()
  const sealed = sealSecret(KEY, value, [a.peerId])
  const bytes = Buffer.from(sealed.data, 'base64')
  bytes[20] ^= 1
  for (const [key, tampered] of [
    [KEY, { ...sealed, data: bytes.toString('base64') }],
    ['secret/acme/web/OTHER', sealed],
    ['secret/beta/web/DB_PASSWORD', sealed]
  ] as const) {
    try {
      openSecret(a, key, tampered)
      assert.unreachable(`opened ${key}`)
    } catch (err: any) {
      assert.is(err.name, 'InvalidSecretError')
    }
  }
})

test('limits: too big a value or too many readers is a clear error', async () => {
  const a = await generateIdentity()
  assert.throws(() => sealSecret(KEY, new Uint8Array(SECRET_LIMITS.maxValueBytes + 1), [a.peerId]), /at most 8192 bytes/)
  assert.throws(() => sealSecret(KEY, value, []), /at least one node/)
})

test('the replicated record holds ciphertext only, of a checked shape; plain values are refused', async () => {
  const f = await buildFixture()
  const key = parseKey(KEY)!
  const sealed = sealSecret(KEY, value, [f.root.peerId])
  const version = f.source.clock.tick()
  assert.is(checkRecord(key, { sealed, version } as unknown as Json), undefined)
  assert.ok(checkRecord(key, { sealed } as unknown as Json), 'a secret without a version')
  assert.ok(checkRecord(key, { value: 'plain text' }))
  assert.ok(checkRecord(key, { sealed: { ...sealed, plain: 'x' }, version } as unknown as Json))
  assert.ok(checkRecord(key, { sealed: { ...sealed, keys: { 'not-a-peer': sealed.keys[f.root.peerId] } }, version } as unknown as Json))
  await f.write(f.acme2, KEY, { sealed, version } as unknown as Json)
  assert.ok(f.source.value(KEY) !== undefined)
  try {
    await f.write(f.beta, KEY, { sealed, version } as unknown as Json)
    assert.unreachable('beta wrote an acme secret')
  } catch (err: any) {
    assert.is(err.name, 'UnauthorizedWriteError')
  }
})

test.run()
