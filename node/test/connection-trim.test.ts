/**
 * Real libp2p hosts over TCP on 127.0.0.1, more of them than a host keeps
 * connections, each probing every other in turn over membership's shared
 * request stream with gossipsub running (both keep a stream open on every
 * connection, so libp2p's own pruner can close none), one probe a period: before ConnectionTrim,
 * a host's connections only grew until libp2p refused inbound ones, and a
 * member not yet connected to it could not reach it at all. The hosts'
 * process is kept busy most of the time, so requests wait unread while
 * trims' timers come due. First, on stand-in connections, which peers a
 * trim tells that it closes their last, and that a trim reads what waits
 * before it looks.
 */
import '../src/polyfill.js'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createLibp2p } from 'libp2p'
import { defaultLogger } from '@libp2p/logger'
import type { Connection, Libp2p } from '@libp2p/interface'
import { generateIdentity, newSwarmKey } from '@minga/protocol'
import { MemberGater } from '../src/host/gater.js'
import { defaults } from '../src/host/libp2p-config.js'
import { ConnectionTrim, inboundLimit } from '../src/host/connection-trim.js'
import { Libp2pMesh, type MeshLibp2p } from '../src/host/libp2p-mesh.js'
import { waitFor } from './core-cluster.js'

const N = 14
const KEEP = 4
const PROBE = '/suite/probe/1'
/** ms between one host's probes, as SWIM's probe period: a host opens a few connections within a trim's grace, as at 1 s and 5 s */
const PERIOD = 800
/** a trim's grace, ms (production: 5,000) */
const GRACE = 2000
/**
 * the process (all the hosts) busy this long of every `LOAD_EVERY` ms, as on a loaded machine: requests wait unread
 * while trims' timers come due (with a 300 ms grace and a trim that looked before it read, 38–64 of 364 probes failed)
 */
const LOAD_MS = 150
const LOAD_EVERY = 200

/** this process runs for `ms` without reading its sockets or firing its timers */
function busy (ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until);
}

/** a stand-in connection to `peer`, opened at `open` (ms), that records its close */
type Stand = Connection & { closed: boolean }
function standIn (peer: string, open: number, streams: string[] = []): Stand {
  const c = { remotePeer: { toString: () => peer }, timeline: { open }, status: 'open', streams: streams.map(protocol => ({ protocol })), closed: false, close: async () => { c.closed = true }, abort: () => {} }
  return c as unknown as Stand
}

/** a host that holds `connections`, none of them tagged */
function standInHost (connections: Stand[]): Libp2p {
  return { getConnections: () => connections, peerStore: { get: async () => ({ tags: new Map() }) } } as unknown as Libp2p
}

test('a peer whose every connection a trim closes is told once, before the close; one that keeps a connection is not', async () => {
  // peer A's two connections are the newest, B's the oldest: keeping 1 closes both of A's and none of B's
  const connections = [standIn('B', 1), standIn('A', 2), standIn('A', 3)]
  const told: string[] = []
  const trim = new ConnectionTrim({ libp2p: standInHost(connections), limit: 1, grace: 0, idleFor: () => Infinity, closing: (peer) => { told.push(`${peer}${connections.filter(c => c.closed).length}`) }, log: defaultLogger().forComponent('trim') })
  await trim.trim()
  assert.equal(connections.map(c => c.closed), [false, true, true])
  assert.equal(told, ['A0'], 'told of A once, before either close')
})

test('the limit counts peers, not connections: a pair that dialled each other at once costs no other peer its connection', async () => {
  // three peers kept at most, B holding two connections (both ends dialled at once): four connections, three peers
  const connections = [standIn('A', 1), standIn('B', 2), standIn('C', 3), standIn('B', 4)]
  const trim = new ConnectionTrim({ libp2p: standInHost(connections), limit: 3, grace: 0, idleFor: () => Infinity, log: defaultLogger().forComponent('trim') })
  await trim.trim()
  assert.equal(connections.map(c => c.closed), [false, false, false, false], 'three peers are within the limit')
  // a fourth peer: the one connected last goes, B, with both of its connections
  connections.push(standIn('D', 0))
  await trim.trim()
  assert.equal(connections.map(c => c.closed), [false, true, false, true, false])
  assert.is(trim.closed, 1, 'one peer closed')
})

test('a peer\'s extra connections close once idle when one carries every gossipsub stream; split or undecidable pairs stay', async () => {
  const SHARED = '/minga/m/membership/1.0.0/shared'
  const GOSSIP = '/meshsub/1.2.0'
  const connections = [
    // A: gossipsub's two streams on the first, membership's shared stream on the second: the second goes
    standIn('A', 1, [SHARED, GOSSIP, GOSSIP]), standIn('A', 2, [SHARED]),
    // B: one gossipsub stream on each (each end's outbound stream on the connection it saw first): both stay
    standIn('B', 1, [GOSSIP]), standIn('B', 2, [GOSSIP, SHARED]),
    // C: no gossipsub stream on either: nothing tells both ends the same one to keep
    standIn('C', 1, [SHARED]), standIn('C', 2, []),
    // D: as A, but its exchange is under way
    standIn('D', 1, [GOSSIP, GOSSIP]), standIn('D', 2, [SHARED]),
    // E: one connection
    standIn('E', 1, [GOSSIP])
  ]
  const trim = new ConnectionTrim({ libp2p: standInHost(connections), limit: 10, grace: 1000, idleFor: (peer) => peer === 'D' ? 0 : Infinity, log: defaultLogger().forComponent('trim') })
  await trim.trim()
  assert.ok(connections.every(c => !c.closed), 'five peers are within the limit')
  await trim.dedupe()
  assert.equal(connections.map(c => c.closed ? 'x' : '-').join(''), '-x-------', 'A\'s second connection closed, no other')
  assert.is(trim.extras, 1)
})

