/**
 * Creating a mesh (`minga init`) and joining one (`minga join`): both write
 * the data dir, and neither needs a running node. The founder signs the
 * genesis entries itself; a joiner knocks at a member's door with its
 * invite and stores the state it gets back.
 */
import { randomBytes } from 'node:crypto'
import { decodeInvite, encodeRecoveryKey, generateIdentity, keys, NAME_PATTERN, newSwarmKey, signRecoveryProof, State, type Identity, type PeerIdString } from '@minga/protocol'
import { LevelPersistence } from '../store/level-persistence.js'
import { knock } from '../host/door.js'
import { BadRequestError, JoinError } from '../errors.js'
import { DataDir } from './data-dir.js'

/**
 * `minga init`: a new mesh in `dir` with `org` and this node as its first member; BadRequestError for a bad org name or a dir that holds a mesh
 */
export async function initMesh (dir: DataDir, org: string): Promise<{ meshId: string, peerId: string, recoveryKey: string }> {
  if (!NAME_PATTERN.test(org)) throw new BadRequestError(`"${org}" is not an organization name; use lowercase letters, digits and dashes, e.g. --org acme`)
  if (await dir.readMesh() !== undefined) throw new BadRequestError(`${dir.path} already holds a mesh; use another --data DIR, or move it away to start over`)
  const identity = await dir.identity()
  const meshId = randomBytes(8).toString('hex')
  const psk = newSwarmKey()
  // the org's recovery key: printed once for the operator to keep; this node keeps no copy
  const recovery = await generateIdentity()
  const state = await State.open({ meshId, root: identity.peerId, persistence: new LevelPersistence(dir.statePath), now: Date.now })
  try {
    await state.write(identity, keys.mesh(), { id: meshId, root: identity.peerId, created: Date.now() })
    await state.write(identity, keys.member(identity.peerId), { org })
    await state.write(identity, keys.org(org), { name: org })
    await state.write(identity, keys.recovery(org), { key: recovery.peerId })
  } finally {
    await state.close()
  }
  await dir.writeMesh({ meshId, root: identity.peerId, psk: Buffer.from(psk).toString('base64'), org, bootstrap: [], createdAt: Date.now() })
  return { meshId, peerId: identity.peerId, recoveryKey: encodeRecoveryKey(recovery) }
}

export interface JoinOptions {
  token: string
  /** the new organization's name, when the invite admits a new one */
  org?: string
  labels?: Record<string, string>
  /** ms each door of the invite gets to answer (default JOIN_TIMEOUT, 30 s) */
  timeoutMs?: number
  /** the recovery key of `org`, an org that exists but lost its nodes: the node joins it with a new-organization invite */
  recover?: Identity
}

/**
 * `minga join`: knock at the invite's doors, check the answer against the invite and store the state; BadRequestError, JoinError
 */
export async function joinMesh (dir: DataDir, options: JoinOptions): Promise<{ meshId: string, org: string, peerId: string, recoveryKey?: string }> {
  const invite = decodeInvite(options.token, { now: Date.now() })
  const existing = await dir.readMesh()
  if (existing !== undefined && existing.meshId !== invite.meshId) throw new BadRequestError(`${dir.path} already belongs to mesh ${existing.meshId}; use another --data DIR to join a second mesh`)
  if (invite.newOrg && options.org === undefined) throw new BadRequestError('This invite starts a new organization: give its name with --org NAME')
  if (!invite.newOrg && options.org !== undefined && options.org !== invite.org) throw new BadRequestError(`This invite admits to ${invite.org}, not ${options.org}; leave out --org or ask for a --new-org invite`)
  const identity = await dir.identity()
  const response = await knock({
    identity,
    psk: invite.psk,
    meshId: invite.meshId,
    doors: invite.bootstrap,
    timeoutMs: options.timeoutMs,
    request: {
      type: 'join-request',
      inviteId: invite.inviteId,
      secret: Buffer.from(invite.secret).toString('base64'),
      peerId: identity.peerId as PeerIdString,
      org: invite.newOrg ? options.org : undefined,
      addrs: [],
      labels: options.labels,
      ...(options.recover === undefined ? {} : { recovery: signRecoveryProof(options.recover, invite.meshId, options.org ?? '', identity.peerId, invite.inviteId) })
    }
  })
  if (!response.ok) throw new JoinError(response.error)
  if (response.meshId !== invite.meshId || response.root !== invite.root) throw new JoinError('The node that answered belongs to another mesh than the invite names; the invite may be forged')
  const expectedOrg = invite.newOrg ? options.org : invite.org
  if (response.org !== expectedOrg) throw new JoinError(`The mesh admitted this node to ${response.org}, not ${expectedOrg} as the invite says; ask a member for a new invite`)
  const state = await State.open({ meshId: invite.meshId, root: invite.root, persistence: new LevelPersistence(dir.statePath), now: Date.now })
  let recoveryKey: string | undefined
  try {
    await state.merge(response.entries ?? [])
    if (state.memberOrg(identity.peerId) === undefined) throw new JoinError('The mesh admitted this node but its admission did not verify here; try again, or ask for a new invite')
    // a new org gets its recovery key, printed once; an org that exists keeps the one it has
    if (invite.newOrg && options.recover === undefined && state.value(keys.recovery(response.org)) === undefined) {
      const recovery = await generateIdentity()
      await state.write(identity, keys.recovery(response.org), { key: recovery.peerId })
      recoveryKey = encodeRecoveryKey(recovery)
    }
  } finally {
    await state.close()
  }
  // a node that came back with the recovery key keeps it until it has sealed again what only the key opens
  if (options.recover !== undefined) await dir.writeRecoveryKey(options.recover)
  await dir.writeMesh({ meshId: invite.meshId, root: invite.root, psk: Buffer.from(invite.psk).toString('base64'), org: response.org, bootstrap: invite.bootstrap, createdAt: Date.now() })
  return { meshId: invite.meshId, org: response.org, peerId: identity.peerId, ...(recoveryKey === undefined ? {} : { recoveryKey }) }
}
