import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { plan, replaceableNow } from '../src/index.js'
import type { Action, Assignment, LocalReplica, PeerReplica, PlanInput } from '../src/index.js'
import { service, shuffle } from './fixtures.js'

const web = service('a/web', { replicas: 2, hash: 'h2' })

function assigned (services: Record<string, Array<string | null>>, unplaced: Assignment['unplaced'] = []): Assignment {
  return { services, unplaced }
}

function container (replica: number, more: Partial<LocalReplica> = {}): LocalReplica {
  return { containerId: `c-${replica}`, service: 'a/web', replica, hash: 'h2', state: 'running', health: 'healthy', ...more }
}

function input (more: Partial<PlanInput>): PlanInput {
  return { self: 'me', services: [web], assignment: assigned({ 'a/web': ['me', 'other'] }), observed: [], peers: new Map(), ...more }
}

const brief = (actions: Action[]): string[] => actions.map(a => `${a.type} ${a.service}#${a.replica}${a.type === 'start' ? '' : ` ${a.containerId}`}`)

test('starts what is assigned here and missing', () => {
  const actions = plan(input({}))
  assert.equal(actions, [{ type: 'start', service: 'a/web', replica: 0, hash: 'h2', reason: 'assigned here' }])
})

test('does nothing when the replica runs', () => {
  assert.equal(plan(input({ observed: [container(0)] })), [])
  assert.equal(plan(input({ observed: [container(0, { health: 'starting' })] })), [])
  assert.equal(plan(input({ observed: [container(0, { state: 'starting', health: 'none' })] })), [])
})

test('restarts in place what exited, was never started or fails its health check', () => {
  for (const c of [container(0, { state: 'exited' }), container(0, { state: 'created' }), container(0, { health: 'unhealthy' })]) {
    assert.equal(brief(plan(input({ observed: [c] }))), ['restart a/web#0 c-0'])
  }
})

test('make before break: a moved replica stops only once its new owner serves the current hash', () => {
  const moved = input({ observed: [container(1)] })
  const peers = (reports: PeerReplica[]) => new Map([['other', reports]])
  assert.equal(brief(plan({ ...moved, peers: peers([]) })), ['start a/web#0'])
  assert.equal(brief(plan({ ...moved, peers: peers([{ service: 'a/web', replica: 1, hash: 'h2', healthy: false }]) })), ['start a/web#0'])
  assert.equal(brief(plan({ ...moved, peers: peers([{ service: 'a/web', replica: 1, hash: 'h1', healthy: true }]) })), ['start a/web#0'])
  assert.equal(brief(plan({ ...moved, peers: peers([{ service: 'a/web', replica: 0, hash: 'h2', healthy: true }]) })), ['start a/web#0'])
  const ready = plan({ ...moved, peers: peers([{ service: 'a/web', replica: 1, hash: 'h2', healthy: true }]) })
  assert.equal(brief(ready), ['stop a/web#1 c-1', 'start a/web#0'])
  assert.is(ready[0].reason, 'moved to other, which reports it healthy')
})

test('a moved replica that goes down is restarted while it waits', () => {
  assert.equal(brief(plan(input({ observed: [container(0), container(1, { state: 'exited' })] }))), ['restart a/web#1 c-1'])
})

test('an unplaced replica keeps running here', () => {
  const unplaced = assigned({ 'a/web': ['me', null] }, [{ service: 'a/web', replica: 1, cause: 'capacity', reason: 'no room' }])
  assert.equal(plan(input({ assignment: unplaced, observed: [container(0), container(1)] })), [])
  assert.equal(brief(plan(input({ assignment: unplaced, observed: [container(0), container(1, { state: 'exited' })] }))), ['restart a/web#1 c-1'])
})

test('delete and orphans stop at once', () => {
  const actions = plan(input({ services: [], assignment: assigned({}), observed: [container(0), container(1)] }))
  assert.equal(brief(actions), ['stop a/web#0 c-0', 'stop a/web#1 c-1'])
  assert.is(actions[0].reason, 'service a/web no longer exists')
})

