import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  MAX_GOSSIP_ENTRIES, MAX_REPORT_REPLICAS, MAX_PROBE_OUTPUT, probeOutput, MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES_BY_TYPE, decodeMessage, encodeHlc, encodeMessage,
  generateIdentity, isEntries, isErrorMessage, isJoinRequest, isJoinResponse, isSyncRequest, isSyncResponse, signEntry,
  type Entry, type ReportMessage, type WireMessage
} from '../src/index.js'

const MESH = 'mesh-7f3a'
const [node, other] = await Promise.all([generateIdentity(), generateIdentity()])
const encoder = new TextEncoder()

function entry (seq: number, value: unknown = { org: 'acme' }): Entry {
  return signEntry(MESH, node, { author: node.peerId, seq, hlc: encodeHlc({ wall: 1_800_000_000_000 + seq, counter: 0 }), key: `member/${other.peerId}`, value: value as any })
}

/** a node's report (what views ask for), with `extra` over it */
function report (extra: Partial<ReportMessage> = {}): ReportMessage {
  return {
    type: 'report',
    node: node.peerId,
    time: 1_800_000_000_000,
    version: '0.1.0',
    capacity: { cpu: 4000, memory: 8 * 1024 ** 3 },
    allocated: { cpu: 1500, memory: 2 * 1024 ** 3 },
    digest: '12-00ff00ff00ff00ff00ff00ff00ff00ff',
    replicas: [
      { service: 'acme/web' as any, replica: 0, hash: '0123456789abcdef', state: 'running', healthy: true },
      { service: 'beta/db' as any, replica: 2, hash: 'fedcba9876543210', state: 'starting', healthy: false }
    ],
    ...extra
  }
}

const samples: WireMessage[] = [
  report(),
  report({ replicas: [] }),
  report({ problems: [{ service: 'acme/ghost' as any, replica: 0, error: 'Image registry.invalid/ghost:1 is not on this node and could not be pulled' }] }),
  report({ problems: [{ service: 'acme/db' as any, replica: 1, error: 'failing its health check: exit 3, "not ready"', probe: { exitCode: 3, output: 'not ready' } }] }),
  { type: 'entries', entries: [entry(1), entry(2, null), { ...entry(3), value: undefined, tombstone: true }] },
  { type: 'sync-request', marks: { [node.peerId]: 12, [other.peerId]: 0 }, digest: '3-abcdef' },
  { type: 'sync-response', entries: [entry(4)], marks: { [node.peerId]: 4 }, more: true },
  { type: 'join-request', inviteId: 'a'.repeat(32), secret: Buffer.alloc(32, 7).toString('base64'), peerId: other.peerId, addrs: ['/ip4/198.51.100.2/tcp/4001'] },
  { type: 'join-request', inviteId: 'b'.repeat(16), secret: Buffer.alloc(32).toString('base64'), peerId: other.peerId, org: 'gamma', addrs: [], labels: { gpu: 'true' }, capacity: { cpu: 2000, memory: 1024 } },
  { type: 'join-response', ok: true, org: 'acme', meshId: MESH, root: node.peerId, entries: [entry(5)] },
  { type: 'join-response', ok: true, org: 'acme', meshId: MESH, root: node.peerId },
  { type: 'join-response', ok: false, error: 'This invite expired at 2026-11-24T10:00:00.000Z', code: 'invite-expired' },
  { type: 'error', code: 'too-many-requests', message: 'Try again in a minute' }
]

/** the error a decode throws */
function refusal (bytes: Uint8Array, options?: Parameters<typeof decodeMessage>[1]): Error {
  try {
    decodeMessage(bytes, options)
  } catch (err: any) {
    return err
  }
  assert.unreachable(`accepted ${Buffer.from(bytes).toString().slice(0, 200)}`)
  throw new Error('unreachable')
}

const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value))

