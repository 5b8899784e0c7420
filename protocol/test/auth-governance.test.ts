/**
 * Removing an organization: a proposal, votes by the other orgs, a strict
 * majority, and the entries that carry it out — judged the same on every
 * copy, whatever order the entries arrive in.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { generateIdentity, proposalId, removalOf, signEntry, tally, type Entry, type Identity, type Json, type ProposalRecord } from '../src/index.js'
import { buildFixture, inviteValue, openState, serviceValue, MESH_ID, type Fixture } from './fixtures.js'

const CREATED = '000000000000001.000000'

interface Mesh4 extends Fixture { gamma: Identity, delta: Identity }

/** the fixture (acme: root, acme2; beta) plus orgs gamma and delta */
async function fourOrgs (): Promise<Mesh4> {
  const f = await buildFixture()
  const [gamma, delta] = await Promise.all([generateIdentity(), generateIdentity()])
  const invite = 'c'.repeat(16)
  await f.write(f.root, `invite/${invite}`, inviteValue({ newOrg: true }, f.now.ms))
  for (const [who, org] of [[gamma, 'gamma'], [delta, 'delta']] as const) {
    await f.write(f.root, `member/${who.peerId}`, { org, invite })
    await f.write(f.root, `org/${org}`, { name: org, invite })
  }
  return { ...f, gamma, delta }
}

function proposal (org: string, electorate: string[], opened: number): ProposalRecord {
  return { action: 'remove-org', org, reason: 'stopped paying its share', electorate, opened }
}

test('the rule: a strict majority of the orgs other than the target, fixed when the proposal opens', async () => {
  const f = await fourOrgs()
  const p = proposal('beta', ['acme', 'delta', 'gamma'], f.now.ms)
  const id = proposalId(f.root.peerId, p)
  await f.write(f.root, `proposal/${id}`, p as unknown as Json)
  await f.write(f.root, `vote/${id}/acme`, { approve: true })
  assert.equal(tally(f.source, id)?.needed, 2)
  assert.is(removalOf(f.source, 'beta'), undefined)
  // a second vote of acme does not count twice: the first vote of an org stands
  const second = signEntry(MESH_ID, f.acme2, { author: f.acme2.peerId, seq: 50, hlc: f.source.clock.tick(), key: `vote/${id}/acme`, value: { approve: true } })
  const result = await f.source.merge([second])
  assert.is(result.applied.length, 0)
  assert.is(tally(f.source, id)?.approvals.length, 1)
  await f.write(f.gamma, `vote/${id}/gamma`, { approve: true })
  assert.is(removalOf(f.source, 'beta')?.id, id)
})

test('a proposal that is rewritten, hides an org from the vote, or lets the target vote is refused or held', async () => {
  const f = await fourOrgs()
  const copy = await openState(f.root.peerId, () => f.now.ms)
  await copy.merge(f.log)
  const t = f.now.ms
  const p = proposal('beta', ['acme', 'delta', 'gamma'], t)
  const id = proposalId(f.root.peerId, p)
  const sign = (who: Identity, seq: number, key: string, value: Json): Entry => signEntry(MESH_ID, who, { author: who.peerId, seq, hlc: `${String(t).padStart(15, '0')}.000009`, key, value })
  const stacked = proposal('beta', ['acme'], t)
  const result = await copy.merge([
    sign(f.root, 100, `proposal/${id}`, { ...p, reason: 'changed after the fact' } as unknown as Json),
    sign(f.root, 101, `proposal/${proposalId(f.root.peerId, stacked)}`, stacked as unknown as Json),
    sign(f.root, 102, `proposal/${id}`, p as unknown as Json),
    sign(f.beta, 100, `vote/${id}/beta`, { approve: true }),
    sign(f.beta, 101, `vote/${id}/acme`, { approve: true }),
    sign(f.gamma, 100, `vote/${id}/gamma`, { approve: false } as unknown as Json)
  ])
  assert.equal(result.rejected.map(r => r.code).sort(), ['bad-value', 'bad-value', 'wrong-org', 'wrong-org'])
  assert.is(result.pending, 1, 'the stacked electorate is held back, never applied')
  assert.ok(copy.value(`proposal/${id}`) !== undefined)
  assert.is(tally(copy, id)?.approvals.length, 0)
})

