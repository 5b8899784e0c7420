/**
 * The port probe that tells a stalled process from a gone one: a real TCP
 * listener in a child process whose event loop is blocked still accepts (the
 * kernel completes the handshake), a closed port refuses, and only plain TCP
 * addresses of the peer are dialled.
 */
import '../src/polyfill.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { connect, createServer, type Socket } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { dialPort, probePorts, tcpAddresses } from '../src/host/port-probe.js'

/** a free port nobody listens on (a listener opened and closed) */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

test('a process whose event loop is blocked still has its port accept a TCP dial; a closed port refuses', async () => {
  const child = spawn(process.execPath, ['-e', `
    const server = require('node:net').createServer()
    server.listen(0, '127.0.0.1', () => {
      process.stdout.write(server.address().port + '\\n', () => { const end = Date.now() + 60000; while (Date.now() < end); })
    })`], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())))
      child.once('exit', () => reject(new Error('the child exited')))
    })
    assert.is(await dialPort({ host: '127.0.0.1', port }, 10_000), 'up', 'the kernel accepts for the blocked process')
    const refused = await closedPort()
    assert.is(await dialPort({ host: '127.0.0.1', port: refused }, 10_000), 'refused')
    assert.is(await probePorts([{ host: '127.0.0.1', port: refused }, { host: '127.0.0.1', port }], 10_000), 'up', 'one address up is enough')
    assert.is(await probePorts([{ host: '127.0.0.1', port: refused }], 10_000), 'refused')
    assert.is(await probePorts([], 10_000), 'unknown', 'no address: nothing known')
  } finally {
    child.kill('SIGKILL')
  }
})

test('a dial its host answers nothing to is silent, not unknown (here a blocked listener whose accept queue is full: the kernel drops the SYN, as a vanished host would)', async () => {
  const child = spawn(process.execPath, ['-e', `
    const server = require('node:net').createServer()
    server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      process.stdout.write(server.address().port + '\\n', () => { const end = Date.now() + 60000; while (Date.now() < end); })
    })`], { stdio: ['ignore', 'pipe', 'inherit'] })
  const held: Socket[] = []
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())))
      child.once('exit', () => reject(new Error('the child exited')))
    })
    // fill its accept queue with connections nobody accepts
    for (let i = 0; i < 16; i++) {
      const socket = connect({ host: '127.0.0.1', port })
      held.push(socket)
      const connected = await new Promise<boolean>((resolve) => { socket.once('connect', () => resolve(true)); setTimeout(() => resolve(false), 1000) })
      if (!connected) break
    }
    assert.is(await dialPort({ host: '127.0.0.1', port }, 1000), 'silent')
    assert.is(await probePorts([{ host: '127.0.0.1', port }], 1000), 'silent')
  } finally {
    for (const socket of held) socket.destroy()
    child.kill('SIGKILL')
  }
})

test('only plain TCP addresses are dialled: no relays, WebSockets or unspecified addresses, at most four', () => {
  const id = '12D3KooWGRUVh5ff6nSVaCHNqjMGwwCHrGqHCVSn9ot3aQiK3rHk'
  const addrs = [
    `/ip4/127.0.0.1/tcp/4001/p2p/${id}`,
    '/ip4/0.0.0.0/tcp/4001',
    '/ip4/127.0.0.1/tcp/4002/ws',
    `/ip4/10.0.0.1/tcp/4001/p2p/${id}/p2p-circuit`,
    '/ip6/::1/tcp/4003',
    '/dns4/example.org/tcp/4004',
    '/ip4/127.0.0.1/udp/4005/quic-v1',
    '/ip4/127.0.0.1/tcp/4001',
    '/ip4/127.0.0.2/tcp/1', '/ip4/127.0.0.3/tcp/1', '/ip4/127.0.0.4/tcp/1'
  ].map(a => multiaddr(a))
  assert.equal(tcpAddresses(addrs), [
    { host: '127.0.0.1', port: 4001 },
    { host: '::1', port: 4003 },
    { host: 'example.org', port: 4004 },
    { host: '127.0.0.2', port: 1 }
  ])
})

test.run()
