// crdt-merge-100k: merge 100,000 signed entries from 20 authors into a fresh state, signatures verified.
import { generateIdentity, signEntry, State, MemoryPersistence, encodeHlc } from '../protocol/dist/src/index.js'

const MESH = 'bench-mesh'
const AUTHORS = 20
const TOTAL = 100_000
const root = await generateIdentity()
const others = await Promise.all(Array.from({ length: AUTHORS - 1 }, () => generateIdentity()))
const start = 1_800_000_000_000
let wall = start
const seqs = new Map()
const sign = (who, key, value) => {
  const seq = (seqs.get(who.peerId) ?? 0) + 1
  seqs.set(who.peerId, seq)
  return signEntry(MESH, who, { author: who.peerId, seq, hlc: encodeHlc({ wall: wall++, counter: 0 }), key, value })
}
const entries = [
  sign(root, 'mesh', { id: MESH, root: root.peerId, created: start }),
  sign(root, `member/${root.peerId}`, { org: 'acme' }),
  sign(root, 'invite/' + 'a'.repeat(16), { issuerOrg: 'acme', org: 'acme', newOrg: false, secretHash: 'f'.repeat(64), expires: start + 1e9, uses: 100 })
]
for (const other of others) entries.push(sign(root, `member/${other.peerId}`, { org: 'acme', invite: 'a'.repeat(16) }))
const writers = [root, ...others]
for (let i = entries.length; i < TOTAL; i++) {
  const name = `s${i % 5000}`
  entries.push(sign(writers[i % AUTHORS], `service/acme/${name}`, {
    created: '000000000000001.000000',
    spec: { name, org: 'acme', image: 'minga/busybox:1', env: { I: String(i) }, replicas: 1 + (i % 3), resources: { cpu: 100, memory: 67108864 }, spread: 'org', constraints: {}, ports: [], update: { maxUnavailable: 1 }, singleton: false, volumes: [] }
  }))
}
// shuffle the service writes deterministically so that delivery order is not write order; the admissions
// go first, as anti-entropy (oldest clock first) delivers them
const admissions = entries.length - (TOTAL - AUTHORS - 2)
let seed = 42
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
for (let i = entries.length - 1; i > admissions; i--) { const j = admissions + Math.floor(rand() * (i - admissions + 1)); [entries[i], entries[j]] = [entries[j], entries[i]] }

const state = await State.open({ meshId: MESH, root: root.peerId, persistence: new MemoryPersistence(), now: () => wall + 1000 })
const t0 = performance.now()
for (let i = 0; i < entries.length; i += 1000) await state.merge(entries.slice(i, i + 1000))
const ms = performance.now() - t0
const stats = state.stats()
if (stats.pending !== 0 || Object.keys(stats.rejected).length !== 0) throw new Error(`unexpected: ${JSON.stringify(stats)}`)
console.log(JSON.stringify({ name: 'crdt-merge-100k', ms: Math.round(ms), entriesPerSec: Math.round(TOTAL / (ms / 1000)), entries: TOTAL, keys: state.size }))
