import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { createHash } from 'node:crypto'
import { chooseHolders, rankHolders, type HolderCandidate } from '../src/index.js'

const blob = (i: number): string => createHash('sha256').update(`blob ${i}`).digest('hex')

function mesh (orgs: Record<string, number>): HolderCandidate[] {
  return Object.entries(orgs).flatMap(([org, count]) => Array.from({ length: count }, (_, i) => ({ node: `${org}-node-${i}`, org })))
}

test('every node computes the same holders, whatever order it lists the members in', () => {
  const members = mesh({ acme: 3, riverside: 4, coop: 2 })
  fc.assert(fc.property(fc.shuffledSubarray(members, { minLength: members.length, maxLength: members.length }), fc.integer({ min: 0, max: 500 }), (shuffled, i) => {
    assert.equal(rankHolders(blob(i), shuffled, { ownerOrg: 'acme' }), rankHolders(blob(i), members, { ownerOrg: 'acme' }))
  }), { numRuns: 300 })
})

test('holders are of other organizations, one per organization before a second of any; the owner\'s own nodes come last', () => {
  const members = mesh({ acme: 3, riverside: 4, coop: 2 })
  for (let i = 0; i < 200; i++) {
    const ranked = rankHolders(blob(i), members, { ownerOrg: 'acme' })
    assert.is(ranked.length, members.length)
    assert.equal(new Set(ranked.slice(0, 2).map(c => c.org)), new Set(['riverside', 'coop']))
    assert.equal(ranked.slice(6).map(c => c.org), ['acme', 'acme', 'acme'])
    // round two: the second node of each org, before riverside's third
    assert.equal(new Set(ranked.slice(2, 4).map(c => c.org)), new Set(['riverside', 'coop']))
    assert.equal(ranked.slice(4, 6).map(c => c.org), ['riverside', 'riverside'])
  }
})

test('a mesh of one organization keeps its copies on its other nodes; the writer is excluded', () => {
  const members = mesh({ acme: 3 })
  const holders = chooseHolders(blob(1), members, { ownerOrg: 'acme', exclude: new Set(['acme-node-0']) })
  assert.is(holders.length, 2)
  assert.not.ok(holders.includes('acme-node-0'))
  assert.equal(chooseHolders(blob(1), mesh({ acme: 1 }), { ownerOrg: 'acme', exclude: new Set(['acme-node-0']) }), [])
})

test('holders spread evenly over the eligible nodes', () => {
  const members = mesh({ acme: 1, a: 5, b: 5, c: 5, d: 5 })
  const counts = new Map<string, number>()
  const blobs = 8000
  for (let i = 0; i < blobs; i++) {
    for (const node of chooseHolders(blob(i), members, { ownerOrg: 'acme', copies: 2 })) counts.set(node, (counts.get(node) ?? 0) + 1)
  }
  assert.not.ok(counts.has('acme-node-0'))
  const expected = blobs * 2 / 20
  for (const [node, count] of counts) assert.ok(Math.abs(count - expected) < expected * 0.15, `${node} holds ${count}, expected about ${expected}`)
})

test('a node that joins takes over about R/N of the blobs; one that leaves moves only its own', () => {
  const before = mesh({ acme: 2, a: 4, b: 4, c: 4 })
  const joined = [...before, { node: 'c-node-4', org: 'c' }]
  const left = before.filter(c => c.node !== 'b-node-1')
  const blobs = 4000
  let movedOnJoin = 0
  let movedOnLeave = 0
  for (let i = 0; i < blobs; i++) {
    const old = new Set(chooseHolders(blob(i), before, { ownerOrg: 'acme' }))
    const afterJoin = chooseHolders(blob(i), joined, { ownerOrg: 'acme' })
    movedOnJoin += afterJoin.filter(n => !old.has(n)).length
    const afterLeave = chooseHolders(blob(i), left, { ownerOrg: 'acme' })
    const lost = old.has('b-node-1') ? 1 : 0
    movedOnLeave += afterLeave.filter(n => !old.has(n)).length
    assert.is(afterLeave.filter(n => !old.has(n)).length, lost, `blob ${i}: only the leaver's copy moves`)
  }
  // a fourth node of c wins the blobs c's round-one slot holds: about 2 / 12 of the copies, and not much more
  assert.ok(movedOnJoin > 0 && movedOnJoin < blobs * 2 * 0.25, `join moved ${movedOnJoin} of ${blobs * 2}`)
  assert.ok(movedOnLeave < blobs * 2 * 0.12, `leave moved ${movedOnLeave}`)
})

test.run()
