// One node of the ingress benchmarks, a process of its own: a libp2p host with the node's own
// configuration (defaults(): TCP, private network on sodium-native, Noise, Yamux) and the node's
// Ingress (published-port listeners, forwarder, forward protocol), over a fixed view of the mesh
// that the parent sends: which services exist, where their healthy replicas run, this node's
// local replicas. IPC: {cmd:'start', ...} → {ready, peer, addrs}; {cmd:'peers', peers}; cpu; exit.
import '../../node/dist/src/polyfill.js'
import { createLibp2p } from 'libp2p'
import { generateIdentity } from '@minga/protocol'
import { defaults } from '../../node/dist/src/host/libp2p-config.js'
import { MemberGater } from '../../node/dist/src/host/gater.js'
import { systemClock } from '../../node/dist/src/core/clock.js'
import { Ingress } from '../../node/dist/src/ingress/ingress.js'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'

let node
let ingress
let world = { services: [], healthy: {}, local: {} }
const waiters = new Set()

const view = {
  services: () => world.services,
  spec: (id) => world.services.find(s => s.id === id)?.spec,
  healthy: (id) => world.healthy[id] ?? [],
  changed: (signal) => new Promise((resolve, reject) => {
    waiters.add(resolve)
    signal.addEventListener('abort', () => { waiters.delete(resolve); reject(signal.reason) }, { once: true })
  }),
  runsOn: (id, at) => (world.healthy[id] ?? []).some(r => r.node === at),
  local: (id) => world.local[id] ?? [],
  containerAt: () => undefined
}

process.on('message', async (m) => {
  if (m.cmd === 'start') {
    const identity = await generateIdentity()
    node = await createLibp2p(defaults({ privateKey: identity.privateKey, meshId: 'bench', psk: new TextEncoder().encode(m.psk), listen: ['/ip4/127.0.0.1/tcp/0'], gater: new MemberGater({ isMember: () => true }) }))
    ingress = new Ingress({ libp2p: node, self: identity.peerId, clock: systemClock, view }, { protocol: '/minga/bench/forward/1.0.0', publishOn: m.publishOn, webPorts: null })
    await ingress.start()
    process.send({ ready: true, peer: identity.peerId, addrs: node.getMultiaddrs().map(String) })
  } else if (m.cmd === 'world') {
    world = m.world
    for (const peer of m.peers ?? []) {
      await node.peerStore.merge(peerIdFromString(peer.id), { multiaddrs: peer.addrs.map(a => multiaddr(a)) })
      await node.dial(peerIdFromString(peer.id))
    }
    await ingress.refresh()
    for (const wake of [...waiters]) { waiters.delete(wake); wake() }
    process.send({ world: true })
  } else if (m.cmd === 'cpu') {
    process.send({ cpu: process.cpuUsage() })
  } else if (m.cmd === 'exit') {
    await ingress?.stop()
    await node?.stop()
    process.exit(0)
  }
})
process.send({ alive: true })
