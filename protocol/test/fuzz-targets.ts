/**
 * Fuzz targets: every decoder that reads bytes or text from outside, with a
 * generator of hostile inputs (random bytes and text, structured garbage of
 * the right shape, and mutations of valid inputs) and the rule for a
 * correct outcome. The fuzz tests run them with fast-check under a time
 * bound per input; `bench/fuzz.mjs` runs the same targets for throughput.
 */
import fc from 'fast-check'
import {
  canonicalJson, createInvite, decodeInvite, decodeMessage, encodeMessage, generateIdentity, newInviteId, newInviteSecret, newSwarmKey,
  parseEntry, parseServiceSpec, signAlive, type Entry, type Identity, type MemberUpdate, type PeerIdString, type ServiceId, type State, type WireMessage
} from '../src/index.js'
import { buildFixture, openState, serviceValue } from './fixtures.js'

export interface FuzzTarget<T = unknown> {
  name: string
  inputs: fc.Arbitrary<T>
  /** feed one input; throws only errors named in `refusals` (anything else is a bug) */
  run: (input: T) => void | Promise<void>
  /** error names that are a correct refusal */
  refusals: string[]
}

const NOW = 1_800_000_000_000
const enc = new TextEncoder()

/** byte-level mutations of a valid input: flips, cuts, splices, duplications */
export function mutated (valid: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.record({
    base: fc.constantFrom(...valid),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    cut: fc.option(fc.nat()),
    splice: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 64 }))),
    repeat: fc.option(fc.tuple(fc.nat(), fc.nat({ max: 200 })))
  }).map(({ base, flips, cut, splice, repeat }) => {
    let bytes = Uint8Array.from(base)
    for (const [at, value] of flips) if (bytes.length > 0) bytes[at % bytes.length] = value
    if (splice !== null && bytes.length > 0) {
      const at = splice[0] % bytes.length
      bytes = Uint8Array.from([...bytes.subarray(0, at), ...splice[1], ...bytes.subarray(at)])
    }
    if (repeat !== null && bytes.length > 0) {
      const at = repeat[0] % bytes.length
      const piece = bytes.subarray(at, Math.min(bytes.length, at + 16))
      bytes = Uint8Array.from([...bytes.subarray(0, at), ...Array.from({ length: repeat[1] }, () => [...piece]).flat(), ...bytes.subarray(at)])
    }
    if (cut !== null && bytes.length > 0) bytes = bytes.subarray(0, cut % bytes.length)
    return bytes
  })
}

/** JSON text with a known message type first and arbitrary fields after it */
function typedJson (types: string[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.constantFrom(...types), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 8 }))
    .map(([type, rest]) => enc.encode(JSON.stringify({ type, ...rest })))
}

