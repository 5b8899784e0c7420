/**
 * `minga audit`: every governance-relevant signed entry the mesh holds —
 * admissions, organizations, invites, removals, cordons, proposals, votes
 * secrets (names and readers only), and the scan gate's policies and
 * waivers — with its author, the author's org,
 * its clock stamp, and whether its signature verifies against the author's
 * key (the peer id). Anyone can check: each record carries the signed
 * entry itself, which `verifyEntry(meshId, entry)` checks offline. The
 * state keeps the current entry of each key, not its history.
 */
import { recordValue, tally, verifyEntry, type Entry, type State } from '@minga/protocol'

export interface AuditRecord {
  time: string
  hlc: string
  kind: string
  key: string
  author: string
  authorOrg: string
  seq: number
  /** what it says, in words; never a secret's value */
  summary: string
  /** the Ed25519 signature verifies against the author's peer id for this mesh */
  verified: boolean
  deleted: boolean
  /** the signed entry itself, to check offline: verifyEntry(meshId, entry) */
  entry: Entry
}

const AUDITED = ['member/', 'org/', 'invite/', 'revoked/', 'cordon/', 'proposal/', 'vote/', 'secret/', 'policy/', 'waiver/']

/**
 * `minga audit`: the governance entries the state holds (optionally of some `kinds`, the last `limit`), each with its author's org and whether its signature verifies
 */
export function auditView (state: State, options: { kinds?: string[], limit?: number } = {}): AuditRecord[] {
  const prefixes = options.kinds === undefined ? AUDITED : AUDITED.filter(p => options.kinds!.includes(p.slice(0, -1)))
  const out: AuditRecord[] = []
  for (const entry of state.all()) {
    if (!prefixes.some(p => entry.key.startsWith(p))) continue
    out.push({
      time: new Date(Number(entry.hlc.slice(0, 15))).toISOString(),
      hlc: entry.hlc,
      kind: entry.key.slice(0, entry.key.indexOf('/')),
      key: entry.key,
      author: entry.author,
      authorOrg: state.memberOrg(entry.author) ?? '?',
      seq: entry.seq,
      summary: summarize(state, entry),
      verified: verifyEntry(state.meshId, entry),
      deleted: entry.tombstone === true,
      entry
    })
  }
  out.sort((a, b) => a.hlc < b.hlc ? -1 : a.hlc > b.hlc ? 1 : a.key.localeCompare(b.key))
  return options.limit === undefined ? out : out.slice(-options.limit)
}

function summarize (state: State, entry: Entry): string {
  const [kind, a, b, c] = entry.key.split('/')
  if (entry.tombstone === true) return kind === 'cordon' ? `uncordoned ${a}` : `deleted ${entry.key}`
  switch (kind) {
    case 'member': {
      const v = recordValue(entry, 'member')!
      return `admitted ${a} to ${v.org}${v.invite === undefined ? ' (founder)' : ` with invite ${v.invite}`}`
    }
    case 'org': {
      const v = recordValue(entry, 'org')!
      return `organization ${a} created${v.invite === undefined ? '' : ` with invite ${v.invite}`}`
    }
    case 'invite': {
      const invite = recordValue(entry, 'invite')!
      const what = invite.newOrg ? 'a new organization' : invite.org
      return `invite by ${invite.issuerOrg} to ${what}, ${invite.uses} use(s), expires ${new Date(invite.expires).toISOString()}${invite.revokedAt === undefined ? '' : ', revoked'}`
    }
    case 'revoked': {
      const r = recordValue(entry, 'revoked')!
      return `removed ${a} (${state.memberOrg(a) ?? '?'}) after its entry #${r.lastSeq}: ${r.reason}${r.proof === undefined ? '' : ' (raised, with proof)'}`
    }
    case 'cordon': return `cordoned ${a}: ${recordValue(entry, 'cordon')!.reason}`
    case 'proposal': {
      const p = recordValue(entry, 'proposal')!
      const t = tally(state, a)
      return `proposal to remove ${p.org} (${p.reason}); electorate ${p.electorate.join(',')}; ${t?.approvals.length ?? 0}/${t?.needed ?? '?'} approvals${t?.passed === true ? ', PASSED' : ''}`
    }
    case 'vote': return `${b} approves proposal ${a}`
    case 'secret': return `secret ${c} of ${a}/${b} sealed to ${Object.keys(recordValue(entry, 'secret')!.sealed.keys).length} node(s)`
    case 'policy': {
      const p = recordValue(entry, 'policy')!
      return `${a}'s scan gate blocks ${p.block} findings${p.maxDbAge === undefined ? '' : `, database at most ${Math.round(p.maxDbAge / 3_600_000)} h old`}${p.scanner === undefined ? '' : `, scanned by "${p.scanner}"`}`
    }
    case 'waiver': {
      const w = recordValue(entry, 'waiver')!
      return `${a} waives ${c} in ${a}/${b}'s image ${w.digest.slice(0, 19)}: ${w.reason}`
    }
    default: return entry.key
  }
}
