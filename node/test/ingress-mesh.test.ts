/**
 * The routing mesh between real libp2p hosts over TCP (the node's own
 * `defaults()`: private network, Noise, Yamux), in one process: "containers"
 * are TCP servers on 127.0.0.x. A client of one node's published port
 * reaches a replica on another node, intact, with half-close, with the PROXY
 * v2 header where the port asks for it; a replica that refuses is skipped;
 * a connection waits for a replica that turns healthy; Host and SNI pick the
 * service on a shared port; a member cannot forward what it may not.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import type { ServiceSpec } from '@minga/protocol'
import { ForwardProtocolError } from '@minga/protocol'
import { World, container, deploy as declare, exchange, freePort, refreshed as refresh, servers, spec, startMesh, stopMesh, type TestNode } from './ingress-fixtures.js'

const world = new World()
let nodes: TestNode[] = []
let webPorts: { http: number, tls: number }
/** what node 2 reported (onProblem) */
const problems: string[] = []

test.before(async () => {
  webPorts = { http: await freePort(), tls: await freePort() }
  nodes = await startMesh(world, 3, i => i === 0 ? { webPorts } : i === 2 ? { onProblem: (what, error) => problems.push(`${what}: ${error?.message ?? 'ok'}`) } : {})
})

test.after(async () => {
  await stopMesh(nodes)
})

function deploy (s: ServiceSpec, replicas: Array<{ node: number, replica: number, address: string }>, healthy = replicas): void {
  declare(world, nodes, s, replicas, healthy)
}

async function refreshed (): Promise<void> {
  await refresh(nodes)
}

test('a client of node A\'s published port reaches the replica on node B: bytes intact both ways, half-close kept', async () => {
  const containerPort = await freePort('127.0.0.2')
  const published = await freePort()
  await container('127.0.0.2', containerPort, 'hello from web#0\n')
  deploy(spec('web', { ports: [{ container: containerPort, host: published, protocol: 'tcp' }] }), [{ node: 1, replica: 0, address: '127.0.0.2' }])
  await refreshed()
  const answer = await exchange(published, 'ping')
  assert.is(answer, 'hello from web#0\npingbye from hello from web#0\n')
  assert.ok(nodes[0].ingress.stats.forwarded >= 1, 'forwarded over the mesh, not served locally')
  // 8 MiB each way through the same path
  const big = Buffer.alloc(8 * 1024 * 1024, 7)
  const echoed = await new Promise<Buffer>((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: published, allowHalfOpen: true }, () => socket.end(big))
    const parts: Buffer[] = []
    socket.on('data', (d: Buffer) => parts.push(d))
    socket.on('end', () => resolve(Buffer.concat(parts)))
    socket.on('error', reject)
  })
  const greeting = Buffer.from('hello from web#0\n')
  assert.ok(echoed.subarray(greeting.length, greeting.length + big.length).equals(big), '8 MiB came back intact')
})

test('a port with proxyProtocol v2 gets the header with the client\'s address first', async () => {
  const containerPort = await freePort('127.0.0.3')
  const published = await freePort()
  let first: Buffer | undefined
  await container('127.0.0.3', containerPort, 'pp\n', data => { first = data })
  deploy(spec('pp', { ports: [{ container: containerPort, host: published, protocol: 'tcp', proxyProtocol: 'v2' }] }), [{ node: 2, replica: 0, address: '127.0.0.3' }])
  await refreshed()
  const client = net.connect({ host: '127.0.0.1', port: published, localAddress: '127.0.0.9' })
  await new Promise(resolve => client.once('connect', resolve))
  const clientPort = client.localPort
  client.end('after the header')
  await new Promise(resolve => client.on('end', resolve).resume())
  assert.ok(first !== undefined)
  assert.is(first!.subarray(0, 12).toString('hex'), '0d0a0d0a000d0a515549540a', 'the v2 signature')
  assert.is([...first!.subarray(16, 20)].join('.'), '127.0.0.9', 'the client\'s address')
  assert.is(first!.readUInt16BE(24), clientPort, 'the client\'s port')
  assert.is(first!.subarray(28).toString(), 'after the header')
})

test('a replica that refuses is skipped; a connection waits for a replica that turns healthy', async () => {
  const containerPort = await freePort('127.0.0.4')
  const published = await freePort()
  // replica 0 on B has nothing listening; replica 1 on C answers
  await container('127.0.0.5', containerPort, 'hello from c\n')
  deploy(spec('pair', { ports: [{ container: containerPort, host: published, protocol: 'tcp' }] }), [{ node: 1, replica: 0, address: '127.0.0.4' }, { node: 2, replica: 1, address: '127.0.0.5' }])
  await refreshed()
  for (let i = 0; i < 4; i++) assert.match(await exchange(published, 'x'), /^hello from c\n/)
  // no healthy replica: the client waits; once one is healthy it gets through
  const containerPort2 = await freePort('127.0.0.6')
  const published2 = await freePort()
  deploy(spec('later', { ports: [{ container: containerPort2, host: published2, protocol: 'tcp' }] }), [{ node: 1, replica: 0, address: '127.0.0.6' }], [])
  await refreshed()
  const waiting = exchange(published2, 'y')
  await new Promise(resolve => setTimeout(resolve, 300))
  await container('127.0.0.6', containerPort2, 'finally\n')
  deploy(spec('later', { ports: [{ container: containerPort2, host: published2, protocol: 'tcp' }] }), [{ node: 1, replica: 0, address: '127.0.0.6' }])
  assert.match(await waiting, /^finally\ny/)
})

