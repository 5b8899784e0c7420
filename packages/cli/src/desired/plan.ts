/**
 * A change set's plan as `minga diff` and `minga apply --dry-run` print it,
 * after `nomad job plan`: one block per service, `+` to create, `~` to
 * update (field by field, old → new), `-` to remove, then one line of
 * counts. Values print as JSON, so "1.10" and 1.1 never look alike.
 */
import type { ApplyResult, ServiceChange } from '@minga/node/api'

const MARK: Record<ServiceChange['action'], string> = { create: '+', update: '~', remove: '-', unchanged: ' ' }

/** the plan as text (see above); `verbose` also lists unchanged services */
export function renderPlan (result: ApplyResult, options: { verbose?: boolean } = {}): string {
  const lines: string[] = []
  for (const change of result.changes) {
    if (change.action === 'unchanged' && options.verbose !== true) continue
    const what = change.action === 'update'
      ? `update${change.restarts ? ': containers replaced, one replica at a time' : ': no container restarts'}`
      : change.action
    lines.push(`${MARK[change.action]} service ${change.service} (${what})`)
    for (const field of change.fields) {
      if (change.action === 'remove') continue
      const from = field.from === undefined ? undefined : JSON.stringify(field.from)
      const to = field.to === undefined ? undefined : JSON.stringify(field.to)
      if (from === undefined) lines.push(`    + ${field.path}: ${to!}`)
      else if (to === undefined) lines.push(`    - ${field.path}: ${from}`)
      else lines.push(`    ~ ${field.path}: ${from} => ${to}`)
    }
    for (const secret of change.secrets ?? []) lines.push(`    ~ secret ${secret}: (new value)`)
  }
  if (lines.length > 0) lines.push('')
  lines.push(summary(result))
  return lines.join('\n')
}

/** `Plan: 1 to create, 2 to update, 0 to remove, 4 unchanged.` */
export function summary (result: ApplyResult): string {
  const count = (action: ServiceChange['action']): number => result.changes.filter(c => c.action === action).length
  const verb = result.dryRun ? 'Plan' : 'Applied'
  const to = result.dryRun ? 'to ' : ''
  return `${verb}: ${count('create')} ${to}create, ${count('update')} ${to}update, ${count('remove')} ${to}remove, ${count('unchanged')} unchanged.`
}

/** does applying change anything */
export function changesAnything (result: ApplyResult): boolean {
  return result.changes.some(c => c.action !== 'unchanged' || (c.secrets ?? []).length > 0)
}
