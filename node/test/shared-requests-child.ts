/**
 * A libp2p host in a child process for the shared-stream tests: it serves `protocol` (argv[3]) on a shared stream
 * and never answers; prints `ready <peer id> <address>` once it listens and `asked` at each request it gets, so
 * the test can kill it with SIGKILL while a request is outstanding. argv[2]: the private network's key file, hex
 */
import '../src/polyfill.js'
import { createLibp2p } from 'libp2p'
import { generateIdentity } from '@minga/protocol'
import { MemberGater } from '../src/host/gater.js'
import { defaults } from '../src/host/libp2p-config.js'
import { Libp2pMesh, type MeshLibp2p } from '../src/host/libp2p-mesh.js'

const [psk, protocol] = process.argv.slice(2)
const identity = await generateIdentity()
const node = await createLibp2p(defaults({
  privateKey: identity.privateKey, meshId: 'mesh-suite', psk: Buffer.from(psk, 'hex'), listen: ['/ip4/127.0.0.1/tcp/0'], gater: new MemberGater({ isMember: () => true })
})) as MeshLibp2p
const mesh = new Libp2pMesh(node, { shared: [protocol] })
mesh.handle(protocol, async () => {
  process.stdout.write('asked\n')
  return await new Promise<Uint8Array>(() => {})
})
process.stdout.write(`ready ${mesh.self} ${node.getMultiaddrs()[0].toString()}\n`)