/** a self-signed certificate for `name` (openssl) */
function certificate (name: string): { key: Buffer, cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'minga-cert-'))
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`], { stdio: 'ignore' })
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }
}

/** a web app: plain HTTP on one port, TLS with its own certificate on another, both saying who they are */
async function webApp (host: string, name: string): Promise<{ port: number, tlsPort: number }> {
  const port = await freePort(host)
  const tlsPort = await freePort(host)
  const say = (_req: http.IncomingMessage, res: http.ServerResponse): void => { res.end(`I am ${name}`) }
  const plain = http.createServer(say)
  const secure = https.createServer(certificate(name), say)
  await new Promise<void>(resolve => plain.listen(port, host, resolve))
  await new Promise<void>(resolve => secure.listen(tlsPort, host, resolve))
  servers.push(plain, secure)
  return { port, tlsPort }
}

async function get (options: { host: string, tls?: boolean }): Promise<{ status: number, body: string, cn?: string }> {
  return await new Promise((resolve, reject) => {
    const request = (options.tls === true ? https : http).get({
      host: '127.0.0.1',
      port: options.tls === true ? webPorts.tls : webPorts.http,
      headers: { host: options.host },
      ...(options.tls === true ? { servername: options.host, rejectUnauthorized: false } : {}),
      agent: false
    }, (res) => {
      let body = ''
      const cn = options.tls === true ? String((res.socket as tls.TLSSocket).getPeerCertificate().subject?.CN) : undefined
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ...(cn === undefined ? {} : { cn }) }))
    })
    request.on('error', reject)
  })
}

test('shared web ports: plain HTTP by Host, TLS by SNI with each app\'s own certificate; an unknown host gets 421', async () => {
  const a = await webApp('127.0.0.10', 'a.example.org')
  const b = await webApp('127.0.0.11', 'b.example.org')
  deploy(spec('site-a', { http: [{ host: 'a.example.org', port: a.port, tlsPort: a.tlsPort }] }), [{ node: 1, replica: 0, address: '127.0.0.10' }])
  deploy(spec('site-b', { org: 'riverside', http: [{ host: 'b.example.org', port: b.port, tlsPort: b.tlsPort }] }), [{ node: 2, replica: 0, address: '127.0.0.11' }])
  await refreshed()
  assert.equal(await get({ host: 'a.example.org' }), { status: 200, body: 'I am a.example.org' })
  assert.equal(await get({ host: 'B.example.org:80' }), { status: 200, body: 'I am b.example.org' })
  assert.equal(await get({ host: 'a.example.org', tls: true }), { status: 200, body: 'I am a.example.org', cn: 'a.example.org' })
  assert.equal(await get({ host: 'b.example.org', tls: true }), { status: 200, body: 'I am b.example.org', cn: 'b.example.org' })
  const unknown = await get({ host: 'c.example.org' })
  assert.is(unknown.status, 421)
  const unknownTls = await get({ host: 'c.example.org', tls: true }).then(() => 'answered', (err: any) => err.code)
  assert.is(unknownTls, 'ECONNRESET', 'no certificate to answer with: closed')
})

test('two services that want one published port (deploys accepted at once on two nodes): the older keeps it, the younger is reported once', async () => {
  const [first, second] = [await freePort('127.0.0.3'), await freePort('127.0.0.3')]
  const published = await freePort()
  await container('127.0.0.3', first, 'older\n')
  await container('127.0.0.3', second, 'younger\n')
  deploy(spec('older', { ports: [{ container: first, host: published, protocol: 'tcp' }] }), [{ node: 2, replica: 0, address: '127.0.0.3' }])
  deploy(spec('younger', { org: 'riverside', ports: [{ container: second, host: published, protocol: 'tcp' }] }), [{ node: 2, replica: 0, address: '127.0.0.3' }])
  await refreshed()
  await refreshed()
  assert.match(await exchange(published, 'x'), /^older\n/)
  const about = problems.filter(p => p.startsWith('riverside/younger: '))
  assert.is(about.length, 1, JSON.stringify(problems))
  assert.match(about[0], `riverside/younger wants port ${published}/tcp, which acme/older already has: it gets no listener on this mesh; redeploy riverside/younger with another port, or remove acme/older`)
  world.specs.delete('riverside/younger')
  world.changed()
})

test('a member cannot forward what the replica\'s node would not accept: forbidden, not tried elsewhere', async () => {
  const containerPort = await freePort('127.0.0.7')
  await container('127.0.0.7', containerPort, 'secret\n')
  deploy(spec('db', { org: 'riverside', ports: [{ container: containerPort, protocol: 'tcp' }] }), [{ node: 1, replica: 0, address: '127.0.0.7' }])
  world.specs.set('gamma/app', spec('app', { org: 'gamma' }))
  const request = { type: 'forward' as const, service: 'riverside/db', replica: 0, port: containerPort, client: { address: '10.0.0.2', port: 1 }, local: { address: '10.0.0.1', port: containerPort } }
  for (const attempt of [{ via: 'port' as const }, { via: 'name' as const, caller: 'gamma/app' }]) {
    const err = await nodes[0].ingress.streams.open(nodes[1].id, { ...request, ...attempt }, { signal: AbortSignal.timeout(10_000) }).then(() => undefined, (e: Error) => e)
    assert.instance(err, ForwardProtocolError)
    assert.is((err as ForwardProtocolError).code, 'forbidden')
  }
})

test.run()
