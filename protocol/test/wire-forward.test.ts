/**
 * The forward protocol's messages: a request round-trips; a malformed one is
 * refused with ForwardProtocolError('bad-request') naming the field, at a
 * bounded cost; an answer is `forward-ok` or an `error` whose code the
 * opener acts on.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ForwardProtocolError, decodeForwardAnswer, decodeForwardRequest, encodeMessage, type ForwardRequestMessage as ForwardRequest } from '../src/index.js'

test('forward frames: a request round-trips; anything else is refused with a bounded, clear error', () => {
  const request: ForwardRequest = { type: 'forward', service: 'acme/web', replica: 1, port: 80, via: 'web', host: 'web.example.org', client: { address: '2001:db8::7', port: 4000 }, local: { address: '10.0.0.1', port: 443 } }
  assert.equal(decodeForwardRequest(encodeMessage(request)), request)
  const refused = (value: unknown): string => {
    try {
      decodeForwardRequest(typeof value === 'string' ? new TextEncoder().encode(value) : value as Uint8Array)
    } catch (err: any) {
      assert.instance(err, ForwardProtocolError)
      assert.is(err.code, 'bad-request')
      return err.message
    }
    throw new Error('accepted')
  }
  const json = (patch: Record<string, unknown>): string => JSON.stringify({ ...request, ...patch })
  assert.match(refused('not json'), 'JSON')
  assert.match(refused(json({ service: 'acme' })), 'forward.service is not a service id')
  assert.match(refused(json({ port: 0 })), 'forward.port')
  assert.match(refused(json({ via: 'magic' })), 'forward.via is port, web or name')
  assert.match(refused(json({ client: { address: 'localhost', port: 1 } })), 'forward.client.address is not an IPv4 or IPv6 address')
  assert.match(refused(json({ extra: 1 })), 'unknown field "extra"')
  assert.match(refused(json({ via: 'name', host: undefined })), 'says which service calls')
  assert.match(refused(json({ host: 'Bad_Host' })), 'forward.host is not a DNS name')
  assert.match(refused(new Uint8Array(2000)), 'at most 1024 bytes')
  assert.match(refused(JSON.stringify({ type: 'forward-ok', replica: 1 })), 'forward-ok')
  assert.equal(decodeForwardAnswer(encodeMessage({ type: 'forward-ok', replica: 2 })), { type: 'forward-ok', replica: 2 })
  assert.throws(() => decodeForwardAnswer(encodeMessage({ type: 'error', code: 'refused', message: 'connection refused' })), (err: any) => err.code === 'refused' && err.message === 'connection refused')
  assert.throws(() => decodeForwardAnswer(new TextEncoder().encode('{"type":"error","code":"weird","message":"x"}')), (err: any) => err.code === 'bad-request')
})

test.run()
