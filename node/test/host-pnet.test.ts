/**
 * minga's private-network protector speaks libp2p's pnet protocol byte for
 * byte: a host with it and a host with @libp2p/pnet exchange data intact
 * (so nodes can be upgraded one at a time), and a host with another key
 * gets no connection.
 */
import '../src/polyfill.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { preSharedKey as stockPreSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { ConnectionProtector } from '@libp2p/interface'
import { newSwarmKey } from '@minga/protocol'
import { preSharedKey } from '../src/host/pnet.js'

const ECHO = '/minga/test/echo/1.0.0'

async function host (protector: () => ConnectionProtector): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: protector,
    connectionMonitor: { enabled: false }
  })
  await node.handle(ECHO, (stream) => {
    stream.addEventListener('message', (event) => { stream.send(event.data) })
    stream.addEventListener('remoteCloseWrite', () => { void stream.close() })
  })
  return node
}

async function echo (from: Libp2p, to: Libp2p, bytes: number): Promise<Buffer> {
  const payload = randomBytes(bytes)
  const stream = await from.dialProtocol(to.getMultiaddrs(), ECHO, { signal: AbortSignal.timeout(30_000) })
  const parts: Uint8Array[] = []
  const ended = new Promise<void>((resolve) => { stream.addEventListener('remoteCloseWrite', () => resolve()) })
  stream.addEventListener('message', (event) => { for (const part of event.data instanceof Uint8Array ? [event.data] : event.data) parts.push(Buffer.from(part)) })
  for (let at = 0; at < payload.length; at += 16 * 1024) {
    if (!stream.send(payload.subarray(at, at + 16 * 1024))) await stream.onDrain()
  }
  await stream.close()
  await ended
  assert.ok(Buffer.concat(parts).equals(payload), `${bytes} bytes came back intact`)
  return payload
}

test('a host with minga\'s protector and a host with @libp2p/pnet talk both ways', async () => {
  const psk = newSwarmKey()
  const ours = await host(preSharedKey({ psk }))
  const stock = await host(stockPreSharedKey({ psk }))
  try {
    await echo(stock, ours, 512 * 1024)
    await echo(ours, stock, 512 * 1024)
  } finally {
    await Promise.all([ours.stop(), stock.stop()])
  }
})

test('a host with another key gets no connection', async () => {
  const ours = await host(preSharedKey({ psk: newSwarmKey() }))
  const stranger = await host(preSharedKey({ psk: newSwarmKey() }))
  try {
    let connected = false
    try {
      await stranger.dial(ours.getMultiaddrs(), { signal: AbortSignal.timeout(5000) })
      connected = true
    } catch {}
    assert.not.ok(connected, 'the dial with a wrong key failed')
    assert.is(ours.getConnections().length, 0)
  } finally {
    await Promise.all([ours.stop(), stranger.stop()])
  }
})

test('a key file that is not a /key/swarm/psk/1.0.0/ file is refused with what to do', () => {
  assert.throws(() => preSharedKey({ psk: new TextEncoder().encode('not a key') }), /\/key\/swarm\/psk\/1\.0\.0\//)
})

test.run()
