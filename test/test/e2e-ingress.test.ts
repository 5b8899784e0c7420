/**
 * End to end on real Docker engines: three `minga up` processes (acme, acme,
 * riverside), each on its own engine and publishing on a loopback address of
 * its own, reached the way people reach services:
 *
 * 1. the PROXY v2 header tells a container the client's real address;
 * 2. plain HTTP on the shared port 80 is routed by Host, TLS on 443 by SNI,
 *    each app answering with its own certificate;
 * 3. a container on node A reaches `db` on another node by name, and keeps
 *    reaching it after `db` moves;
 * 4. names resolve only to what the caller may reach: another organization's
 *    service only where it is exposed, and a service address only for the
 *    node's own containers; a holder of the mesh key that is no member cannot
 *    open the forward protocol;
 * 5. a client loop against one node keeps getting answers while the node
 *    that runs the replica is killed (kill -9, engine stopped) and the replica
 *    moves; failed requests are counted.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { protocols, decodeInvite } from '@minga/protocol'
import { withCluster, type DockerCluster } from '../src/docker-cluster.js'
import { dockerTests } from '../src/docker-engines.js'
import { servingAtLeast } from '../src/docker-samples.js'
import { get, requestLoop, tlsGet } from '../src/ingress-client.js'
import { rawPeer } from '../src/raw-peer.js'
import net from 'node:net'

const { engines: started, it } = await dockerTests(['e2e-a', 'e2e-b', 'e2e-c'])

const HEALTH = 'health: { cmd: ["wget", "-q", "-O-", "http://127.0.0.1:8080/"], interval: 1s, timeout: 10s, retries: 3 }'

/** a page on 8080 that names its container: `<prefix>-<container id>` */
function page (name: string, prefix: string, extra: string): string {
  return `name: ${name}
image: minga/busybox:1
command: ["sh", "-c", "echo ${prefix}-$HOSTNAME > /var/www/index.html; exec httpd -f -p 8080 -h /var/www"]
resources: { cpu: 50m, memory: 16Mi }
${HEALTH}
${extra}
`
}

async function logs (cluster: DockerCluster, node: number, service: string): Promise<string[]> {
  const out = await cluster.mustMinga(node, ['logs', service, '--since', '10m', '--json'])
  return out.stdout.split('\n').filter(Boolean).map(line => JSON.parse(line) as { type: string, text?: string }).filter(item => item.type === 'line').map(item => String(item.text).trim())
}

/** polls `find` until it returns a value, which it returns; on timeout the error shows `context()` */
async function found<T> (cluster: DockerCluster, what: string, find: () => Promise<T | undefined>, timeoutMs = 90_000, context?: () => Promise<string>): Promise<T> {
  let value: T | undefined
  try {
    await cluster.waitFor(what, async () => { value = await find(); return value !== undefined }, timeoutMs)
  } catch (err) {
    throw new Error(`${(err as Error).message}${context === undefined ? '' : `\n${await context().catch(String)}`}`)
  }
  return value as T
}

const appLogs = (cluster: DockerCluster) => async (): Promise<string> => `app's last lines:\n${(await logs(cluster, 0, 'app')).slice(-12).join('\n')}`