test('every message type survives a round trip, and its guard knows it', () => {
  const guards = [(m: WireMessage) => m.type === 'report', isEntries, isSyncRequest, isSyncResponse, isJoinRequest, isJoinResponse, isErrorMessage]
  for (const msg of samples) {
    const bytes = encodeMessage(msg)
    assert.ok(Buffer.from(bytes).toString().startsWith(`{"type":"${msg.type}"`))
    const back = decodeMessage(bytes)
    assert.equal(back, JSON.parse(JSON.stringify(msg)), msg.type)
    assert.is(guards.filter(guard => guard(back)).length, 1, msg.type)
  }
})

test('size limits apply before parsing', () => {
  // not JSON at all: a size refusal proves the parser never ran
  const huge = new Uint8Array(5 * 1024 * 1024).fill(0x7b)
  assert.is(refusal(huge).name, 'MessageTooLargeError')
  assert.match(refusal(huge).message, /5242880 bytes exceeds the limit of 4194304/)
  // the caller's limit, and each type's own
  const reportSized = encoder.encode(`{"type":"report",${' '.repeat(MAX_MESSAGE_BYTES_BY_TYPE.report)}`)
  assert.is(refusal(reportSized).name, 'MessageTooLargeError')
  assert.match(refusal(reportSized).message, /The report message of \d+ bytes exceeds the limit of 1048576/)
  const joinSized = encoder.encode(`{"type":"join-request"${' '.repeat(70 * 1024)}`)
  assert.is(refusal(joinSized).name, 'MessageTooLargeError')
  const small = encodeMessage(samples[0])
  assert.is(refusal(small, { maxBytes: 100 }).name, 'MessageTooLargeError')
  assert.is(decodeMessage(small, { maxBytes: 64 * 1024 }).type, 'report')
  assert.is(refusal(new Uint8Array(MAX_MESSAGE_BYTES + 1), { maxBytes: 10 * MAX_MESSAGE_BYTES }).name, 'MessageTooLargeError')
})

test('the encoder refuses what the decoder would refuse', () => {
  const many = Array.from({ length: MAX_GOSSIP_ENTRIES + 1 }, () => entry(1))
  const err = (() => { try { encodeMessage({ type: 'entries', entries: many }) } catch (e: any) { return e } })()
  assert.is(err?.name, 'InvalidMessageError')
  assert.match(err.message, /entries has 1001 items \(at most 1000\)/)
  const big = Array.from({ length: 100 }, (_, i) => entry(i + 1, { blob: 'x'.repeat(50_000) }))
  const tooLarge = (() => { try { encodeMessage({ type: 'sync-response', entries: big, marks: {}, more: false }) } catch (e: any) { return e } })()
  assert.is(tooLarge?.name, 'MessageTooLargeError')
  assert.match(tooLarge.message, /send fewer items per message/)
  const bogus = (() => { try { encodeMessage({ type: 'shout' } as any) } catch (e: any) { return e } })()
  assert.is(bogus?.name, 'InvalidMessageError')
})

