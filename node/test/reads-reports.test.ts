/**
 * Which peers' reports can change this node's plan (core/reconcile/share.ts,
 * `readsReports`): plan() reads them for a singleton, for a copy here of an
 * outdated hash and for a copy here assigned elsewhere; a copy that is
 * current and this node's own reads none, so its siblings' reports start no
 * pass. Each case below is one plan() input that reads the reports, checked
 * against plan() itself: a peer's report changes the actions exactly where
 * `readsReports` says so.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { defaultSpec } from '@minga/protocol'
import { plan, type Assignment, type DesiredService, type PeerReplica } from '@minga/scheduler'
import { readsReports } from '../src/core/reconcile/share.js'
import type { RuntimeContainer } from '../src/runtime/types.js'

const SELF = 'self'
const PEER = 'peer'

function service (name: string, hash: string, singleton = false): DesiredService {
  return { id: `acme/${name}`, created: '1', hash, spec: defaultSpec('acme', name, `example/${name}:1`, { replicas: 2, singleton }) }
}

function container (service: string, replica: number, hash: string): RuntimeContainer {
  return { id: `${service}-${replica}`, service, replica, hash, image: 'example', state: 'running', health: 'none' }
}

const cases: Array<{ name: string, desired: DesiredService, slots: Array<string | null>, here: RuntimeContainer[], reads: boolean }> = [
  { name: 'a current copy of its own', desired: service('web', 'h2'), slots: [SELF, PEER], here: [container('acme/web', 0, 'h2')], reads: false },
  { name: 'assigned, not yet running', desired: service('web', 'h2'), slots: [SELF, PEER], here: [], reads: false },
  { name: 'an outdated copy of its own', desired: service('web', 'h2'), slots: [SELF, PEER], here: [container('acme/web', 0, 'h1')], reads: true },
  { name: 'a copy assigned elsewhere', desired: service('web', 'h2'), slots: [PEER, PEER], here: [container('acme/web', 0, 'h2')], reads: true },
  { name: 'a singleton assigned here', desired: service('db', 'h2', true), slots: [SELF, null], here: [], reads: true }
]

test('readsReports is true exactly where a peer\'s report changes what plan() does', () => {
  for (const c of cases) {
    const assignment: Assignment = { services: { [c.desired.id]: c.slots }, unplaced: [] }
    const view = { assignment, services: [c.desired] }
    assert.is(readsReports(c.desired.id, SELF, view, c.here), c.reads, c.name)
    const observed = c.here.map(h => ({ containerId: h.id, service: h.service, replica: h.replica, hash: h.hash, state: h.state, health: h.health }))
    const serving: PeerReplica[] = [0, 1].map(replica => ({ service: c.desired.id, replica, hash: c.desired.hash, state: 'running', healthy: true }))
    const without = plan({ self: SELF, services: [c.desired], assignment, observed, peers: new Map() })
    const withPeer = plan({ self: SELF, services: [c.desired], assignment, observed, peers: new Map([[PEER, serving]]) })
    if (!c.reads) assert.equal(withPeer, without, `${c.name}: the peer's report changes nothing`)
    else assert.not.equal(withPeer, without, `${c.name}: the peer's report changes the plan`)
  }
})

test('an unknown service or no view yet: true while a copy runs here', () => {
  assert.is(readsReports('acme/gone', SELF, { assignment: { services: {}, unplaced: [] }, services: [] }, [container('acme/gone', 0, 'h1')]), true)
  assert.is(readsReports('acme/gone', SELF, { assignment: { services: {}, unplaced: [] }, services: [] }, []), false)
  assert.is(readsReports('acme/web', SELF, undefined, []), true)
})

test.run()
