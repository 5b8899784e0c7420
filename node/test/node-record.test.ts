/**
 * A node's record (`node/<peer>`: labels, capacity, addresses) follows its
 * addresses while it runs: a new DHCP lease or a moved server is written
 * within a minute (core.ts, RECORD_CHECK_MS), and every member dials what
 * the record says (host/connector.ts hands it to libp2p's peer store). An
 * address that does not change writes nothing. Before, the record was
 * written once at start, and members that the moved node did not dial
 * itself kept dialling its old address.
 */
import '../src/polyfill.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { createLibp2p } from 'libp2p'
import { keys, newSwarmKey } from '@minga/protocol'
import { Connector } from '../src/host/connector.js'
import { MemberGater } from '../src/host/gater.js'
import { defaults } from '../src/host/libp2p-config.js'
import { pause, TestCluster, waitFor } from './core-cluster.js'

test('a node whose address changes while it runs writes its record again within a minute, and only then', async () => {
  let addrs = ['/ip4/192.0.2.10/tcp/7946']
  const cluster = await TestCluster.start([{ org: 'acme', core: { addrs: () => addrs } }, 'acme', 'riverside'])
  try {
    await cluster.settled()
    const [moving, other] = cluster.nodes
    const key = keys.node(moving.identity.peerId)
    const first = other.state.get(key)!
    assert.equal((first.value as { addrs: string[] }).addrs, ['/ip4/192.0.2.10/tcp/7946'])
    await pause(5 * 60_000)
    assert.is(other.state.get(key)!.seq, first.seq, 'an unchanged address writes nothing')
    addrs = ['/ip4/198.51.100.20/tcp/7946']
    const changedAt = cluster.clock.now()
    await waitFor(() => cluster.nodes.every(n => (n.state.value(key) as { addrs?: string[] } | undefined)?.addrs?.[0] === '/ip4/198.51.100.20/tcp/7946'), 'every member holds the new address', 90_000)
    assert.ok(cluster.clock.now() - changedAt <= 65_000, `${cluster.clock.now() - changedAt} ms after the change`)
  } finally {
    await cluster.stop()
  }
})

test('every member\'s record reaches libp2p\'s peer store at start and as it arrives, so a dial of that member tries the new address (a real host)', async () => {
  let addrs = ['/ip4/192.0.2.10/tcp/7946']
  const cluster = await TestCluster.start([{ org: 'acme', core: { addrs: () => addrs } }, 'acme'])
  const libp2p = await createLibp2p(defaults({ privateKey: await generateKeyPair('Ed25519'), meshId: 'record-test', psk: newSwarmKey(), listen: ['/ip4/127.0.0.1/tcp/0'], gater: new MemberGater({ isMember: () => true }) }))
  // target 0: it dials nobody (these are documentation addresses), it only keeps what the records say
  const connector = new Connector({ libp2p, state: cluster.nodes[1].state, admits: () => true, target: 0 })
  try {
    await cluster.settled()
    connector.start()
    const moving = peerIdFromString(cluster.nodes[0].identity.peerId)
    const known = async (): Promise<string[]> => (await libp2p.peerStore.get(moving).catch(() => undefined))?.addresses.map(a => a.multiaddr.toString()) ?? []
    await waitFor(async () => (await known()).includes('/ip4/192.0.2.10/tcp/7946'), 'the peer store holds the address the record had at start')
    addrs = ['/ip4/198.51.100.20/tcp/7946']
    await waitFor(async () => (await known()).includes('/ip4/198.51.100.20/tcp/7946'), 'the peer store holds the new address', 90_000)
  } finally {
    connector.stop()
    await libp2p.stop()
    await cluster.stop()
  }
})

test.run()
