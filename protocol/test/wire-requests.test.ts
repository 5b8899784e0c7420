/** the logs and events messages are wire messages: type first, a limit per type, every field checked, refusals that say which */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  decodeEventsRequest, decodeEventsResponse, decodeLogsRequest, decodeLogsResponse, decodeMessage, encodeLogs, encodeMessage, errorMessage,
  MAX_CREDIT, MAX_EVENT_REASON, MAX_EVENTS_LIMIT, MAX_LINE_CHARS, MAX_WAIT_MS, cutLine, wireEventOf
} from '../src/index.js'

const enc = new TextEncoder()
const bytes = (value: unknown): Uint8Array => enc.encode(JSON.stringify(value))
const refusal = (fn: () => unknown): { name: string, code?: string, message: string } => {
  try {
    fn()
  } catch (err: any) {
    return { name: err.name, code: err.code, message: err.message }
  }
  throw new Error('expected a refusal')
}

test('logs requests round-trip; credit and wait above the limit count as the limit; a request names its problem', () => {
  const open = { type: 'logs-open' as const, service: 'acme/web', replicas: [0, 2], since: 1, tail: 10, follow: true }
  assert.equal(decodeLogsRequest(encodeLogs(open)), open)
  assert.equal(decodeLogsRequest(bytes({ type: 'logs-poll', session: 's1', credit: 1e6, wait: 1e6 })), { type: 'logs-poll', session: 's1', credit: MAX_CREDIT, wait: MAX_WAIT_MS })
  const bad = refusal(() => decodeLogsRequest(bytes({ type: 'logs-open', service: 'acme/web', follow: false, extra: 1 })))
  assert.is(bad.name, 'LogsProtocolError')
  assert.is(bad.code, 'bad-request')
  assert.match(bad.message, /logs-open has an unknown field "extra"/)
  assert.match(refusal(() => decodeLogsRequest(bytes({ type: 'logs-batch', containers: [], more: false, done: true }))).message, /not expected here/)
  assert.match(refusal(() => decodeLogsRequest(bytes({ type: 'logs-open', service: 'acme/web', follow: false, replicas: Array(1001).fill(0) }))).message, /replicas has 1001 items/)
})

test('logs answers are checked too: a batch of lines, an error answer, garbage', () => {
  const batch = { type: 'logs-batch' as const, containers: [{ id: 'c1', replica: 0, lines: [[5, 0, 'hello'], [6, 2, 3]] as any, more: false, ended: true }], more: false, done: true }
  assert.equal(decodeLogsResponse(encodeLogs(batch)), batch)
  const error = refusal(() => decodeLogsResponse(encodeMessage(errorMessage('busy', 'x'.repeat(5000)))))
  assert.is(error.code, 'busy')
  assert.ok(error.message.length <= 1024, 'an error message is cut to what the wire carries')
  assert.match(refusal(() => decodeLogsResponse(bytes({ type: 'logs-batch', containers: [{ id: 'c1', replica: 0, lines: [[5, 7, 'x']], more: false, ended: true }], more: false, done: true }))).message, /lines\[0\]\[1\] must be 0 \(stdout\), 1 \(stderr\) or 2/)
  assert.is(refusal(() => decodeLogsResponse(bytes({ hello: 1 }))).code, 'bad-response')
  assert.is(cutLine('y'.repeat(MAX_LINE_CHARS + 10)).length, MAX_LINE_CHARS + '…[cut]'.length)
  // the longest line a node sends is accepted
  decodeLogsResponse(encodeLogs({ type: 'logs-batch', containers: [{ id: 'c1', replica: 0, lines: [[5, 0, cutLine('z'.repeat(MAX_LINE_CHARS * 2))]], more: false, ended: false }], more: true, done: false }))
})

test('events: the request as the old checker read it (null is absent, limits clamp); batches are bounded; kinds are checked by form', () => {
  assert.equal(decodeEventsRequest(bytes({ type: 'events-poll', after: null, limit: 1e9, wait: 1e9 })), { type: 'events-poll', limit: MAX_EVENTS_LIMIT, wait: 10_000 })
  assert.equal(decodeEventsRequest(bytes({ type: 'events-poll' })), { type: 'events-poll', limit: 200, wait: 0 })
  assert.match(refusal(() => decodeEventsRequest(bytes({ type: 'events-poll', since: -1 }))).message, /since is a number of at least 0/)
  assert.match(refusal(() => decodeEventsRequest(enc.encode(JSON.stringify({ type: 'events-poll', epoch: 'e'.repeat(2000) })))).message, /exceeds the limit of 1024/)
  const event = { time: 1, node: 'n1', kind: 'volume-restored', subject: 'acme/db', reason: 'a kind this node does not know yet', seq: 4 }
  assert.equal(decodeEventsResponse(encodeMessage({ type: 'events-batch', node: 'n1', epoch: 'e1', events: [event], next: 4 })).events, [event])
  assert.match(refusal(() => decodeMessage(bytes({ type: 'events-batch', node: 'n1', epoch: 'e1', events: [{ ...event, kind: 'Not A Kind' }], next: 4 }))).message, /kind must be lower-case words/)
  assert.match(refusal(() => encodeMessage({ type: 'events-batch', node: 'n1', epoch: 'e1', events: [{ ...event, reason: 'r'.repeat(MAX_EVENT_REASON + 1) }], next: 4 })).message, /reason must be a string of at most 2048/)
  assert.is(wireEventOf({ ...event, reason: 'r'.repeat(10_000) }).reason.length, MAX_EVENT_REASON, 'a node cuts what it sends')
  assert.match(refusal(() => decodeEventsResponse(encodeMessage(errorMessage('not-member', 'Only members')))).message, /Only members/)
})

test.run()
