/** what tests check in `minga ps --json` and `minga nodes --json` output */

export interface ReplicaRow {
  service: string
  replica: number
  assigned: string | null
  running: Array<{ node: string, state: string, healthy: boolean, current: boolean }>
  problem?: string
}

export interface PlacementCheck {
  /** only these nodes may hold replicas (e.g. one side of a partition) */
  allowed?: string[]
  /** each replica runs on exactly one node (after a heal or a failover) */
  noDuplicates?: boolean
}

/**
 * What is wrong with a `ps` view: replicas unassigned, assigned outside
 * `allowed`, not running healthy on their assigned node, or (with
 * `noDuplicates`) running on more than one node. Empty when all is well.
 */
export function placementProblems (rows: ReplicaRow[], check: PlacementCheck = {}): string[] {
  const problems: string[] = []
  for (const row of rows) {
    const name = `${row.service}#${row.replica}`
    if (row.assigned === null) { problems.push(`${name} unassigned (${row.problem ?? 'no reason'})`); continue }
    if (check.allowed !== undefined && !check.allowed.includes(row.assigned)) problems.push(`${name} assigned to ${row.assigned.slice(-8)}, outside ${check.allowed.map(a => a.slice(-8)).join(',')}`)
    const onAssigned = row.running.some(c => c.node === row.assigned && c.state === 'running' && c.healthy && c.current)
    if (!onAssigned) problems.push(`${name} not running healthy on ${row.assigned.slice(-8)} (running: ${row.running.map(c => `${c.node.slice(-8)}:${c.state}`).join(',') || 'nowhere'})`)
    const copies = row.running.filter(c => c.state === 'running')
    if (check.allowed !== undefined) {
      for (const c of copies) if (!check.allowed.includes(c.node)) problems.push(`${name} reported running on ${c.node.slice(-8)}, outside ${check.allowed.map(a => a.slice(-8)).join(',')}`)
    }
    if (check.noDuplicates === true && copies.length > 1) problems.push(`${name} runs ${copies.length} times (${copies.map(c => c.node.slice(-8)).join(',')})`)
  }
  return problems
}

/** `service#replica → node` of a `ps` view, to compare what different nodes computed */
export function assignmentOf (rows: ReplicaRow[]): Record<string, string | null> {
  return Object.fromEntries(rows.map(r => [`${r.service}#${r.replica}`, r.assigned]))
}
