/**
 * The node's service network on a real engine started with
 * `--bridge none --iptables=false` (scripts/docker-engine.sh): the runtime
 * creates a bridge network of the node's own subnet, every replica joins it
 * with the node as DNS server, only ports of mode host are published by
 * Docker, the runtime reports each container's address, a container reaches
 * a listener of the host on the gateway and the host reaches the container.
 * The engine is MINGA_TEST_DOCKER_HOST; without one the tests are skipped
 * (under CI they fail).
 */
import { createServer, connect, type AddressInfo } from 'node:net'
import Docker from 'dockerode'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chooseSubnet, serviceSubnet, inContainerRange } from '../src/ingress/subnet.js'
import { hostAddresses, hostNetworks, serviceNetworkReach } from '../src/ingress/setup.js'
import { removeNetwork, type ServiceNetworkSpec } from '../src/runtime/docker-network.js'
import { DockerRuntime } from '../src/runtime/index.js'
import { rejection, replicaOf, waitFor } from './runtime-fixtures.js'

const socket = process.env.MINGA_TEST_DOCKER_HOST?.replace(/^unix:\/\//, '')
const docker = socket === undefined ? undefined : new Docker({ socketPath: socket })
const engine = docker !== undefined && await docker.ping().then(() => true, () => false)
const missing = 'no Docker engine in MINGA_TEST_DOCKER_HOST (start one with "scripts/docker-engine.sh start ci" and build the images with scripts/test-image.sh)'
if (!engine && process.env.CI === undefined) console.log(`skipped: ${missing}`)
const it: (name: string, fn: () => Promise<void>) => void = engine ? test : process.env.CI !== undefined ? (name) => test(name, () => assert.unreachable(`${missing}; CI always provides one`)) : test.skip

const run = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`

async function networkSpec (seed: string): Promise<ServiceNetworkSpec> {
  const subnet = chooseSubnet(seed, await hostNetworks())
  if (subnet === undefined) throw new Error('no free /23 in 10.213.0.0/16 on this host')
  return { name: `minga-test-${seed}`, subnet: subnet.subnet, containers: subnet.containers, gateway: subnet.gateway, bridge: `mt-${seed}`.slice(0, 15) }
}

it('docker network: replicas join the node\'s network with the node as DNS server; only mode-host ports are Docker\'s; addresses are reported', async () => {
  const network = await networkSpec(`a${run}`)
  const runtime = new DockerRuntime({ meshId: `net-${run}`, nodeId: 'a', socketPath: socket, network })
  try {
    const c = await runtime.start(replicaOf('web', {
      command: ['sh', '-c', 'echo ready | nc -l -p 8080; sleep 600'],
      ports: [{ container: 8080, host: 18090, protocol: 'tcp' }, { container: 8081, host: 18091, protocol: 'tcp', mode: 'host' }]
    }))
    const info = await docker!.getContainer(c.id).inspect()
    assert.is(info.HostConfig.NetworkMode, network.name)
    assert.equal(info.HostConfig.Dns, [network.gateway])
    assert.equal(Object.keys(info.HostConfig.PortBindings ?? {}), ['8081/tcp'], 'the ingress port is the node\'s forwarder\'s, not Docker\'s')
    assert.ok(c.address !== undefined && inContainerRange(serviceSubnet(network.subnet), c.address), `address ${String(c.address)} in ${network.containers}`)
    assert.is((await runtime.list()).find(x => x.id === c.id)?.address, c.address)
    assert.equal(serviceNetworkReach(network, await hostAddresses()), { reach: 'ours' }, 'the gateway is on the network\'s own bridge here')
    // the host reaches the container at its address (the forwarder's last hop)
    const greeting = await waitFor('the container answers on its address', async () => await readFrom(c.address!, 8080).catch(() => undefined), 30_000)
    assert.is(greeting.trim(), 'ready')
  } finally {
    for (const c of await runtime.list()) await runtime.stop(c.id, { graceMs: 0 })
    await runtime.close()
    await removeNetwork(docker!, network.name, AbortSignal.timeout(10_000))
  }
})

it('docker network: a container reaches a listener of the node on the gateway', async () => {
  const network = await networkSpec(`b${run}`)
  const runtime = new DockerRuntime({ meshId: `net-${run}`, nodeId: 'b', socketPath: socket, network })
  const heard: string[] = []
  const server = createServer((s) => { s.on('data', (d: Buffer) => heard.push(d.toString().trim())) })
  try {
    await runtime.ensureNetwork()
    // the gateway exists on the host as soon as the network does, before any container
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, network.gateway, resolve) })
    const port = (server.address() as AddressInfo).port
    await runtime.start(replicaOf('caller', { command: ['sh', '-c', `echo hello-from-container | nc ${network.gateway} ${port}; sleep 600`] }))
    await waitFor('the container\'s message', async () => heard.includes('hello-from-container') ? true : undefined, 30_000)
  } finally {
    server.close()
    for (const c of await runtime.list()) await runtime.stop(c.id, { graceMs: 0 })
    await runtime.close()
    await removeNetwork(docker!, network.name, AbortSignal.timeout(10_000))
  }
})

it('docker network: a network of that name with another subnet is an error that says what to do, and is left alone', async () => {
  const network = await networkSpec(`c${run}`)
  const other = chooseSubnet(`other-${run}`, [...await hostNetworks(), network.subnet])!
  await docker!.createNetwork({ Name: network.name, Driver: 'bridge', IPAM: { Driver: 'default', Config: [{ Subnet: other.subnet, Gateway: other.gateway }] } })
  const runtime = new DockerRuntime({ meshId: `net-${run}`, nodeId: 'c', socketPath: socket, network })
  try {
    const err = await rejection(runtime.start(replicaOf('web')))
    assert.is(err.name, 'RuntimeStartError')
    assert.match(err.message, `exists with subnet ${other.subnet}`)
    assert.match(err.message, 'minga up --subnet')
    assert.equal(await runtime.list(), [])
  } finally {
    await runtime.close()
    await removeNetwork(docker!, network.name, AbortSignal.timeout(10_000))
  }
})

async function readFrom (host: string, port: number): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const s = connect({ host, port })
    let text = ''
    s.on('data', (d: Buffer) => { text += d.toString() })
    s.on('end', () => resolve(text))
    s.on('error', reject)
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('timeout')) })
  })
}

test.run()