test('bad messages are refused with the field that is wrong', () => {
  const sample = JSON.parse(Buffer.from(encodeMessage(samples[0])).toString())
  const cases: Array<[unknown, RegExp]> = [
    [{ type: 'shout' }, /first field is a known "type"/],
    [{ node: 'x', type: 'report' }, /first field is a known "type"/],
    [{ ...sample, time: -1 }, /report\.time must be a whole number/],
    [{ ...sample, time: '42' }, /report\.time must be a whole number/],
    [{ ...sample, capacity: { cpu: 1, memory: 2, disk: 3 } }, /report\.capacity has an unknown field "disk"/],
    [{ ...sample, extra: 1 }, /report has an unknown field "extra"/],
    [{ ...sample, node: 'QmNotEd25519' }, /report\.node must be an Ed25519 peer id/],
    [{ ...sample, replicas: [{ service: 'acme/web', replica: 0, hash: 'ab12cd34', state: 'dancing', healthy: true }] }, /replicas\[0\]\.state must be one of/],
    [{ ...sample, replicas: [{ service: 'web', replica: 0, hash: 'ab12cd34', state: 'running', healthy: true }] }, /replicas\[0\]\.service must be a service id/],
    [{ ...sample, version: 'a b' }, /report\.version must be 1 to 64 printable characters/],
    [{ ...sample, problems: [{ service: 'acme/web', replica: 0, error: 'x'.repeat(501) }] }, /report\.problems\[0\]\.error must be a string of at most 500 characters/],
    [{ ...sample, problems: [{ service: 'acme/web', replica: 0, error: 'x', more: 1 }] }, /report\.problems\[0\] has an unknown field "more"/],
    [{ ...sample, problems: [{ service: 'acme/web', replica: 0, error: 'x', probe: { exitCode: 3, output: 'x'.repeat(201) } }] }, /report\.problems\[0\]\.probe\.output must be a string of at most 200 characters/],
    [{ ...sample, problems: [{ service: 'acme/web', replica: 0, error: 'x', probe: { exitCode: 256, output: '' } }] }, /report\.problems\[0\]\.probe\.exitCode must be a whole number from -1 to 255/],
    [{ ...sample, problems: [{ service: 'acme/web', replica: 0, error: 'x', probe: { exitCode: 1 } }] }, /report\.problems\[0\]\.probe\.output must be a string/],
    [{ ...sample, problems: Array.from({ length: 101 }, () => ({ service: 'acme/web', replica: 0, error: 'x' })) }, /report\.problems has 101 items \(at most 100\)/],
    [{ type: 'entries', entries: [{ ...entry(1), seq: 0 }] }, /entries\[0\]: entry\.seq must be a positive integer/],
    [{ type: 'entries', entries: {} }, /entries must be a list/],
    [{ type: 'sync-request', marks: { nobody: 1 }, digest: '' }, /has a key that is not a peer id/],
    [{ type: 'sync-request', marks: { [node.peerId]: 1.5 }, digest: '' }, /must be a whole number/],
    [{ type: 'sync-response', entries: [], marks: {}, more: 'yes' }, /sync-response\.more must be true or false/],
    [{ type: 'join-request', inviteId: 'a'.repeat(32), secret: 'short', peerId: other.peerId, addrs: [] }, /join-request\.secret must be the base64 of 32 bytes/],
    [{ type: 'join-request', inviteId: 'a'.repeat(32), secret: Buffer.alloc(32).toString('base64'), peerId: other.peerId, addrs: [], org: 'Bad' }, /join-request\.org must be/],
    [{ type: 'join-response', ok: 'maybe', org: 'acme', meshId: MESH, root: node.peerId }, /join-response\.ok must be true or false/],
    [{ type: 'join-response', ok: false, error: 'x', code: 'bad code' }, /join-response\.code must be a short code/],
    [{ type: 'join-response', ok: true, org: 'acme', meshId: '', root: node.peerId }, /join-response\.meshId must not be empty/],
    [{ type: 'error', code: 'x', message: 'y'.repeat(2000) }, /error\.message must be a string of at most 1024 characters/]
  ]
  for (const [value, pattern] of cases) {
    const err = refusal(json(value))
    assert.is(err.name, 'InvalidMessageError', JSON.stringify(value).slice(0, 100))
    assert.match(err.message, pattern)
  }
  // a second type field cannot dodge the first one's size limit
  assert.match(refusal(encoder.encode('{"type":"error","code":"x","message":"y","type":"sync-response"}')).message, /names another type further on/)
})

