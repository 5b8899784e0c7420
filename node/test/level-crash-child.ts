/**
 * Writes entries to a LevelDB-backed state as fast as it can and prints the
 * seq of each one once `write` resolves (acknowledged). The crash test kills
 * it with SIGKILL at a random moment.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeIdentity, encodeIdentity, generateIdentity, keys, State } from '@minga/protocol'
import { serviceValue } from '@minga/protocol/testing'
import { LevelPersistence } from '../src/store/level-persistence.js'

const dir = process.argv[2]
const keyFile = join(dir, 'node.key')
let identity
try {
  identity = decodeIdentity(await readFile(keyFile))
} catch {
  identity = await generateIdentity()
  await writeFile(keyFile, encodeIdentity(identity))
}
const state = await State.open({ meshId: 'crash', root: identity.peerId, persistence: new LevelPersistence(join(dir, 'state')), now: Date.now })
if (state.get('mesh') === undefined) {
  await state.write(identity, keys.mesh(), { id: 'crash', root: identity.peerId, created: Date.now() })
  await state.write(identity, keys.member(identity.peerId), { org: 'acme' })
}
process.stdout.write(`ready ${state.size}\n`)
for (let i = 0; ; i++) {
  const name = `s${i % 50}`
  const entry = await state.writeJson(identity, `service/acme/${name}`, serviceValue('acme', name, '000000000000001.000000', { replicas: i % 7 }))
  process.stdout.write(`ack ${entry.seq} ${entry.key} ${entry.hlc}\n`)
}