test('scale-down stops at once, even with no copy elsewhere', () => {
  const one = service('a/web', { replicas: 1, hash: 'h2' })
  const actions = plan(input({ services: [one], assignment: assigned({ 'a/web': ['me'] }), observed: [container(0), container(1), container(5)] }))
  assert.equal(brief(actions), ['stop a/web#1 c-1', 'stop a/web#5 c-5'])
  assert.is(actions[0].reason, 'scaled down to 1 replica')
})

test('duplicates: keeps the best copy and stops the rest', () => {
  const copies = [
    container(0, { containerId: 'old', hash: 'h1' }),
    container(0, { containerId: 'dead', state: 'exited' }),
    container(0, { containerId: 'new', health: 'starting' })
  ]
  assert.equal(brief(plan(input({ observed: copies }))), ['stop a/web#0 dead', 'stop a/web#0 old'])
})

test('rolling update: replaces the lowest outdated replica within the budget', () => {
  const three = service('a/web', { replicas: 3, hash: 'h2' })
  const assignment = assigned({ 'a/web': ['me', 'me', 'me'] })
  const old = [0, 1, 2].map(r => container(r, { hash: 'h1' }))
  assert.equal(brief(plan({ self: 'me', services: [three], assignment, observed: old, peers: new Map() })), ['stop a/web#0 c-0', 'start a/web#0'])
  // replica 0 is being replaced: the budget of one is spent
  const midway = [container(0, { health: 'starting' }), old[1], old[2]]
  assert.equal(plan({ self: 'me', services: [three], assignment, observed: midway, peers: new Map() }), [])
  // an outdated replica that is down anyway is replaced at once, at no cost
  const crashed = [container(0, { health: 'starting' }), old[1], { ...old[2], state: 'exited' as const }]
  assert.equal(brief(plan({ self: 'me', services: [three], assignment, observed: crashed, peers: new Map() })), ['stop a/web#2 c-2', 'start a/web#2'])
})

test('replaceableNow: lowest-index, outdated, healthy replicas within maxUnavailable', () => {
  const five = service('a/web', { replicas: 5, hash: 'h2', update: { maxUnavailable: 2 } })
  const report = (replica: number, hash: string, healthy = true): PeerReplica => ({ service: 'a/web', replica, hash, healthy })
  assert.equal([...replaceableNow(five, [0, 1, 2, 3, 4].map(r => report(r, 'h1')))], [0, 1])
  assert.equal([...replaceableNow(five, [report(0, 'h2'), report(1, 'h2', false), report(2, 'h1'), report(3, 'h1'), report(4, 'h1')])], [2])
  assert.equal([...replaceableNow(five, [report(1, 'h1'), report(2, 'h1'), report(3, 'h1'), report(4, 'h1')])], [1])
  assert.equal([...replaceableNow(five, [report(2, 'h1'), report(3, 'h1'), report(4, 'h1')])], [])
  // maxUnavailable 0 surges in plan(); for callers that do not surge, it counts as 1
  const strict = service('a/web', { replicas: 2, hash: 'h2', update: { maxUnavailable: 0 } })
  assert.equal([...replaceableNow(strict, [report(0, 'h1'), report(1, 'h1')])], [0])
})

