/**
 * The routing mesh's I/O parts on real sockets: the PROXY v2 header byte for
 * byte, host sniffing on a shared port (HTTP Host, TLS SNI from a real TLS
 * client, a ClientHello one byte per segment, slow and oversized clients),
 * and the DNS server answering per caller, relaying the rest upstream.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Resolver } from 'node:dns/promises'
import net from 'node:net'
import tls from 'node:tls'
import { NameServer, type DnsAnswer } from '../src/ingress/dns-server.js'
import { bindAddresses } from '../src/ingress/ingress.js'
import { Listeners } from '../src/ingress/listeners.js'
import { proxyHeader } from '../src/ingress/proxy-header.js'
import { sniffHost, type Sniffed } from '../src/ingress/sniff.js'

test('PROXY v2 header: the specification\'s bytes for IPv4, family 0x21 and 36 address bytes for IPv6, mixed families mapped', () => {
  const v4 = Buffer.from(proxyHeader({ address: '203.0.113.7', port: 51234 }, { address: '10.213.1.200', port: 80 }))
  const expected = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c, 203, 0, 113, 7, 10, 213, 1, 200, 51234 >> 8, 51234 & 255, 0, 80])
  assert.equal(v4.toString('hex'), expected.toString('hex'))
  const v6 = Buffer.from(proxyHeader({ address: '2001:db8::7', port: 4000 }, { address: '2001:db8::1', port: 443 }))
  assert.is(v6[13], 0x21)
  assert.is(v6.readUInt16BE(14), 36)
  assert.is(v6.subarray(16, 32).toString('hex'), '20010db8000000000000000000000007')
  // a dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d: written as plain IPv4
  assert.equal(Buffer.from(proxyHeader({ address: '::ffff:203.0.113.7', port: 51234 }, { address: '10.213.1.200', port: 80 })), v4)
  const mixed = Buffer.from(proxyHeader({ address: '2001:db8::7', port: 4000 }, { address: '10.0.0.1', port: 80 }))
  assert.is(mixed.subarray(32, 48).toString('hex'), '00000000000000000000ffff0a000001')
})

/** a server whose connections are sniffed; resolves each with what it found and what the socket then reads */
async function sniffServer (): Promise<{ port: number, next: () => Promise<{ sniffed?: Sniffed, error?: Error, rest: Promise<Buffer> }>, close: () => void }> {
  const results: Array<(value: { sniffed?: Sniffed, error?: Error, rest: Promise<Buffer> }) => void> = []
  // half-open sockets (allowHalfOpen) outlive the clients' end: close() destroys them, or the test process never exits
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    const deliver = results.shift()!
    socket.on('error', () => {})
    const rest = (): Promise<Buffer> => new Promise<Buffer>((resolve) => {
      const parts: Buffer[] = []
      socket.on('data', (d: Buffer) => { parts.push(d) })
      socket.on('end', () => resolve(Buffer.concat(parts)))
      socket.on('close', () => resolve(Buffer.concat(parts)))
      socket.resume()
    })
    sniffHost(socket, { timeoutMs: 1500, maxHeadBytes: 1024 }).then(
      (sniffed) => deliver({ sniffed, rest: rest() }),
      (error: Error) => { deliver({ error, rest: Promise.resolve(Buffer.alloc(0)) }); socket.destroy() })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    next: async () => await new Promise(resolve => results.push(resolve)),
    close: () => {
      for (const socket of sockets) socket.destroy()
      server.close()
    }
  }
}

