/**
 * Writes entries to a LevelDB-backed state as fast as it can and prints the
 * seq of each one once `write` resolves (acknowledged). The crash test kills
 * it with SIGKILL at a random moment. With `merge` as its second argument it
 * merges a peer's entries instead and prints each once `merge` resolves.
 * Its identity and the peer's are kept as a node's data directory keeps its
 * own (`DataDir`): in `dir` and in `dir/peer`, made on the first run.
 */
import { join } from 'node:path'
import { keys, signEntry, State } from '@minga/protocol'
import { inviteValue, serviceValue } from '@minga/protocol/testing'
import { DataDir } from '../src/daemon/data-dir.js'
import { LevelPersistence } from '../src/store/level-persistence.js'

const dir = process.argv[2]
const merging = process.argv[3] === 'merge'
const identity = await new DataDir(dir).identity()
const peer = await new DataDir(join(dir, 'peer')).identity()
const state = await State.open({ meshId: 'crash', root: identity.peerId, persistence: new LevelPersistence(join(dir, 'state')), now: Date.now })
if (state.get('mesh') === undefined) {
  await state.write(identity, keys.mesh(), { id: 'crash', root: identity.peerId, created: Date.now() })
  await state.write(identity, keys.member(identity.peerId), { org: 'acme' })
  // the peer whose entries the merge mode merges, admitted as a node joining by invite is
  const invite = 'a'.repeat(16)
  await state.writeJson(identity, 'org/acme', { name: 'acme' })
  await state.writeJson(identity, `invite/${invite}`, inviteValue({ org: 'acme', newOrg: false }, Date.now()))
  await state.writeJson(identity, keys.member(peer.peerId), { org: 'acme', invite })
}
process.stdout.write(`ready ${state.size}\n`)
for (let i = 0; ; i++) {
  const name = `s${i % 50}`
  const key = `service/acme/${name}`
  const value = serviceValue('acme', name, '000000000000001.000000', { replicas: i % 7 })
  let entry
  if (merging) {
    entry = signEntry('crash', peer, { author: peer.peerId, seq: (state.highWaterMarks()[peer.peerId] ?? 0) + 1, hlc: state.clock.tick(), key, value })
    const { applied } = await state.merge([entry])
    if (applied.length !== 1) throw new Error(`the peer's entry ${entry.seq} was not applied`)
  } else {
    entry = await state.writeJson(identity, key, value)
  }
  process.stdout.write(`ack ${entry.seq} ${entry.key} ${entry.hlc}\n`)
}