test('maxUnavailable 0: the new copy starts beside the old one, one replica at a time, and the old one stops once it is healthy', () => {
  const surge = service('a/web', { replicas: 3, hash: 'h2', update: { maxUnavailable: 0 } })
  const assignment = assigned({ 'a/web': ['me', 'me', 'other'] })
  const run = (observed: LocalReplica[], peers: PlanInput['peers'] = new Map([['other', [{ service: 'a/web', replica: 2, hash: 'h1', healthy: true }]]])): string[] =>
    brief(plan({ self: 'me', services: [surge], assignment, observed, peers }))
  const old = [0, 1].map(r => container(r, { hash: 'h1', containerId: `old-${r}` }))
  // replica 0's turn: its new copy starts and nothing stops
  assert.equal(run(old), ['start a/web#0'])
  // starting beside the serving old copy: both stay, and replica 1 waits its turn
  const starting = container(0, { containerId: 'new-0', health: 'starting' })
  assert.equal(run([...old, starting]), [])
  // healthy: the old copy of 0 is a duplicate now, and replica 1's turn comes
  const healthy = container(0, { containerId: 'new-0' })
  assert.equal(run([...old, healthy]), ['stop a/web#0 old-0', 'start a/web#1'])
  // replica 2 is another node's: this node starts nothing for it, whatever the turn
  assert.equal(run([healthy, container(1, { containerId: 'new-1' })]), [])
  // a lower replica that runs nowhere (here: its container is gone) starts afresh and does not hold up the others
  const noZero = new Map([['other', [{ service: 'a/web', replica: 2, hash: 'h1', healthy: true }]]])
  assert.equal(run([old[1]], noZero), ['start a/web#0', 'start a/web#1'])
  // an outdated copy that is down is replaced at once, as always; being down, it is not a surge and holds up nobody
  assert.equal(run([{ ...old[0], state: 'exited' }, old[1]]), ['stop a/web#0 old-0', 'start a/web#0', 'start a/web#1'])
  // with host ports or as a singleton, a service does not surge (the spec check refuses that pairing anyway)
  const ported = service('a/web', { replicas: 3, hash: 'h2', update: { maxUnavailable: 0 }, ports: [{ container: 80, host: 8080, protocol: 'tcp', mode: 'host' }] })
  const others = new Map([['other', [{ service: 'a/web', replica: 2, hash: 'h1', healthy: true }]]])
  assert.equal(brief(plan({ self: 'me', services: [ported], assignment, observed: old, peers: others })), ['stop a/web#0 old-0', 'start a/web#0'])
})

test('after a heal, an owner with an outdated copy replaces it when another node serves the new spec', () => {
  // the other side of the partition ran replica 0 with the new spec; it waits for the owner (make before break)
  const peers = new Map([['other', [{ service: 'a/web', replica: 0, hash: 'h2', healthy: true }]]])
  const observed = [container(0, { hash: 'h1' }), container(1)]
  const mine = assigned({ 'a/web': ['me', 'me'] })
  // every replica is current somewhere, so rolling.ts picks none; without the shortcut both nodes would wait forever
  assert.equal([...replaceableNow(web, [...observed.map(c => ({ service: c.service, replica: c.replica, hash: c.hash, healthy: true })), ...peers.get('other')!])], [])
  assert.equal(brief(plan({ self: 'me', services: [web], assignment: mine, observed, peers })), ['stop a/web#0 c-0', 'start a/web#0'])
  // and the holder stops its copy once the owner reports the new spec healthy
  const served = new Map([['me', [{ service: 'a/web', replica: 0, hash: 'h2', healthy: true }]]])
  const holder = plan({ self: 'other', services: [web], assignment: mine, observed: [container(0, { containerId: 'x-0' })], peers: served })
  assert.equal(brief(holder), ['stop a/web#0 x-0'])
  // a singleton never runs twice, so it does not take this shortcut
  const db = service('a/db', { singleton: true, hash: 'h2' })
  const dbOld = container(0, { containerId: 'db', service: 'a/db', hash: 'h1' })
  const dbPeers = new Map([['other', [{ service: 'a/db', replica: 0, hash: 'h2', healthy: true }]]])
  const single = plan({ self: 'me', services: [db], assignment: assigned({ 'a/db': ['me'] }), observed: [dbOld], peers: dbPeers })
  assert.not.ok(brief(single).includes('start a/db#0'))
})

test('this node trusts its own containers over its heartbeat', () => {
  const stale = new Map([['me', [{ service: 'a/web', replica: 0, hash: 'h2', healthy: true }]]])
  assert.equal(brief(plan(input({ peers: stale }))), ['start a/web#0'])
})