export async function wireTarget (): Promise<FuzzTarget<Uint8Array>> {
  const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
  const f = await buildFixture()
  const entries = f.log.slice(0, 6)
  const valid = [
    encodeMessage({ type: 'entries', entries }),
    encodeMessage({ type: 'sync-request', marks: { [a.peerId]: 3, [b.peerId]: 9 }, digest: 'ff' }),
    encodeMessage({ type: 'sync-response', entries, marks: { [a.peerId]: 3 }, more: true, cursor: `${entries[0].hlc}/${entries[0].author}/1` }),
    encodeMessage({ type: 'join-request', inviteId: 'ab'.repeat(8), secret: 'A'.repeat(43) + '=', peerId: b.peerId as PeerIdString, addrs: ['/ip4/1.2.3.4/tcp/1'], org: 'beta' }),
    encodeMessage({ type: 'join-response', ok: true, org: 'beta', meshId: 'm', root: a.peerId as PeerIdString, entries }),
    encodeMessage({ type: 'error', code: 'not-member', message: 'no' }),
    encodeMessage({ type: 'logs-open', service: 'acme/web', replicas: [0, 2], since: NOW - 60_000, tail: 100, follow: true }),
    encodeMessage({ type: 'logs-poll', session: '3b241101-e2bb-4255-8caf-4136c566a962', credit: 2000, wait: 1000 }),
    encodeMessage({ type: 'logs-close', session: '3b241101-e2bb-4255-8caf-4136c566a962' }),
    encodeMessage({ type: 'logs-opened', session: '3b241101-e2bb-4255-8caf-4136c566a962' }),
    encodeMessage({ type: 'logs-batch', containers: [{ id: 'c0ffee'.repeat(8), replica: 0, lines: [[NOW, 0, 'GET / 200'], [NOW + 1, 1, 'warn: slow'], [NOW + 2, 2, 17]], more: true, ended: false }], more: true, done: false }),
    encodeMessage({ type: 'logs-closed' }),
    encodeMessage({ type: 'events-poll', epoch: '3b241101-e2bb-4255-8caf-4136c566a962', after: 12, since: NOW - 3_600_000, limit: 200, wait: 5000 }),
    encodeMessage({ type: 'forward', service: 'acme/web', replica: 1, port: 8080, via: 'web', host: 'cloud.example.org', client: { address: '203.0.113.7', port: 51234 }, local: { address: '2001:db8::1', port: 443 } }),
    encodeMessage({ type: 'forward', service: 'riverside/db', replica: 0, port: 5432, via: 'name', caller: 'acme/app', client: { address: '10.213.14.7', port: 40000 }, local: { address: '10.213.15.1', port: 5432 } }),
    encodeMessage({ type: 'forward-ok', replica: 1 }),
    encodeMessage({ type: 'events-batch', node: a.peerId, epoch: '3b241101-e2bb-4255-8caf-4136c566a962', events: [{ time: NOW, node: a.peerId, kind: 'node-dead', subject: b.peerId, reason: 'no heartbeat for 5 s', seq: 13 }], next: 13 }),
    encodeMessage({ type: 'chunks-has', root: 'ab'.repeat(32), chunks: ['cd'.repeat(32), 'ef'.repeat(32)] }),
    encodeMessage({ type: 'chunks-have', have: '101' }),
    encodeMessage({ type: 'chunks-get', root: 'ab'.repeat(32), chunks: ['cd'.repeat(32)] }),
    encodeMessage({ type: 'chunks-held' }),
    encodeMessage({ type: 'chunks-held-ok', roots: ['ab'.repeat(32)] }),
    ...membershipMessages(a, b).map(encodeMessage),
    encodeMessage({ type: 'volume-handoff', service: 'acme/db' }),
    encodeMessage({ type: 'volume-backup', service: 'acme/db' }),
    encodeMessage({ type: 'volume-list' }),
    encodeMessage({ type: 'volume-handoff-ok', settled: false, generations: { pgdata: 7 } }),
    encodeMessage({ type: 'volume-backup-ok', snapshots: [{ volume: 'pgdata', snapshot: 'ab'.repeat(32), generation: 8, bytes: 104857600, files: 1200, time: NOW, tookMs: 5300, bytesStored: 2048 }] }),
    encodeMessage({ type: 'volume-list-ok', volumes: [{ node: a.peerId, name: 'minga-acme-db-pgdata', service: 'acme/db', volume: 'pgdata', bytes: 1000, files: 3, lineage: 'current', generation: 8, latest: { generation: 8, time: NOW, node: a.peerId, snapshot: 'ab'.repeat(32) } }, { node: a.peerId, name: 'minga-acme-db-pgdata.aside-20261129T180600Z', service: 'acme/db', volume: 'pgdata', bytes: 900, files: 3, lineage: 'aside', aside: { of: 'minga-acme-db-pgdata', at: NOW, reason: 'diverged' } }] })
  ]
  const types = [
    'entries', 'sync-request', 'sync-response', 'join-request', 'join-response', 'error',
    'logs-open', 'logs-poll', 'logs-close', 'logs-opened', 'logs-batch', 'logs-closed', 'events-poll', 'events-batch',
    'chunks-has', 'chunks-have', 'chunks-get', 'chunks-held', 'chunks-held-ok',
    'ping', 'ack', 'ping-req', 'nack', 'gossip', 'push-pull', 'replicas', 'report-request', 'report',
    'volume-handoff', 'volume-backup', 'volume-list', 'volume-handoff-ok', 'volume-backup-ok', 'volume-list-ok', 'forward', 'forward-ok'
  ]
  return {
    name: 'wire',
    // the valid messages themselves too: mutations alone reach the accepting path about once in a thousand
    inputs: fc.oneof(fc.uint8Array({ maxLength: 4096 }), typedJson(types), mutated(valid), fc.constantFrom(...valid)),
    run: (bytes) => {
      const message = decodeMessage(bytes)
      // what the decoder lets through is a clean message: it encodes again
      encodeMessage(message)
    },
    refusals: ['InvalidMessageError', 'MessageTooLargeError']
  }
}