test('before the removal passes nobody else deletes the org\'s services or removes its nodes; after, anyone may', async () => {
  const f = await fourOrgs()
  await f.write(f.beta, 'service/beta/db', serviceValue('beta', 'db', CREATED))
  const p = proposal('beta', ['acme', 'delta', 'gamma'], f.now.ms)
  const id = proposalId(f.root.peerId, p)
  await f.write(f.root, `proposal/${id}`, p as unknown as Json)
  await f.write(f.root, `vote/${id}/acme`, { approve: true })
  const copy = await openState(f.root.peerId, () => f.now.ms)
  await copy.merge(f.log)
  const t = f.now.ms
  const enact = [
    signEntry(MESH_ID, f.gamma, { author: f.gamma.peerId, seq: 1, hlc: `${String(t).padStart(15, '0')}.000001`, key: 'service/beta/db', tombstone: true }),
    signEntry(MESH_ID, f.gamma, { author: f.gamma.peerId, seq: 2, hlc: `${String(t).padStart(15, '0')}.000002`, key: `revoked/${f.beta.peerId}`, value: { lastSeq: 99, reason: 'removed' } })
  ]
  const early = await copy.merge(enact)
  assert.is(early.applied.length, 0)
  assert.is(early.pending, 2)
  const vote = signEntry(MESH_ID, f.delta, { author: f.delta.peerId, seq: 1, hlc: `${String(t).padStart(15, '0')}.000003`, key: `vote/${id}/delta`, value: { approve: true } })
  const passed = await copy.merge([vote])
  assert.equal(passed.applied.map(e => e.key).sort(), ['revoked/' + f.beta.peerId, 'service/beta/db', `vote/${id}/delta`].sort())
  assert.is(copy.value('service/beta/db'), undefined)
  assert.is(copy.revoked(f.beta.peerId)?.lastSeq, 99)
})

test('every copy reaches the same state and the same outcome, whatever order and batches the entries come in', async () => {
  const f = await fourOrgs()
  await f.write(f.beta, 'service/beta/db', serviceValue('beta', 'db', CREATED))
  await f.write(f.root, 'service/acme/web', serviceValue('acme', 'web', CREATED))
  const p = proposal('beta', ['acme', 'delta', 'gamma'], f.now.ms)
  const id = proposalId(f.acme2.peerId, p)
  await f.write(f.acme2, `proposal/${id}`, p as unknown as Json)
  await f.write(f.acme2, `vote/${id}/acme`, { approve: true })
  await f.write(f.beta, 'service/beta/cache', serviceValue('beta', 'cache', CREATED))
  await f.write(f.delta, `vote/${id}/delta`, { approve: true })
  // the enactor (gamma) carries it out having seen beta's entries so far
  const lastSeq = f.source.highWaterMarks()[f.beta.peerId]
  await f.write(f.gamma, `revoked/${f.beta.peerId}`, { lastSeq, reason: 'removed' })
  await f.write(f.gamma, 'service/beta/db', undefined)
  await f.write(f.gamma, 'service/beta/cache', undefined)
  // (a write of beta's that crosses the revocation is judged by its arrival and then settled by a raise: auth.test.ts)
  const all = f.log
  const reference = await openState(f.root.peerId, () => f.now.ms)
  await reference.merge(all)
  assert.is(reference.value('service/beta/db'), undefined)
  assert.is(reference.value('service/beta/cache'), undefined)
  assert.ok(reference.value('service/acme/web') !== undefined)

  await fc.assert(fc.asyncProperty(
    fc.shuffledSubarray(all.map((_, i) => i), { minLength: all.length, maxLength: all.length }),
    fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 40 }),
    async (order, sizes) => {
      const copy = await openState(f.root.peerId, () => f.now.ms)
      let at = 0
      for (let i = 0; at < order.length; i++) {
        const size = sizes[i % sizes.length]
        await copy.merge(order.slice(at, at + size).map(j => all[j]))
        at += size
      }
      return copy.digest() === reference.digest() && removalOf(copy, 'beta')?.id === id && copy.stats().pending === 0
    }
  ), { numRuns: 60 })
})

test.run()