test('sniffHost: HTTP by Host (port and case stripped), TLS by SNI; every byte is put back for the app', async () => {
  const server = await sniffServer()
  try {
    const request = 'GET / HTTP/1.1\r\nUser-Agent: t\r\nHost: Cloud.Example.org:8080\r\n\r\nbody'
    const pending = server.next()
    const client = net.connect(server.port, '127.0.0.1', () => client.end(request))
    const result = await pending
    assert.equal(result.sniffed, { kind: 'http', host: 'cloud.example.org' })
    assert.is((await result.rest).toString('latin1'), request)

    // a real TLS client's ClientHello, sent one byte per segment: SNI still found, bytes intact
    const hello = await captureClientHello('blog.example.org')
    const tlsPending = server.next()
    const slow = net.connect(server.port, '127.0.0.1')
    slow.setNoDelay(true)
    await new Promise(resolve => slow.once('connect', resolve))
    for (const byte of hello) {
      slow.write(Buffer.from([byte]))
      await new Promise(resolve => setImmediate(resolve))
    }
    slow.end()
    const tlsResult = await tlsPending
    assert.equal(tlsResult.sniffed, { kind: 'tls', host: 'blog.example.org' })
    assert.ok((await tlsResult.rest).equals(hello), 'the ClientHello reaches the app unchanged')

    const noHost = server.next()
    const bare = net.connect(server.port, '127.0.0.1', () => bare.end('GET / HTTP/1.0\r\n\r\n'))
    assert.equal((await noHost).sniffed, { kind: 'http' })
    const literal = server.next()
    const ip = net.connect(server.port, '127.0.0.1', () => ip.end('GET / HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n'))
    assert.equal((await literal).sniffed, { kind: 'http', host: '10.0.0.1' }, 'an IPv4 literal is a host name like any other: no route will match')
  } finally {
    server.close()
  }
})

test('sniffHost: a silent client times out, an oversized head and a broken handshake are refused, a client that leaves is noticed', async () => {
  const server = await sniffServer()
  try {
    const silent = server.next()
    const idle = net.connect(server.port, '127.0.0.1')
    assert.is(((await silent).error as any)?.code, 'timeout')
    idle.destroy()
    const big = server.next()
    const large = net.connect(server.port, '127.0.0.1', () => large.write('GET / HTTP/1.1\r\n' + 'X: y\r\n'.repeat(400)))
    large.on('error', () => {})
    assert.is(((await big).error as any)?.code, 'too-large')
    const broken = server.next()
    const garbage = net.connect(server.port, '127.0.0.1', () => garbage.end(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])))
    garbage.on('error', () => {})
    assert.is(((await broken).error as any)?.code, 'not-tls')
    const gone = server.next()
    const leaver = net.connect(server.port, '127.0.0.1', () => leaver.end('GET / HT'))
    assert.is(((await gone).error as any)?.code, 'closed')
  } finally {
    server.close()
  }
})

/** the bytes a Node TLS client sends first for `servername` */
async function captureClientHello (servername: string): Promise<Buffer> {
  return await new Promise<Buffer>((resolve) => {
    const sink = net.createServer((socket) => {
      socket.once('data', (data: Buffer) => { resolve(data); socket.destroy(); sink.close() })
    })
    sink.listen(0, '127.0.0.1', () => {
      const client = tls.connect({ host: '127.0.0.1', port: (sink.address() as net.AddressInfo).port, servername, rejectUnauthorized: false })
      client.on('error', () => {})
    })
  })
}

test('NameServer: answers per caller, NXDOMAIN for the mesh\'s unknown names, REFUSED for strangers, the rest relayed upstream', async () => {
  const upstream = new NameServer({ address: '127.0.0.1', port: 0, answer: (name) => name === 'example.com' ? { kind: 'address', address: '192.0.2.80' } : { kind: 'nxdomain' } })
  await upstream.start()
  const asked: Array<[string, string]> = []
  const server = new NameServer({
    address: '127.0.0.1',
    port: 0,
    upstream: [`127.0.0.1:${upstream.port}`],
    answer: (name: string, from: string): DnsAnswer => {
      asked.push([name, from])
      if (from === '127.0.0.3') return { kind: 'refused' }
      if (name === 'db') return { kind: 'address', address: from === '127.0.0.1' ? '10.213.15.1' : '10.213.15.2' }
      if (name.includes('.')) return { kind: 'upstream' }
      return { kind: 'nxdomain' }
    }
  })
  await server.start()
  try {
    const resolver = (local: string): Resolver => {
      const r = new Resolver({ timeout: 3000, tries: 2 })
      r.setServers([`127.0.0.1:${server.port}`])
      r.setLocalAddress(local)
      return r
    }
    assert.equal(await resolver('127.0.0.1').resolve4('db'), ['10.213.15.1'])
    assert.equal(await resolver('127.0.0.2').resolve4('DB.'), ['10.213.15.2'], 'another caller, another answer; case and final dot ignored')
    assert.equal(await resolver('127.0.0.1').resolve6('db').catch((err: any) => err.code), 'ENODATA', 'the mesh has no IPv6 answers: no data, so clients fall back to IPv4')
    assert.is(await resolver('127.0.0.1').resolve4('nothing').catch((err: any) => err.code), 'ENOTFOUND')
    assert.is(await resolver('127.0.0.3').resolve4('db').catch((err: any) => err.code), 'EREFUSED')
    assert.equal(await resolver('127.0.0.1').resolve4('example.com'), ['192.0.2.80'], 'relayed to the upstream resolver')
    assert.is(await resolver('127.0.0.1').resolve4('nowhere.example').catch((err: any) => err.code), 'ENOTFOUND', 'upstream\'s NXDOMAIN comes back as it is')
    assert.ok(asked.some(([name, from]) => name === 'db' && from === '127.0.0.2'))
    // bad input: a packet that is no DNS message costs nothing and changes nothing
    const garbage = await import('node:dgram').then(d => d.createSocket('udp4'))
    await new Promise<void>(resolve => garbage.send(Buffer.from('junk'), server.port, '127.0.0.1', () => resolve()))
    garbage.close()
    assert.equal(await resolver('127.0.0.1').resolve4('db'), ['10.213.15.1'], 'still answering')
  } finally {
    await server.stop()
    await upstream.stop()
  }
})

