/** A small mesh built through the public API, for the protocol tests */
import { defaultSpec, generateIdentity, MemoryPersistence, State, type Entry, type Identity, type Json, type StatePersistence } from '../src/index.js'

export const MESH_ID = 'test-mesh'

export interface Fixture {
  root: Identity
  acme2: Identity
  beta: Identity
  stranger: Identity
  source: State
  /** every entry written, superseded ones included, in write order */
  log: Entry[]
  write: (who: Identity, key: string, value: Json | undefined) => Promise<Entry>
  now: { ms: number }
}

export async function openState (root: string, now: () => number, persistence: StatePersistence = new MemoryPersistence()): Promise<State> {
  return await State.open({ meshId: MESH_ID, root, persistence, now })
}

export function serviceValue (org: string, name: string, created: string, extra: Record<string, Json> = {}): Json {
  return {
    created,
    spec: { ...defaultSpec(org, name, 'minga/busybox:1'), ...extra } as unknown as Json
  }
}

/** founder in acme, a second acme node, a node of a new org beta, and a stranger */
export async function buildFixture (): Promise<Fixture> {
  const [root, acme2, beta, stranger] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity(), generateIdentity()])
  const now = { ms: 1_800_000_000_000 }
  const source = await openState(root.peerId, () => now.ms)
  const log: Entry[] = []
  const write = async (who: Identity, key: string, value: Json | undefined): Promise<Entry> => {
    now.ms += 1
    const entry = await source.writeJson(who, key, value)
    log.push(entry)
    return entry
  }
  await write(root, 'mesh', { id: MESH_ID, root: root.peerId, created: now.ms })
  await write(root, `member/${root.peerId}`, { org: 'acme' })
  await write(root, 'org/acme', { name: 'acme' })
  const acmeInvite = 'a'.repeat(16)
  const betaInvite = 'b'.repeat(16)
  await write(root, `invite/${acmeInvite}`, inviteValue({ org: 'acme', newOrg: false }, now.ms))
  await write(root, `invite/${betaInvite}`, inviteValue({ newOrg: true }, now.ms))
  await write(root, `member/${acme2.peerId}`, { org: 'acme', invite: acmeInvite })
  await write(acme2, `member/${beta.peerId}`, { org: 'beta', invite: betaInvite })
  await write(acme2, 'org/beta', { name: 'beta', invite: betaInvite })
  return { root, acme2, beta, stranger, source, log, write, now }
}

/** an invite's value as the root of `issuerOrg` (acme) issues it: for `target`, valid for an hour from `now` (ms), `uses` (5) */
export function inviteValue (target: { org?: string, newOrg: boolean }, now: number, { issuerOrg = 'acme', uses = 5 }: { issuerOrg?: string, uses?: number } = {}): Json {
  return { issuerOrg, ...target, secretHash: 'f'.repeat(64), expires: now + 3_600_000, uses }
}

/**
 * This process's CPU time in ms. Bounds on the cost of bad input are checked
 * in CPU time, not wall time: on a loaded machine the wall clock runs on while
 * other processes have the CPU, and a test must not fail for that
 */
export function cpuMs (): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}
