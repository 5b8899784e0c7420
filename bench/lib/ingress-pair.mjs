// Two nodes and a replica for the ingress benchmarks, each a process of its own (as two daemons and
// an app would be): node A publishes the replica's sink, source and echo ports on 127.0.0.1; the
// replica runs on node B; A forwards over the mesh. Returns the replica's own ports, A's published
// ports, the CPU time of a process, and stop().
import { fork } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { fileURLToPath } from 'node:url'

const PSK = '/key/swarm/psk/1.0.0/\n/base16/\n' + 'ab'.repeat(32)
const here = fileURLToPath(new URL('./', import.meta.url))

function child (file) {
  return fork(here + file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
}
function next (c, pred) {
  return new Promise((resolve, reject) => {
    const on = (m) => { if (pred(m)) { c.off('message', on); c.off('exit', onExit); resolve(m) } }
    const onExit = (code) => reject(new Error(`child exited with ${code}`))
    c.on('message', on)
    c.once('exit', onExit)
  })
}
async function freePort () {
  const server = net.createServer()
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise(resolve => server.close(resolve))
  return port
}

export async function startPair () {
  const replica = child('replica-server.mjs')
  const { ports } = await next(replica, m => m.ports !== undefined)
  const a = child('ingress-node.mjs')
  const b = child('ingress-node.mjs')
  await Promise.all([next(a, m => m.alive), next(b, m => m.alive)])
  a.send({ cmd: 'start', psk: PSK, publishOn: ['127.0.0.1'] })
  b.send({ cmd: 'start', psk: PSK, publishOn: [] })
  const [, infoB] = await Promise.all([next(a, m => m.ready), next(b, m => m.ready)])

  const published = {}
  const services = []
  for (const [name, port] of Object.entries(ports)) {
    published[name] = await freePort()
    services.push({ id: `bench/${name}`, created: name, spec: { name, org: 'bench', image: 'x', env: {}, replicas: 1, resources: { cpu: 1, memory: 1 }, spread: 'org', constraints: {}, ports: [{ container: port, host: published[name], protocol: 'tcp' }], update: { maxUnavailable: 1 }, singleton: false, volumes: [] } })
  }
  const healthy = Object.fromEntries(services.map(s => [s.id, [{ node: infoB.peer, replica: 0 }]]))
  const local = Object.fromEntries(services.map(s => [s.id, [{ replica: 0, address: '127.0.0.1' }]]))
  a.send({ cmd: 'world', world: { services, healthy, local: {} }, peers: [{ id: infoB.peer, addrs: infoB.addrs }] })
  b.send({ cmd: 'world', world: { services, healthy, local }, peers: [] })
  await Promise.all([next(a, m => m.world), next(b, m => m.world)])
  const processes = { a, b, replica }
  return {
    ports,
    published,
    /** CPU ms used so far by process `a`, `b` or `replica` */
    cpu: async (name) => {
      const c = processes[name]
      c.send({ cmd: 'cpu' })
      const { cpu } = await next(c, m => m.cpu !== undefined)
      return (cpu.user + cpu.system) / 1000
    },
    stop: async () => {
      for (const c of [a, b, replica]) if (c.exitCode === null) c.send({ cmd: 'exit' })
      await Promise.all([a, b, replica].map(c => c.exitCode === null ? once(c, 'exit') : undefined))
    }
  }
}