/** one valid message of every membership type */
export function membershipMessages (a: Identity, b: Identity): WireMessage[] {
  const alive = signAlive(a, 'm', NOW + 3, NOW)
  const updates: MemberUpdate[] = [alive, { kind: 'suspect', node: b.peerId as PeerIdString, inc: 7, from: a.peerId as PeerIdString }, { kind: 'dead', node: b.peerId as PeerIdString, inc: 8, from: b.peerId as PeerIdString }]
  return [
    { type: 'ping', time: NOW, digest: '12-ab', updates },
    { type: 'ack', time: NOW, digest: '12-ab', updates: [] },
    { type: 'ping-req', target: b.peerId as PeerIdString, updates: updates.slice(1) },
    { type: 'nack' },
    { type: 'gossip', updates },
    { type: 'push-pull', digest: 'ff', members: [{ node: a.peerId as PeerIdString, status: 'suspect', inc: NOW + 5, alive: { inc: alive.inc, boot: alive.boot, sig: alive.sig } }, { node: b.peerId as PeerIdString, status: 'left', inc: 2 }] },
    { type: 'push-pull', digest: 'ff' },
    { type: 'report-request' },
    { type: 'report', node: a.peerId as PeerIdString, time: NOW, version: '0.1.0', capacity: { cpu: 4000, memory: 1 << 30 }, allocated: { cpu: 100, memory: 1 << 20 }, digest: '12-ab', replicas: [{ service: 'acme/web' as ServiceId, replica: 0, hash: 'abcdef12', state: 'running', healthy: false }], problems: [{ service: 'acme/web' as ServiceId, replica: 0, error: 'failing its health check', probe: { exitCode: 1, output: 'no' } }] },
    { type: 'replicas', boot: NOW, records: [{ service: 'acme/web' as ServiceId, ver: 9, replicas: [{ replica: 0, hash: 'abcdef12', healthy: true }] }, { service: 'acme/db' as ServiceId, ver: 10, replicas: [] }], want: ['acme/api' as ServiceId] }
  ]
}

export async function inviteTarget (): Promise<FuzzTarget<string>> {
  const issuer = await generateIdentity()
  const tokens = [false, true].map(newOrg => createInvite(issuer, {
    meshId: 'mesh-7f3a',
    root: issuer.peerId,
    psk: newSwarmKey(),
    bootstrap: [`/ip4/203.0.113.7/tcp/4001/p2p/${issuer.peerId}`],
    inviteId: newInviteId(),
    secret: newInviteSecret(),
    ...(newOrg ? {} : { org: 'acme' }),
    newOrg,
    expires: NOW + 3_600_000,
    uses: 3
  }))
  const canonical = new Map(tokens.map(t => [t, JSON.stringify(decodeInvite(t, { now: NOW }), (_, v) => v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)]))
  const alphabet = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_ \n='.split(''))
  const edits = fc.record({
    base: fc.constantFrom(...tokens),
    at: fc.array(fc.tuple(fc.nat(), alphabet, fc.constantFrom('replace', 'insert', 'delete')), { minLength: 1, maxLength: 4 }),
    cut: fc.option(fc.nat())
  }).map(({ base, at, cut }) => {
    let text = base
    for (const [i, ch, op] of at) {
      const k = i % text.length
      text = op === 'replace' ? text.slice(0, k) + ch + text.slice(k + 1) : op === 'insert' ? text.slice(0, k) + ch + text.slice(k) : text.slice(0, k) + text.slice(k + 1)
    }
    return cut === null ? text : text.slice(0, cut % text.length)
  })
  return {
    name: 'invite',
    inputs: fc.oneof(fc.string({ maxLength: 600 }), fc.string({ maxLength: 600 }).map(s => 'minga1' + Buffer.from(s).toString('base64url')), edits),
    run: (token) => {
      const invite = decodeInvite(token, { now: NOW })
      // a token that decodes is one of the real ones (whitespace aside): tampering never yields another invite
      const text = JSON.stringify(invite, (_, v) => v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)
      if (![...canonical.values()].includes(text)) throw new Error(`a tampered token decoded to another invite: ${token}`)
    },
    refusals: ['InvalidInviteError', 'ExpiredInviteError']
  }
}

