/**
 * MemberPlacement places the members once and derives `place()` for each live
 * set from it. Every node must compute the same placement from the same
 * inputs, so the derived result must be `place()`'s exactly: the slots, the
 * standbys and the unplaced, over many random live sets, in meshes loose and
 * tight (a lost replica that fits nowhere makes `place()` fall back to the
 * live nodes alone), with host ports, shares, constraints and singletons.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MemberPlacement, place } from '../src/index.js'
import type { DesiredService, NodeInfo } from '../src/index.js'
import { MIB, mulberry32, node, service } from './fixtures.js'
import { workload } from './workload.js'

/** random live sets of `members`: a few absent (a death, a burst), many absent (a partition), none */
function liveSets (members: readonly NodeInfo[], count: number, seed: number): NodeInfo[][] {
  const rand = mulberry32(seed)
  return Array.from({ length: count }, (_, k) => {
    const share = k === 0 ? 0 : k % 5 === 0 ? 0.4 : rand() * 0.05
    return members.filter(() => rand() >= share)
  })
}

function same (services: readonly DesiredService[], members: readonly NodeInfo[], sets: readonly NodeInfo[][], options: { memberCount?: number, confirmed?: number } = {}): void {
  const members2 = new MemberPlacement(services, members)
  for (const live of sets) {
    const ids = new Set(live.map(n => n.id))
    const absent = members.filter(n => !ids.has(n.id))
    const fresh = place(services, live, { ...options, absent, standby: true })
    const derived = members2.place(live, { ...options, standby: true })
    assert.equal(derived, fresh, `${absent.length} of ${members.length} absent`)
    // a second call from the same members must not see what the first one moved
    assert.equal(members2.place(live, { ...options, standby: true }), fresh)
  }
}

test('a realistic mesh: the same placement as place() for 40 random live sets', () => {
  const { services, nodes } = workload({ services: 600, nodes: 60, orgs: 8, seed: 11 })
  same(services, nodes, liveSets(nodes, 40, 1))
})

test('a nearly full mesh with host ports and singletons: the same, fallbacks to the live nodes alone included', () => {
  const rand = mulberry32(5)
  const nodes = Array.from({ length: 24 }, (_, i) => node(`n${String(i).padStart(2, '0')}`, `o${i % 4}`, { capacity: { cpu: 2000, memory: 4096 * MIB }, ...(i % 3 === 0 ? { shareForOthers: 0.5 } : {}) }))
  const services = Array.from({ length: 70 }, (_, i) => service(`o${i % 4}/s${i}`, {
    created: String(i).padStart(4, '0'),
    replicas: 1 + Math.floor(rand() * 4),
    resources: { cpu: 100 + Math.floor(rand() * 4) * 100, memory: 256 * MIB },
    singleton: i % 17 === 0,
    ...(i % 6 === 0 ? { ports: [{ container: 80, host: 8000 + (i % 3), protocol: 'tcp' as const, mode: 'host' as const }] } : {})
  }))
  const full = place(services, nodes)
  let fellBack = 0
  for (const live of liveSets(nodes, 60, 2)) {
    const ids = new Set(live.map(n => n.id))
    const moved = place(services, live, { absent: nodes.filter(n => !ids.has(n.id)) })
    // a fallback shows as a live replica that moved
    if (Object.entries(moved.services).some(([s, slots]) => slots.some((n, r) => n !== null && ids.has(n) && full.services[s][r] !== n && ids.has(full.services[s][r] ?? '')))) fellBack++
  }
  assert.ok(fellBack > 0, 'some live sets fall back to the live nodes alone')
  same(services, nodes, liveSets(nodes, 60, 2))
})

test('without a majority, with a live node that is no member, and with a confirmed count: the same', () => {
  const { services, nodes } = workload({ services: 200, nodes: 20, orgs: 4, seed: 3 })
  const members = nodes.slice(0, 18)
  const stranger = nodes.slice(18)
  same(services, members, [members.slice(0, 8), members.slice(0, 12), [...members.slice(2), ...stranger]])
  same(services, members, liveSets(members, 10, 4), { memberCount: 18, confirmed: 9 })
})

test.run()