test('non-finite numbers, bad UTF-8, deep nesting and huge lists are refused', () => {
  const sample = Buffer.from(encodeMessage(samples[0])).toString()
  assert.match(refusal(encoder.encode(sample.replace('"time":1800000000000', '"time":1e400'))).message, /report\.time must be a whole number/)
  assert.match(refusal(encoder.encode(sample.replace('"time":1800000000000', '"time":NaN'))).message, /not valid UTF-8 JSON/)
  const badUtf8 = Buffer.concat([Buffer.from('{"type":"error","code":"x","message":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])
  assert.match(refusal(badUtf8).message, /not valid UTF-8 JSON/)
  const deep = encoder.encode(`{"type":"entries","entries":${'['.repeat(100_000)}${']'.repeat(100_000)}}`)
  assert.match(refusal(deep).message, /nests more than 64 levels deep/)
  // brackets inside strings do not count as nesting
  const bracketed = encodeMessage({ type: 'error', code: 'x', message: '['.repeat(1000) })
  assert.is(decodeMessage(bracketed).type, 'error')
  const replicas = Array.from({ length: MAX_REPORT_REPLICAS + 1 }, (_, i) => ({ service: 'a/b', replica: 0, hash: 'abcdef01', state: 'running', healthy: true, i }))
  assert.match(refusal(json({ ...JSON.parse(sample), replicas })).message, /report\.replicas has 10001 items \(at most 10000\)/)
  assert.match(refusal(json({ type: 'entries', entries: Array(MAX_GOSSIP_ENTRIES + 1).fill(0) })).message, /entries has 1001 items/)
})

test('a decoder can be told which types it accepts', () => {
  const err = refusal(encodeMessage(samples.find(m => m.type === 'entries')!), { types: ['report'] })
  assert.is(err.name, 'InvalidMessageError')
  assert.match(err.message, /The entries message is not expected here \(expected report\)/)
  assert.is(decodeMessage(encodeMessage(samples[0]), { types: ['report'] }).type, 'report')
})

/** decodes, and holds a message that decodes to a round trip */
function decodeOrRefuse (bytes: Uint8Array): void {
  try {
    const msg = decodeMessage(bytes)
    assert.equal(decodeMessage(encodeMessage(msg)), msg)
  } catch (err: any) {
    assert.ok(err.name === 'InvalidMessageError' || err.name === 'MessageTooLargeError', err.stack)
  }
}

test('fuzz: garbage bytes only ever give InvalidMessageError or MessageTooLargeError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), decodeOrRefuse), { numRuns: 1000 })
  fc.assert(fc.property(fc.constantFrom(...samples.map(msg => msg.type)), fc.jsonValue({ maxDepth: 3 }), (type, value) => {
    const record = typeof value === 'object' && value !== null && !Array.isArray(value) ? value : { value }
    decodeOrRefuse(json({ type, ...record }))
  }), { numRuns: 1000 })
  fc.assert(fc.property(fc.constantFrom(...samples), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), (msg, patch) => {
    decodeOrRefuse(json({ ...JSON.parse(JSON.stringify(msg)), ...patch, type: msg.type }))
  }), { numRuns: 1000 })
})

test('fuzz: mutated valid messages only ever decode or give those errors', () => {
  const encoded = samples.map(encodeMessage)
  const mutation = fc.record({
    which: fc.nat(encoded.length - 1),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
    cut: fc.option(fc.nat())
  })
  fc.assert(fc.property(mutation, ({ which, flips, cut }) => {
    const bytes = Uint8Array.from(encoded[which])
    for (const [at, byte] of flips) bytes[at % bytes.length] = byte
    decodeOrRefuse(cut === null ? bytes : bytes.subarray(0, cut % bytes.length))
  }), { numRuns: 3000 })
})

test('probeOutput: one line, control characters gone, bounded', () => {
  assert.is(probeOutput('database\n  not ready\r\n\u0007retry'), 'database not ready retry')
  const long = probeOutput('y'.repeat(5000))
  assert.is(long.length, MAX_PROBE_OUTPUT)
  assert.ok(long.endsWith('…'))
})

test.run()
