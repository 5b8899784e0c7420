/**
 * Real libp2p hosts over TCP on 127.0.0.1, more of them than a host keeps
 * connections, each probing every other in turn over membership's shared
 * request stream with gossipsub running (both keep a stream open on every
 * connection, so libp2p's own pruner can close none): before ConnectionTrim,
 * a host's connections only grew until libp2p refused inbound ones, and a
 * member not yet connected to it could not reach it at all.
 */
import '../src/polyfill.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createLibp2p } from 'libp2p'
import { defaultLogger } from '@libp2p/logger'
import { generateIdentity, newSwarmKey } from '@minga/protocol'
import { MemberGater } from '../src/host/gater.js'
import { defaults } from '../src/host/libp2p-config.js'
import { ConnectionTrim, inboundLimit } from '../src/host/connection-trim.js'
import { Libp2pMesh, type MeshLibp2p } from '../src/host/libp2p-mesh.js'
import { waitFor } from './core-cluster.js'

const N = 14
const KEEP = 4
const PROBE = '/suite/probe/1'

/** the host's gossipsub mesh peers of the test's topic (tagged: their connections are kept) */
const meshPeers = (node: MeshLibp2p): number => (node.services.pubsub as unknown as { getMeshPeers: (topic: string) => string[] }).getMeshPeers('/suite/trim').length

test(`${N} hosts that keep ${KEEP} connections each: every probe of every member reaches it, and each host trims back to ${KEEP}`, async () => {
  assert.ok(N > inboundLimit(KEEP), 'more hosts than libp2p accepts connections')
  const identities = await Promise.all(Array.from({ length: N }, async () => await generateIdentity()))
  const psk = newSwarmKey()
  const nodes = await Promise.all(identities.map(async identity => await createLibp2p(defaults({
    privateKey: identity.privateKey, meshId: 'trim', psk, listen: ['/ip4/127.0.0.1/tcp/0'], gater: new MemberGater({ isMember: () => true }), maxConnections: KEEP
  })) as MeshLibp2p))
  const trims = nodes.map(libp2p => new ConnectionTrim({ libp2p, limit: KEEP, grace: 500, interval: 250, log: defaultLogger().forComponent('trim') }))
  try {
    const meshes = nodes.map(node => new Libp2pMesh(node, { shared: [PROBE] }))
    for (const [i, mesh] of meshes.entries()) {
      mesh.handle(PROBE, async () => new Uint8Array([i]))
      mesh.subscribe('/suite/trim', () => {})
    }
    // every host knows every member's address, as membership's records tell it (host/connector.ts)
    for (const node of nodes) for (const other of nodes) if (other !== node) await node.peerStore.merge(other.peerId, { multiaddrs: other.getMultiaddrs() })
    for (const trim of trims) trim.start()
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
        }
      }
    }))
    assert.is(failed, 0, `${failed} probes failed: ${failures.join('; ')}`)
    assert.ok(most <= inboundLimit(KEEP), `a host held ${most} connections`)
    assert.ok(trims.reduce((sum, t) => sum + t.closed, 0) > 0, 'connections were trimmed')
    // quiet again: each host is back at KEEP, or at its gossip mesh peers where those are more (tagged: kept)
    await waitFor(() => nodes.every(node => node.getConnections().length <= Math.max(KEEP, meshPeers(node))),
      `every host back at ${KEEP} connections (now ${nodes.map(n => n.getConnections().length).join(' ')})`, 60_000)
  } finally {
    for (const trim of trims) trim.stop()
    await Promise.all(nodes.map(async node => await node.stop()))
  }
})

test.run()