test('a request that arrived before the trim\'s timer fired, still unread, keeps its connection: the trim reads what waits first', async () => {
  // A's request waits in a real socket (loopback TCP) when the timer fires: a loaded host runs due timers before it reads
  const server = createServer()
  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  const accepted = new Promise<Socket>(resolve => { server.once('connection', resolve) })
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
  await new Promise<void>(resolve => { client.once('connect', resolve) })
  const socket = await accepted
  let serving = false
  socket.on('data', () => { serving = true })
  // A's connection is the newest: keeping 1, it is the one a trim closes unless its exchange is under way
  const connections = [standIn('B', 1), standIn('A', 2)]
  const trim = new ConnectionTrim({ libp2p: standInHost(connections), limit: 1, grace: 1000, idleFor: (peer) => peer === 'A' && serving ? 0 : Infinity, log: defaultLogger().forComponent('trim') })
  try {
    client.write('a request')
    const trimmed = new Promise<void>((resolve, reject) => { setTimeout(() => { trim.trim().then(resolve, reject) }, 0) })
    // this process busy past the timer's due time, as a loaded host is: the timer fires before the socket is read
    busy(20)
    assert.ok(!serving, 'the request waits unread')
    await trimmed
    assert.equal(connections.map(c => c.closed), [true, false], 'A\'s connection is kept while its request is served; B\'s, idle, goes instead')
    assert.ok(serving, 'the request was read')
  } finally {
    client.destroy()
    socket.destroy()
    server.close()
  }
})

test(`${N} hosts that keep ${KEEP} peers each: every probe of every member reaches it, and each host trims back to ${KEEP}`, async () => {
  assert.ok(N > inboundLimit(KEEP), 'more hosts than libp2p accepts connections')
  const identities = await Promise.all(Array.from({ length: N }, async () => await generateIdentity()))
  const psk = newSwarmKey()
  const nodes = await Promise.all(identities.map(async identity => await createLibp2p(defaults({
    privateKey: identity.privateKey, meshId: 'trim', psk, listen: ['/ip4/127.0.0.1/tcp/0'], gater: new MemberGater({ isMember: () => true }), maxConnections: KEEP
  })) as MeshLibp2p))
  const meshes = nodes.map(node => new Libp2pMesh(node, { shared: [PROBE] }))
  let load: NodeJS.Timeout | undefined
  const trims = nodes.map((libp2p, i) => new ConnectionTrim({ libp2p, limit: KEEP, grace: GRACE, interval: 100, idleFor: (peer) => meshes[i].activity.idleFor(peer), closing: (peer) => { meshes[i].closingIdle(peer) }, log: defaultLogger().forComponent('trim') }))
  try {
    // gossipsub runs (its streams, as membership's, keep libp2p's pruner off every connection), on no topic: no peer is tagged
    for (const [i, mesh] of meshes.entries()) mesh.handle(PROBE, async () => new Uint8Array([i]))
    // disconnects the meshes tell membership of (each makes it check the peer's port)
    let disconnects = 0
    for (const mesh of meshes) mesh.onPeer(({ type }) => { if (type === 'disconnect') disconnects++ })
    // every host knows every member's address, as membership's records tell it (host/connector.ts)
    for (const node of nodes) for (const other of nodes) if (other !== node) await node.peerStore.merge(other.peerId, { multiaddrs: other.getMultiaddrs() })
    for (const trim of trims) trim.start()
    load = setInterval(() => { busy(LOAD_MS) }, LOAD_EVERY)
    let most = 0
    let failed = 0
    const failures: string[] = []
    // two rounds of probes, every host at once, each of its members in turn (as SWIM's probe order goes)
    await Promise.all(meshes.map(async (mesh, i) => {
      for (let round = 0; round < 2; round++) {
        for (let k = 1; k < N; k++) {
          const j = (i + k) % N
          try {
            const answer = await mesh.request(meshes[j].self, PROBE, new Uint8Array([i]), { signal: AbortSignal.timeout(20_000) })
            if (answer[0] !== j) throw new Error(`answer ${answer[0]}`)
          } catch (err) {
            failed++
            if (failures.length < 5) failures.push(`${i} → ${j}: ${(err as Error).message}`)
          }
          most = Math.max(most, ...nodes.map(node => node.getConnections().length))
          await new Promise(resolve => setTimeout(resolve, PERIOD))
        }
      }
    }))
    clearInterval(load)
    assert.is(failed, 0, `${failed} probes failed: ${failures.join('; ')}`)
    assert.ok(most <= inboundLimit(KEEP), `a host held ${most} connections`)
    const closed = trims.reduce((sum, t) => sum + t.closed, 0)
    assert.ok(closed > 0, 'connections were trimmed')
    // the host that closed a connection as idle tells membership nothing; the other end hears a disconnect
    assert.ok(disconnects <= closed, `${disconnects} disconnects told for ${closed} connections trimmed`)
    // quiet again: each host is back at KEEP
    const peers = (node: Libp2p): number => new Set(node.getConnections().map(c => c.remotePeer.toString())).size
    await waitFor(() => nodes.every(node => peers(node) <= KEEP),
      `every host back at ${KEEP} peers (now ${nodes.map(peers).join(' ')})`, 60_000)
  } finally {
    clearInterval(load)
    for (const trim of trims) trim.stop()
    await Promise.all(nodes.map(async node => await node.stop()))
  }
})

test.run()