test('singleton: break before make', () => {
  const db = service('a/db', { singleton: true, hash: 'h2' })
  const dbc = (more: Partial<LocalReplica> = {}) => container(0, { containerId: 'db', service: 'a/db', ...more })
  // the old holder stops at once
  const moved = plan({ self: 'me', services: [db], assignment: assigned({ 'a/db': ['other'] }), observed: [dbc()], peers: new Map() })
  assert.equal(brief(moved), ['stop a/db#0 db'])
  // the new owner waits while anyone still reports a copy
  const copy = new Map([['old', [{ service: 'a/db', replica: 0, hash: 'h2', healthy: false }]]])
  assert.equal(plan({ self: 'me', services: [db], assignment: assigned({ 'a/db': ['me'] }), observed: [], peers: copy }), [])
  assert.equal(brief(plan({ self: 'me', services: [db], assignment: assigned({ 'a/db': ['me'] }), observed: [], peers: new Map() })), ['start a/db#0'])
  // a side without a majority stops it
  const minority = assigned({ 'a/db': [null] }, [{ service: 'a/db', replica: 0, cause: 'no-majority', reason: 'singleton needs a majority of the mesh (sees 2 of 5 nodes)' }])
  const stopped = plan({ self: 'me', services: [db], assignment: minority, observed: [dbc()], peers: new Map() })
  assert.equal(brief(stopped), ['stop a/db#0 db'])
  assert.match(stopped[0].reason, 'sees 2 of 5 nodes')
})

test('a holdover yields its host port to a replica assigned here', () => {
  const port = [{ container: 80, host: 80, protocol: 'tcp' as const, mode: 'host' as const }]
  const blog = service('a/blog', { ports: port, hash: 'b1' })
  const shop = service('a/shop', { ports: port, hash: 's1' })
  const held = { containerId: 'blog-0', service: 'a/blog', replica: 0, hash: 'b1', state: 'running' as const, health: 'healthy' as const }
  const actions = plan({ self: 'me', services: [blog, shop], assignment: assigned({ 'a/blog': ['other'], 'a/shop': ['me'] }), observed: [held], peers: new Map() })
  assert.equal(brief(actions), ['stop a/blog#0 blog-0', 'start a/shop#0'])
  assert.match(actions[0].reason, 'host port 80/tcp is needed by a/shop replica 0')
})

test('the plan does not depend on the order of containers, services or peers', () => {
  const services = [web, service('a/api', { replicas: 3, hash: 'x' }), service('b/db', { singleton: true })]
  const assignment = assigned({ 'a/web': ['me', 'p1'], 'a/api': ['p1', 'me', 'p2'], 'b/db': ['me'] })
  const states = ['running', 'exited', 'starting', 'created'] as const
  const healths = ['healthy', 'unhealthy', 'starting', 'none'] as const
  const containerArb = fc.record({
    service: fc.constantFrom('a/web', 'a/api', 'b/db', 'z/gone'),
    replica: fc.integer({ min: 0, max: 3 }),
    hash: fc.constantFrom('h1', 'h2', 'x'),
    state: fc.constantFrom(...states),
    health: fc.constantFrom(...healths)
  })
  const reportArb = fc.record({ service: fc.constantFrom('a/web', 'a/api'), replica: fc.integer({ min: 0, max: 3 }), hash: fc.constantFrom('h1', 'h2', 'x'), healthy: fc.boolean() })
  fc.assert(fc.property(fc.array(containerArb, { maxLength: 8 }), fc.array(reportArb, { maxLength: 6 }), fc.array(reportArb, { maxLength: 6 }), fc.integer(), (cs, p1, p2, seed) => {
    const observed = cs.map((c, i) => ({ ...c, containerId: `c${i}` }))
    const a = plan({ self: 'me', services, assignment, observed, peers: new Map([['p1', p1], ['p2', p2]]) })
    const b = plan({ self: 'me', services: shuffle(services, seed), assignment, observed: shuffle(observed, seed), peers: new Map([['p2', shuffle(p2, seed)], ['p1', p1]]) })
    assert.equal(b, a)
    // every container is acted on at most once
    const touched = a.flatMap(x => x.type === 'start' ? [] : [x.containerId])
    assert.is(new Set(touched).size, touched.length)
  }), { numRuns: 300 })
})

test.run()
