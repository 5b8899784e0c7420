/**
 * Who can reach a running node, and with what. A peer without the mesh's
 * private-network key cannot even connect; a peer with the key that is not
 * a member gets no connection from the main host (the gater) and only the
 * join protocol from the door; expired, used-up, tampered and forged
 * invites are refused by `minga join` with a message that says what to do,
 * a non-zero exit code, and no mesh written.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInvite, decodeIdentity, decodeInvite, generateIdentity, newInviteSecret, newSwarmKey, protocols, type Invite } from '@minga/protocol'
import { rawPeer, sleep, startCluster, type Cluster, type MingaNode, type RawPeer } from '../src/index.js'

let mesh: Cluster
let n1: MingaNode
let invite: Invite
const peers: RawPeer[] = []

test.before(async () => {
  mesh = await startCluster({ nodes: ['acme'] })
  n1 = mesh.nodes[0]
  // what any invite holder learns: the mesh id and its private-network key
  invite = decodeInvite(await mesh.invite(n1), { now: Date.now() })
})

test.after(async () => {
  await Promise.all(peers.map(async p => await p.stop()))
  await mesh?.stop()
})

async function peer (options: Parameters<typeof rawPeer>[0] = {}): Promise<RawPeer> {
  const p = await rawPeer(options)
  peers.push(p)
  return p
}

/** the error `promise` rejects with; fails the test when it resolves */
async function refusal (promise: Promise<unknown>, what: string): Promise<Error> {
  try {
    await promise
  } catch (err: any) {
    return err
  }
  assert.unreachable(`${what} was allowed`)
  throw new Error('unreachable')
}

function connectedTo (p: RawPeer, node: MingaNode): boolean {
  return p.libp2p.getConnections().some(c => c.status === 'open' && node.listen.concat(node.door).some(a => a.endsWith(c.remotePeer.toString())))
}

const MAIN_HOST_PROTOCOLS = (meshId: string): string[] => [
  '/ipfs/id/1.0.0', '/meshsub/1.2.0', '/meshsub/1.1.0', protocols.sync(meshId), protocols.membership(meshId),
  // membership's long-lived stream per peer (node's host/shared-requests.ts)
  `${protocols.membership(meshId)}/shared`, protocols.logs(meshId), protocols.events(meshId)
]

test('a peer without the mesh key cannot connect to the main host or to the door', async () => {
  for (const psk of [undefined, newSwarmKey()]) {
    const stranger = await peer({ psk })
    for (const addr of [n1.listen[0], n1.door[0]]) {
      await refusal(stranger.open(addr, '/ipfs/id/1.0.0', 8000), `${psk === undefined ? 'no key' : 'a wrong key'} → ${addr}`)
      assert.not.ok(connectedTo(stranger, n1), 'no connection stays open')
    }
  }
})

test('a member\'s own key opens the main host (the control for the next test)', async () => {
  // a joined node that is not running: its identity is a member's
  const joiner = await mesh.join('acme', n1)
  const identity = decodeIdentity(await readFile(join(joiner.dir, 'node.key')))
  const member = await peer({ psk: invite.psk, identity })
  await member.open(n1.listen[0], '/ipfs/id/1.0.0')
  await member.open(n1.listen[0], protocols.sync(invite.meshId))
  await member.stop()
})

test('a peer with the mesh key that is not a member opens nothing on the main host', async () => {
  const outsider = await peer({ psk: invite.psk })
  for (const protocol of MAIN_HOST_PROTOCOLS(invite.meshId)) {
    const err = await refusal(outsider.open(n1.listen[0], protocol), `a non-member opening ${protocol}`)
    assert.not.equal(err.name, 'UnsupportedProtocolError', `${protocol}: the connection itself is refused, not just the protocol`)
    assert.not.ok(connectedTo(outsider, n1), 'no connection stays open')
  }
})

test('the door speaks the join protocol to a key holder, and nothing else', async () => {
  const outsider = await peer({ psk: invite.psk })
  const answer = await outsider.request(n1.door[0], protocols.join(invite.meshId), {
    type: 'join-request',
    inviteId: '00112233445566778899aabbccddeeff',
    secret: Buffer.from(newInviteSecret()).toString('base64'),
    peerId: outsider.peerId as any,
    addrs: []
  })
  assert.is(answer.type, 'join-response')
  assert.is((answer as any).ok, false)
  assert.is((answer as any).code, 'unknown-invite')
  for (const protocol of MAIN_HOST_PROTOCOLS(invite.meshId)) {
    await refusal(outsider.open(n1.door[0], protocol), `the door answering ${protocol}`)
  }
})

/** `minga join` into a fresh data dir; returns the run and whether a mesh was written */
async function tryJoin (token: string, ...args: string[]): Promise<{ status: number | null, stderr: string, wroteMesh: boolean }> {
  const node = mesh.newNode('acme')
  const run = await mesh.cli(node, 'join', token, ...args)
  return { status: run.status, stderr: run.stderr, wroteMesh: existsSync(join(node.dir, 'mesh.json')) }
}

async function memberCount (): Promise<number> {
  return (await mesh.nodesOf(n1)).length
}

test('an expired invite is refused with a clear message, and nothing is written', async () => {
  const token = await mesh.invite(n1, '--ttl', '1s')
  await sleep(1500)
  const before = await memberCount()
  const run = await tryJoin(token)
  assert.is.not(run.status, 0)
  assert.match(run.stderr, /expired at .*minga invite/)
  assert.not.ok(run.wroteMesh)
  assert.is(await memberCount(), before)
})

test('a used-up invite is refused by the mesh, and nothing is written', async () => {
  const token = await mesh.invite(n1, '--uses', '1')
  const first = await tryJoin(token)
  assert.is(first.status, 0, first.stderr)
  assert.ok(first.wroteMesh)
  const before = await memberCount()
  const second = await tryJoin(token)
  assert.is.not(second.status, 0)
  assert.match(second.stderr, /already used 1 time.*minga invite/)
  assert.not.ok(second.wroteMesh)
  assert.is(await memberCount(), before)
})

test('a tampered or forged invite is refused, and nothing is written', async () => {
  const token = await mesh.invite(n1, '--uses', '5')
  const before = await memberCount()
  // one character changed anywhere: the checksum catches it before any network
  const at = Math.floor(token.length / 2)
  const typo = token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1)
  const damaged = await tryJoin(typo)
  assert.is(damaged.status, 2)
  assert.match(damaged.stderr, /damaged.*minga invite/)
  assert.not.ok(damaged.wroteMesh)

  // re-signed by someone else with a secret of their own: well-formed, but the mesh refuses it
  const real = decodeInvite(token, { now: Date.now() })
  const { issuer, sig, ...fields } = real
  const forger = await generateIdentity()
  const forged = await tryJoin(createInvite(forger, { ...fields, secret: newInviteSecret() }))
  assert.is.not(forged.status, 0)
  assert.match(forged.stderr, /secret does not match.*forged.*minga invite/)
  assert.not.ok(forged.wroteMesh)

  // an invite id the mesh never issued
  const unknown = await tryJoin(createInvite(forger, { ...fields, inviteId: '0123456789abcdef0123456789abcdef' }))
  assert.is.not(unknown.status, 0)
  assert.match(unknown.stderr, /not known to the mesh.*minga invite/)
  assert.not.ok(unknown.wroteMesh)

  // the untouched token still works: the refusals were about the changes
  const genuine = await tryJoin(token)
  assert.is(genuine.status, 0, genuine.stderr)
  assert.is(await memberCount(), before + 1)
})

test.run()
