/** Libp2pMesh over real TCP on 127.0.0.1 (three libp2p hosts, pnet and the member gater, as the daemon builds them) passes the Mesh suite */
import '../src/polyfill.js'
import { test } from 'uvu'
import { createLibp2p } from 'libp2p'
import { generateIdentity, newSwarmKey } from '@minga/protocol'
import { MemberGater } from '../src/host/gater.js'
import { defaults } from '../src/host/libp2p-config.js'
import { Libp2pMesh, type MeshLibp2p } from '../src/host/libp2p-mesh.js'
import { runMeshTests, type MeshHarness } from './mesh-suite.js'
import { waitFor } from './core-cluster.js'

async function libp2pMeshes (): Promise<MeshHarness> {
  const identities = await Promise.all([0, 1, 2].map(async () => await generateIdentity()))
  const members = new Set<string>(identities.map(i => i.peerId))
  const psk = newSwarmKey()
  const nodes = await Promise.all(identities.map(async identity => await createLibp2p(defaults({
    privateKey: identity.privateKey,
    meshId: 'mesh-suite',
    psk,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    gater: new MemberGater({ isMember: (peer) => members.has(peer) })
  })) as MeshLibp2p))
  const meshes = nodes.map(node => new Libp2pMesh(node))
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) await nodes[i].dial(nodes[j].getMultiaddrs())
  }
  const stopped = new Set<number>()
  return {
    meshes,
    until: async (what, predicate) => { await waitFor(predicate, what, 60_000) },
    settle: async (promise) => await promise,
    kill: async (index) => { stopped.add(index); await nodes[index].stop() },
    close: async () => { await Promise.all(nodes.map(async (node, i) => { if (!stopped.has(i)) await node.stop() })) }
  }
}

runMeshTests('Libp2pMesh', libp2pMeshes)

test.run()