it('e2e: PROXY v2, Host and SNI on shared ports, names across nodes and after a move, who may reach what, and a client loop across kill -9', async () => {
  await withCluster(started, { orgs: ['acme', 'acme', 'riverside'], upArgs: [['--label', 'role=app'], ['--label', 'role=db'], ['--label', 'role=db']] }, async (cluster) => {
    const [n0, n1] = cluster.nodes

    // 1. PROXY v2: the container's first bytes are the header naming the client
    await cluster.deploy(0, `name: pp
image: minga/busybox:1
command: ["sh", "-c", "while true; do nc -l -p 9000 | head -c 28 | od -An -tx1 | tr -d ' \\\\n'; echo; done"]
ports: [{ container: 9000, host: 18801, proxyProtocol: v2 }]
resources: { cpu: 50m, memory: 16Mi }
`, ['--wait', '--timeout', '90s'])
    const client = '127.0.99.77'
    const ports: number[] = []
    const header = await found(cluster, 'a connection to the PROXY port reaches the container', async () => {
      ports.push(await new Promise<number>((resolve, reject) => {
        const socket = net.connect({ host: n1.publishOn, port: 18801, localAddress: client }, () => { const p = socket.localPort ?? 0; socket.end('hello'); resolve(p) })
        socket.on('error', reject)
      }))
      await new Promise(resolve => setTimeout(resolve, 500))
      return (await logs(cluster, 0, 'pp')).reverse().find(line => line.startsWith('0d0a0d0a000d0a515549540a'))
    }, 60_000)
    const bytes = Buffer.from(header, 'hex')
    assert.is(bytes[13], 0x11, 'TCP over IPv4')
    assert.is([...bytes.subarray(16, 20)].join('.'), client, 'the client\'s address, not the node\'s')
    assert.is([...bytes.subarray(20, 24)].join('.'), n1.publishOn, 'where the client connected')
    assert.ok(ports.includes(bytes.readUInt16BE(24)), 'the client\'s port')

    // 2. shared web ports: HTTP by Host, TLS by SNI, passed through to each app's own certificate
    await cluster.deploy(0, page('site-a', 'site-a', 'http: { host: http-a.test, port: 8080 }'))
    await cluster.deploy(2, page('site-b', 'site-b', 'http: { host: http-b.test, port: 8080 }'))
    for (const [name, host] of [['tls-a', 'a.test'], ['tls-b', 'b.test']]) {
      await cluster.deploy(name === 'tls-a' ? 0 : 2, `name: ${name}
image: minga/tls:1
command: ["openssl", "s_server", "-quiet", "-accept", "8443", "-cert", "/etc/tls/${host}.crt", "-key", "/etc/tls/${host}.key", "-www"]
resources: { cpu: 100m, memory: 32Mi }
http: { host: ${host}, tlsPort: 8443 }
`)
    }
    await cluster.waitFor('both HTTP apps answer by Host on node 1', async () => {
      const [a, b] = await Promise.all([get(n1.publishOn, 80, '/', { host: 'http-a.test', timeoutMs: 5000 }), get(n1.publishOn, 80, '/', { host: 'http-b.test', timeoutMs: 5000 })])
      return a.body.startsWith('site-a-') && b.body.startsWith('site-b-')
    }, 90_000)
    assert.is((await get(n1.publishOn, 80, '/', { host: 'nowhere.test' })).status, 421)
    await cluster.waitFor('both TLS apps answer by SNI on node 0, each with its own certificate', async () => {
      const [a, b] = await Promise.all([tlsGet(n0.publishOn, 443, 'a.test', 5000), tlsGet(n0.publishOn, 443, 'b.test', 5000)])
      return a.cn === 'a.test' && b.cn === 'b.test' && a.firstLine.startsWith('HTTP/1.0 200') && b.firstLine.startsWith('HTTP/1.0 200')
    }, 90_000)

    // 3. names: app on node 0 (role=app) reaches db on a db node, and again after db moves
    await cluster.deploy(0, page('db', 'db', 'ports: [8080]\nconstraints: { role: db }'), ['--wait', '--timeout', '90s'])
    await cluster.deploy(0, `name: app
image: minga/busybox:1
# (busybox 1.35's wget -T segfaults: no timeout flag)
command: ["sh", "-c", "while true; do wget -q -O- http://db:8080/ || echo miss; wget -q -O- http://private.riverside:8080/ && echo private-reached; wget -q -O- http://shared.riverside:8080/ || echo shared-miss; sleep 1; done"]
resources: { cpu: 50m, memory: 16Mi }
constraints: { role: app }
`)
    const dbNode = (await servingAtLeast(cluster, 'acme/db'))[0].at
    const firstDb = await found(cluster, 'app reaches db by name', async () => (await logs(cluster, 0, 'app')).find(l => l.startsWith('db-')), 90_000, appLogs(cluster))
    await cluster.mustMinga(dbNode, ['drain', cluster.nodes[dbNode].peerId])
    await cluster.waitFor('db runs on the other db node', async () => (await cluster.serving('acme/db')).some(c => c.at !== dbNode), 90_000)
    const moved = await found(cluster, 'app reaches the moved db by the same name', async () => (await logs(cluster, 0, 'app')).find(l => l.startsWith('db-') && l !== firstDb), 90_000, appLogs(cluster))
    assert.is.not(moved, firstDb)
    await cluster.mustMinga(dbNode, ['uncordon', cluster.nodes[dbNode].peerId])

    // 4. who may reach what: riverside's private service is no name for acme; its shared one is
    await cluster.deploy(2, page('private', 'private', 'ports: [8080]'))
    await cluster.deploy(2, page('shared', 'shared', 'ports: [8080]\nexpose: [acme]'))
    await found(cluster, 'app reaches shared.riverside', async () => (await logs(cluster, 0, 'app')).find(l => l.startsWith('shared-')), 90_000, appLogs(cluster))
    const lines = await logs(cluster, 0, 'app')
    assert.not.ok(lines.some(l => l.startsWith('private-')), 'private.riverside never reached from acme')
    assert.ok(lines.some(l => l.includes('bad address \'private.riverside')), 'private.riverside is no name for acme')
    // a holder of the mesh key that is not a member opens no forward
    const invite = decodeInvite((await cluster.mustMinga(0, ['invite'])).stdout.trim(), { now: Date.now() })
    const outsider = await rawPeer({ psk: invite.psk })
    try {
      const refused = await outsider.open(`/ip4/127.0.0.1/tcp/${n0.listenPort}/p2p/${n0.peerId}`, protocols.forward(invite.meshId), 8000).then(() => 'opened', () => 'refused')
      assert.is(refused, 'refused')
    } finally {
      await outsider.stop()
    }

    // 5. failover: a client loop against node 0's published port while the replica's node dies
    await cluster.deploy(0, page('web', 'web', 'ports: ["18800:8080"]\nconstraints: { role: db }'), ['--wait', '--timeout', '90s'])
    const victim = (await servingAtLeast(cluster, 'acme/web'))[0].at
    await cluster.waitFor('web answers through node 0', async () => (await get(n0.publishOn, 18800, '/', { timeoutMs: 5000 })).body.startsWith('web-'), 60_000)
    let finish!: () => void
    const stop = new Promise<void>(resolve => { finish = resolve })
    const seenAfter = new Set<string>()
    let killed = false
    const loop = requestLoop(n0.publishOn, 18800, '/', stop, { onAnswer: (body) => { if (killed) seenAfter.add(body) } })
    await new Promise(resolve => setTimeout(resolve, 2000))
    const before = (await cluster.serving('acme/web'))[0]
    killed = true
    await Promise.all([cluster.kill(victim), cluster.stopEngine(victim)])
    await cluster.waitFor('answers from the moved replica', async () => [...seenAfter].some(b => !b.includes(before.id.slice(0, 12))), 120_000)
    await new Promise(resolve => setTimeout(resolve, 3000))
    finish()
    const result = await loop
    console.log(`  failover through the routing mesh: ${result.requests} requests, ${result.failed} failed, longest gap ${(result.gapMs / 1000).toFixed(1)} s${result.errors.length > 0 ? ` (${result.errors.join('; ')})` : ''}`)
    assert.ok(result.failed <= 2, `at most the requests in flight at the kill fail: ${result.failed} of ${result.requests} (${result.errors.join('; ')})`)
  })
})

test.run()
