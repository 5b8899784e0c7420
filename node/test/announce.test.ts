/**
 * `minga up --announce`: an address members outside the node's network dial
 * (a forwarded port, a dynamic DNS name). Bad input is refused with what to
 * give instead; a good one is listed after the node's own addresses (the node
 * record carries both) and a member dials it, a DNS name resolved at the dial.
 */
import '../src/polyfill.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { newSwarmKey } from '@minga/protocol'
import { parseAnnounce } from '../src/host/announce.js'
import { MemberGater } from '../src/host/gater.js'
import { defaults } from '../src/host/libp2p-config.js'
import { tcpAddresses } from '../src/host/port-probe.js'
import { freePort } from './ingress-fixtures.js'

test('an address to announce is a host and a TCP port; anything else is refused with an example', () => {
  assert.is(parseAnnounce('/dns4/home.example.org/tcp/7946'), '/dns4/home.example.org/tcp/7946')
  assert.is(parseAnnounce('/ip4/203.0.113.7/tcp/7946'), '/ip4/203.0.113.7/tcp/7946')
  assert.is(parseAnnounce('/ip6/2001:db8::1/tcp/7946'), '/ip6/2001:db8::1/tcp/7946')
  const refused: Array<[string, RegExp]> = [
    ['home.example.org:7946', /not a multiaddr/],
    ['/ip4/0.0.0.0/tcp/7946', /no address another server can dial/],
    ['/ip4/203.0.113.7/udp/7946', /\/tcp\/PORT/],
    ['/ip4/203.0.113.7', /\/tcp\/PORT/],
    ['/ip4/203.0.113.7/tcp/0', /\/tcp\/PORT \(1–65535\)/],
    ['/tcp/7946', /must start with \/ip4/],
    ['/ip4/203.0.113.7/tcp/7946/p2p/12D3KooWBwpLX17yG3sGoyNgsd8P5ByihGc7eCExTgg1B2mPpvcy', /nothing may follow the port/]
  ]
  assert.throws(() => parseAnnounce('/ip4/203.0.113.7', 'door'), (err: Error) => /^--announce-door \/ip4\/203\.0\.113\.7: .*joiners dial to reach this node's --door port, e\.g\. \/dns4\/home\.example\.org\/tcp\/7947/.test(err.message))
  for (const [text, why] of refused) {
    assert.throws(() => parseAnnounce(text), (err: Error) => why.test(err.message) && err.message.startsWith(`--announce ${text}: `) && /e\.g\. \/dns4\/home\.example\.org\/tcp\/7946/.test(err.message), text)
  }
})

async function host (listen: string, announce?: string[]): Promise<Libp2p> {
  return await createLibp2p(defaults({ privateKey: await generateKeyPair('Ed25519'), meshId: 'announce-test', psk: psk!, listen: [listen], announce, gater: new MemberGater({ isMember: () => true }) }))
}
let psk: Uint8Array | undefined

test('an announced name comes after the node\'s own addresses, and a member dials it (real hosts over TCP)', async () => {
  psk = newSwarmKey()
  const port = await freePort()
  const announced = await host(`/ip4/127.0.0.1/tcp/${port}`, [parseAnnounce(`/dns4/localhost/tcp/${port}`)])
  const member = await host('/ip4/127.0.0.1/tcp/0')
  try {
    const addrs = announced.getMultiaddrs().map(String)
    assert.equal(addrs.map(a => a.split('/p2p/')[0]), [`/ip4/127.0.0.1/tcp/${port}`, `/dns4/localhost/tcp/${port}`])
    // what membership's port probe dials of its record
    assert.equal(tcpAddresses(announced.getMultiaddrs()), [{ host: '127.0.0.1', port }, { host: 'localhost', port }])
    const connection = await member.dial(multiaddr(addrs[1]), { signal: AbortSignal.timeout(30_000) })
    assert.is(connection.remotePeer.toString(), announced.peerId.toString())
  } finally {
    await member.stop()
    await announced.stop()
  }
})

test.run()
