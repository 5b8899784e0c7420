import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeVolumesRequest, decodeVolumesResponse, encodeVolumes } from '../src/index.js'

const enc = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

function refuses (fn: () => unknown, pattern: RegExp): void {
  try {
    fn()
    assert.unreachable('decoded')
  } catch (err: any) {
    assert.is(err.name, 'InvalidMessageError', err.message)
    assert.match(err.message, pattern)
  }
}

test('requests round-trip; anything else is refused naming the field', () => {
  for (const request of [{ type: 'volume-handoff', service: 'acme/db' }, { type: 'volume-backup', service: 'acme/db' }, { type: 'volume-list' }] as const) {
    assert.equal(decodeVolumesRequest(encodeVolumes(request)), request)
  }
  refuses(() => decodeVolumesRequest(enc({ type: 'volume-handoff', service: 'acme' })), /volume-handoff.service must be a service id/)
  refuses(() => decodeVolumesRequest(enc({ type: 'volume-list', extra: 1 })), /unknown field/)
  refuses(() => decodeVolumesRequest(enc({ type: 'volume-list-ok', volumes: [] })), /not expected here/)
})

test('answers are checked too: lineage words, snapshot ids, sizes; an error answer throws with its code', () => {
  const view = { node: 'n', name: 'minga-acme-db-pgdata', service: 'acme/db', volume: 'pgdata', bytes: 1, files: 1, lineage: 'current' }
  assert.equal(decodeVolumesResponse(enc({ type: 'volume-list-ok', volumes: [view] })), { type: 'volume-list-ok', volumes: [view] })
  assert.throws(() => decodeVolumesResponse(enc({ type: 'volume-list-ok', volumes: [{ ...view, lineage: 'fine' }] })), /lineage must be one of current/)
  assert.throws(() => decodeVolumesResponse(enc({ type: 'volume-list-ok', volumes: [{ ...view, bytes: -1 }] })), /bytes/)
  assert.throws(() => decodeVolumesResponse(enc({ type: 'volume-backup-ok', snapshots: [{ volume: 'pgdata', snapshot: 'xyz', generation: 1, bytes: 1, files: 1, time: 1, tookMs: 1, bytesStored: 1 }] })), /restic snapshot id/)
  try {
    decodeVolumesResponse(encodeVolumes({ type: 'error', code: 'forbidden', message: 'Only nodes of acme ask' }))
    assert.unreachable()
  } catch (err: any) {
    assert.is(err.code, 'forbidden')
    assert.is(err.message, 'Only nodes of acme ask')
  }
})

test.run()
