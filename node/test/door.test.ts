/**
 * The join door over real libp2p on 127.0.0.1: a door too busy to answer
 * within the joiner's timeout is asked again (an admission is idempotent),
 * and an address that refuses connections is not; a door behind a router
 * announces the address joiners outside dial (`--announce-door`).
 */
import '../src/polyfill.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:net'
import { generateIdentity, newSwarmKey, type JoinRequestMessage, type PeerIdString } from '@minga/protocol'
import { parseAnnounce } from '../src/host/announce.js'
import { JOIN_ROUNDS, knock, startDoor } from '../src/host/door.js'
import { freePort } from './ingress-fixtures.js'

const meshId = 'door-test'

test('a door that answers too late is asked again, and the join succeeds; a refusing address is tried once', async () => {
  const [doorIdentity, joiner] = await Promise.all([generateIdentity(), generateIdentity()])
  const psk = newSwarmKey()
  let asked = 0
  const door = await startDoor({
    identity: doorIdentity,
    meshId,
    psk,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    admit: async () => {
      // the first admission takes longer than the joiner waits (a starved member)
      if (++asked === 1) await new Promise((resolve) => setTimeout(resolve, 1500))
      return { type: 'join-response', ok: true, org: 'acme', meshId, root: doorIdentity.peerId as PeerIdString, entries: [] }
    }
  })
  const request: JoinRequestMessage = { type: 'join-request', inviteId: '0123456789abcdef', secret: Buffer.alloc(32, 7).toString('base64'), peerId: joiner.peerId as PeerIdString, addrs: [] }
  try {
    const address = door.getMultiaddrs()[0].toString()
    const response = await knock({ identity: joiner, psk, meshId, doors: [address], request, timeoutMs: 500 })
    assert.is(response.ok, true, JSON.stringify(response))
    assert.is(asked, 2, 'asked again after the first answer came too late')
  } finally {
    await door.stop()
  }
  // nothing listens: a refusal, not worth asking again
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  const started = Date.now()
  const refused = await knock({ identity: joiner, psk, meshId, doors: [`/ip4/127.0.0.1/tcp/${port}/p2p/${doorIdentity.peerId}`], request, timeoutMs: 5000 })
  assert.is(refused.ok, false)
  if (!refused.ok) {
    assert.match(refused.error, /No member could be reached/)
    assert.not.match(refused.error, /try 2/)
  }
  assert.ok(JOIN_ROUNDS > 1)
  assert.ok(Date.now() - started < 5000 * JOIN_ROUNDS, 'no rounds of waiting for a refusing address')
})

test('a door given --announce-door lists the address after its own, and a joiner knocks at it by name', async () => {
  const [doorIdentity, joiner] = await Promise.all([generateIdentity(), generateIdentity()])
  const psk = newSwarmKey()
  const port = await freePort()
  const door = await startDoor({
    identity: doorIdentity,
    meshId,
    psk,
    listen: [`/ip4/127.0.0.1/tcp/${port}`],
    announce: [parseAnnounce(`/dns4/localhost/tcp/${port}`, 'door')],
    admit: async () => ({ type: 'join-response', ok: true, org: 'acme', meshId, root: doorIdentity.peerId as PeerIdString, entries: [] })
  })
  const request: JoinRequestMessage = { type: 'join-request', inviteId: '0123456789abcdef', secret: Buffer.alloc(32, 7).toString('base64'), peerId: joiner.peerId as PeerIdString, addrs: [] }
  try {
    const addrs = door.getMultiaddrs().map(String)
    assert.equal(addrs.map(a => a.split('/p2p/')[0]), [`/ip4/127.0.0.1/tcp/${port}`, `/dns4/localhost/tcp/${port}`])
    const response = await knock({ identity: joiner, psk, meshId, doors: [addrs[1]], request, timeoutMs: 10_000 })
    assert.is(response.ok, true, JSON.stringify(response))
  } finally {
    await door.stop()
  }
})

test.run()