test('NameServer without upstream: names outside the mesh are NXDOMAIN, nothing leaves the machine', async () => {
  const server = new NameServer({ address: '127.0.0.1', port: 0, answer: () => ({ kind: 'upstream' }) })
  await server.start()
  try {
    const r = new Resolver({ timeout: 3000, tries: 1 })
    r.setServers([`127.0.0.1:${server.port}`])
    assert.is(await r.resolve4('example.com').catch((err: any) => err.code), 'ENOTFOUND')
  } finally {
    await server.stop()
  }
})

test('bindAddresses: publish addresses, narrowed by a port\'s own address where this node may bind it', () => {
  assert.equal(bindAddresses(undefined, ['0.0.0.0']), ['0.0.0.0'])
  assert.equal(bindAddresses(undefined, ['192.0.2.10', '127.0.0.1']), ['192.0.2.10', '127.0.0.1'])
  assert.equal(bindAddresses('127.0.0.1', ['0.0.0.0']), ['127.0.0.1'])
  assert.equal(bindAddresses('192.0.2.10', ['192.0.2.10']), ['192.0.2.10'])
  assert.equal(bindAddresses('192.0.2.99', ['192.0.2.10']), [], 'an address this node does not publish on')
  assert.equal(bindAddresses('127.0.0.1', ['127.0.0.12']), ['127.0.0.12'], 'loopback stands for the node\'s own loopback address')
})

test('Listeners: opens and closes what the wanted set says; a port in use is a problem until it frees, then binds', async () => {
  const seen: string[] = []
  const listeners = new Listeners({ onConnection: (key, socket) => { seen.push(key); socket.destroy() } })
  const blocker = net.createServer()
  await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
  const busy = (blocker.address() as net.AddressInfo).port
  try {
    await listeners.reconcile([{ key: 'a', address: '127.0.0.1', port: 0 }, { key: 'busy', address: '127.0.0.1', port: busy }])
    const a = listeners.address('a')!
    await new Promise<void>((resolve) => { const c = net.connect(a.port, '127.0.0.1'); c.on('close', () => resolve()); c.on('error', () => {}) })
    assert.equal(seen, ['a'])
    assert.match(listeners.problems().get('busy')?.message ?? '', `Cannot listen on 127.0.0.1:${busy}: EADDRINUSE (another program holds it)`)
    await new Promise(resolve => blocker.close(resolve))
    const deadline = Date.now() + 30_000
    while (listeners.problems().has('busy') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
    assert.not.ok(listeners.problems().has('busy'), 'bound once the port was free')
    await listeners.reconcile([{ key: 'busy', address: '127.0.0.1', port: busy }])
    assert.equal(listeners.keys(), ['busy'])
    const refused = await new Promise<string>((resolve) => { const c = net.connect(a.port, '127.0.0.1'); c.on('connect', () => { c.destroy(); resolve('connected') }); c.on('error', (err: any) => resolve(err.code)) })
    assert.is(refused, 'ECONNREFUSED', 'a listener that is no longer wanted is closed')
  } finally {
    await listeners.closeAll()
    blocker.close()
  }
})

test.run()
