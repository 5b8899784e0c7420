/**
 * Governance: removing an organization from the mesh is a proposal that the
 * other organizations approve, never one party's click. Everything here is
 * computed from facts that only grow — proposals are immutable (their id is
 * the hash of author and content), votes are first-wins approvals and are
 * never deleted — so "has passed" can turn true but never back, and every
 * node that holds the same entries reaches the same answer.
 *
 * The rule: a proposal to remove org X passes when a strict majority of its
 * electorate has approved. The electorate is fixed in the proposal: every
 * organization of the mesh when it was opened, X excepted (auth.ts refuses a
 * proposal that leaves one out).
 */
import { createHash } from 'node:crypto'
import { canonicalJson, type Json } from './canonical.js'
import type { Entry } from './entry.js'
import { keys, type KeyKind, type RecordKey } from './keys.js'
import type { ProposalRecord, RecordEntry, RecordOf } from './records.js'

/** what governance reads from the state */
export interface GovernanceView {
  value<K extends KeyKind> (key: RecordKey<K>): RecordOf[K] | undefined
  value (key: string): Json | undefined
  list: (prefix: string) => Entry[]
  records: <K extends KeyKind>(kind: K, under?: string) => Array<RecordEntry<K>>
}

export interface Tally {
  id: string
  proposal: ProposalRecord
  /** electorate orgs that approved */
  approvals: string[]
  /** approvals needed: more than half of the electorate */
  needed: number
  passed: boolean
}

/** the id of a proposal: derived from its author and content, so a proposal can never be rewritten */
export function proposalId (author: string, proposal: ProposalRecord): string {
  return createHash('sha256').update(canonicalJson(['minga/proposal/1', author, proposal])).digest('hex').slice(0, 32)
}

/** approvals needed to pass with this many voters: a strict majority */
export function majorityOf (electorate: number): number {
  return Math.floor(electorate / 2) + 1
}

/** a proposal's approvals so far, and whether it passed; undefined when there is no such proposal */
export function tally (view: GovernanceView, id: string): Tally | undefined {
  const proposal = view.value(keys.proposal(id))
  if (proposal === undefined) return undefined
  const approvals = proposal.electorate.filter(org => view.value(`vote/${id}/${org}`) !== undefined)
  const needed = majorityOf(proposal.electorate.length)
  return { id, proposal, approvals, needed, passed: approvals.length >= needed }
}

/** every proposal with its tally, oldest first */
export function proposals (view: GovernanceView): Tally[] {
  const out: Tally[] = []
  for (const entry of view.list('proposal/').sort((a, b) => a.hlc < b.hlc ? -1 : a.hlc > b.hlc ? 1 : 0)) {
    const result = tally(view, entry.key.slice('proposal/'.length))
    if (result !== undefined) out.push(result)
  }
  return out
}

/** the passed proposal that removed `org`, if any */
export function removalOf (view: GovernanceView, org: string): Tally | undefined {
  for (const entry of view.records('proposal')) {
    if (entry.value.org !== org) continue
    const result = tally(view, entry.key.slice('proposal/'.length))
    if (result?.passed === true) return result
  }
  return undefined
}

/** every organization removed by a passed proposal */
export function removedOrgs (view: GovernanceView): Set<string> {
  const out = new Set<string>()
  for (const t of proposals(view)) if (t.passed) out.add(t.proposal.org)
  return out
}
