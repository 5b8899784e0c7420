/**
 * A mesh of real libp2p hosts (the node's own `defaults()`) in one process,
 * each with an Ingress over a shared, test-controlled view of the mesh;
 * "containers" are TCP servers on 127.0.0.x.
 */
import '../src/polyfill.js'
import net, { type AddressInfo } from 'node:net'
import { createLibp2p, type Libp2p } from 'libp2p'
import { generateIdentity, newSwarmKey, type ServiceSpec } from '@minga/protocol'
import { defaults } from '../src/host/libp2p-config.js'
import { MemberGater } from '../src/host/gater.js'
import { systemClock } from '../src/core/clock.js'
import { Ingress, type IngressInit } from '../src/ingress/ingress.js'
import type { IngressView } from '../src/core/ingress/view.js'
import type { ReplicaLocation } from '../src/core/ingress/choose.js'

export const PROTOCOL = '/minga/test/forward/1.0.0'

export interface TestNode { libp2p: Libp2p, id: string, ingress: Ingress }

/** the mesh as every node sees it: specs, where healthy replicas run, and each node's local containers */
export class World {
  specs = new Map<string, ServiceSpec>()
  healthyAt = new Map<string, ReplicaLocation[]>()
  /** node → service → replicas with their address */
  containers = new Map<string, Map<string, Array<{ replica: number, address: string }>>>()
  private waiters: Array<() => void> = []

  view (node: string): IngressView {
    return {
      services: () => [...this.specs.entries()].map(([id, spec], i) => ({ id, spec, created: String(i).padStart(4, '0') })),
      spec: id => this.specs.get(id),
      healthy: id => this.healthyAt.get(id) ?? [],
      changed: async (signal) => await new Promise<void>((resolve, reject) => {
        this.waiters.push(resolve)
        signal.addEventListener('abort', () => reject(signal.reason), { once: true })
      }),
      runsOn: (service, at) => (this.healthyAt.get(service) ?? []).some(r => r.node === at),
      local: id => this.containers.get(node)?.get(id) ?? [],
      containerAt: address => [...(this.containers.get(node)?.entries() ?? [])].find(([, replicas]) => replicas.some(r => r.address === address))?.[0]
    }
  }

  changed (): void {
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }
}

export const servers: net.Server[] = []

export async function freePort (host = '127.0.0.1'): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, host, resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

/** a "container": answers each connection with `greeting`, echoes what it reads, says bye when the client ends; `onEnd` gets all it read */
export async function container (host: string, port: number, greeting: string, onEnd?: (all: Buffer) => void): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const all: Buffer[] = []
    socket.write(greeting)
    socket.on('data', (data: Buffer) => {
      all.push(data)
      socket.write(data)
    })
    socket.on('end', () => { onEnd?.(Buffer.concat(all)); socket.end(`bye from ${greeting.trim()}\n`) })
    socket.on('error', () => {})
  })
  await new Promise<void>(resolve => server.listen(port, host, resolve))
  servers.push(server)
  return server
}

/** connect (from `localAddress`, if given), send `text`, shut the write side, read everything until the end */
export async function exchange (port: number, text: string, host = '127.0.0.1', localAddress?: string): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const socket = net.connect({ host, port, allowHalfOpen: true, ...(localAddress === undefined ? {} : { localAddress }) }, () => socket.end(text))
    let answer = ''
    socket.on('data', (d: Buffer) => { answer += d.toString('latin1') })
    socket.on('end', () => resolve(answer))
    socket.on('close', () => resolve(answer))
    socket.on('error', reject)
  })
}

export function spec (name: string, extra: Partial<ServiceSpec>): ServiceSpec {
  return { name, org: 'acme', image: 'x', env: {}, replicas: 1, resources: { cpu: 1, memory: 1 }, spread: 'org', constraints: {}, ports: [], update: { maxUnavailable: 1 }, singleton: false, volumes: [], ...extra }
}

/** `count` hosts that know each other's addresses, each with an Ingress (`init(i)` adds to its options) */
export async function startMesh (world: World, count: number, init: (index: number) => Partial<IngressInit> = () => ({})): Promise<TestNode[]> {
  const psk = newSwarmKey()
  const nodes: TestNode[] = []
  for (let i = 0; i < count; i++) {
    const identity = await generateIdentity()
    const libp2p = await createLibp2p(defaults({ privateKey: identity.privateKey, meshId: 'ingresstest', psk, listen: ['/ip4/127.0.0.1/tcp/0'], gater: new MemberGater({ isMember: () => true }) }))
    const ingress = new Ingress({ libp2p, self: identity.peerId, clock: systemClock, view: world.view(identity.peerId) }, { protocol: PROTOCOL, publishOn: ['127.0.0.1'], webPorts: null, holdMs: 20_000, attemptMs: 3000, ...init(i) })
    nodes.push({ libp2p, id: identity.peerId, ingress })
  }
  for (const node of nodes) await node.ingress.start()
  // members know each other's addresses (minga's Connector does this from node records)
  for (const a of nodes) for (const b of nodes) if (a !== b) await a.libp2p.peerStore.merge(b.libp2p.peerId, { multiaddrs: b.libp2p.getMultiaddrs() })
  return nodes
}

export async function stopMesh (nodes: TestNode[]): Promise<void> {
  for (const node of nodes) await node.ingress.stop()
  await Promise.all(nodes.map(async n => await n.libp2p.stop()))
  for (const server of servers.splice(0)) server.close()
}

/** declare `spec` with replicas on `nodes[r.node]` at `r.address`; `healthy`: those the view calls healthy (default all) */
export function deploy (world: World, nodes: TestNode[], spec: ServiceSpec, replicas: Array<{ node: number, replica: number, address: string }>, healthy = replicas): void {
  const id = `${spec.org}/${spec.name}`
  world.specs.set(id, spec)
  world.healthyAt.set(id, healthy.map(r => ({ node: nodes[r.node].id, replica: r.replica })))
  for (const r of replicas) {
    const byService = world.containers.get(nodes[r.node].id) ?? new Map()
    byService.set(id, [...(byService.get(id) ?? []).filter((x: { replica: number }) => x.replica !== r.replica), { replica: r.replica, address: r.address }])
    world.containers.set(nodes[r.node].id, byService)
  }
  world.changed()
}

export async function refreshed (nodes: TestNode[]): Promise<void> {
  for (const node of nodes) await node.ingress.refresh()
}