const VALID_SPECS = [
  'name: web\nimage: nginx:1.27\nreplicas: 3\nports:\n  - 8080:80\nresources: { cpu: 250m, memory: 128Mi }\nenv:\n  MODE: prod\n',
  'name: db\nimage: postgres:16\nsingleton: true\nvolumes:\n  - data:/var/lib/postgresql/data\nhealth:\n  cmd: ["pg_isready"]\n  interval: 5s\nconstraints:\n  disk: ssd\n',
  'services:\n  - name: a\n    image: busybox:1\n    command: ["sleep", "1000"]\n  - name: b\n    image: busybox:1\n    spread: node\n    allowOrgs: [acme, beta]\n'
]

export async function specTarget (): Promise<FuzzTarget<string>> {
  const lines = fc.record({
    base: fc.constantFrom(...VALID_SPECS),
    drop: fc.option(fc.nat()),
    insert: fc.option(fc.tuple(fc.nat(), fc.string({ maxLength: 40 })))
  }).map(({ base, drop, insert }) => {
    const list = base.split('\n')
    if (drop !== null) list.splice(drop % list.length, 1)
    if (insert !== null) list.splice(insert[0] % list.length, 0, insert[1])
    return list.join('\n')
  })
  const bomb = fc.integer({ min: 2, max: 9 }).map(n => ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: n }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill('*' + String.fromCharCode(97 + i)).join(',')}]`), 'name: x', 'image: y'].join('\n'))
  const yamlOf = fc.jsonValue({ maxDepth: 4 }).map(v => JSON.stringify(v))
  return {
    name: 'spec',
    inputs: fc.oneof(fc.string({ maxLength: 800 }), yamlOf, lines, mutated(VALID_SPECS.map(s => enc.encode(s))).map(b => Buffer.from(b).toString('utf8')), bomb),
    run: (text) => { parseServiceSpec(text, { org: 'acme' }) },
    refusals: ['InvalidSpecError']
  }
}

/** entries: the shape check, then a merge into a state that already holds every real entry: nothing may change */
export async function entryTarget (): Promise<FuzzTarget<unknown> & { state: State, digest: string, merged: { count: number } }> {
  const f = await buildFixture()
  await f.write(f.root, 'service/acme/web', serviceValue('acme', 'web', '000000000000001.000000'))
  await f.write(f.acme2, `cordon/${f.root.peerId}`, { reason: 'patching' })
  const state = await openState(f.root.peerId, () => f.now.ms)
  await state.merge(f.log)
  const digest = state.digest()
  const real = f.log
  const fields = ['author', 'seq', 'hlc', 'key', 'value', 'tombstone', 'sig']
  const someone = await generateIdentity()
  const odd = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom<unknown>(someone.peerId, f.beta.peerId, 0, -1, 2 ** 53, '999999999999999.999999', 'service/acme/web', 'revoked/' + f.root.peerId, true))
  const mutatedEntry = fc.record({ base: fc.constantFrom(...real), field: fc.constantFrom(...fields), value: odd, drop: fc.boolean() })
    .map(({ base, field, value, drop }) => {
      const copy: Record<string, unknown> = { ...base }
      if (drop) delete copy[field]
      else copy[field] = value
      return copy
    })
  const merged = { count: 0 }
  return {
    name: 'entry',
    state,
    digest,
    merged,
    inputs: fc.oneof(fc.jsonValue({ maxDepth: 4 }), mutatedEntry, fc.constantFrom<unknown>(...real)),
    run: async (input) => {
      // malformed: refused here (InvalidEntryError); well-formed: merged, and must change nothing
      const entry: Entry = parseEntry(input)
      merged.count++
      await state.merge([entry])
      if (state.digest() !== digest) throw new Error(`state changed after merging ${canonicalJson(entry).slice(0, 300)}`)
    },
    refusals: ['InvalidEntryError']
  }
}

export type { Identity }
