/**
 * What changes between two specs of a service, field by field, as `minga
 * diff` and `minga apply --dry-run` show it (after `nomad job plan`): each
 * leaf that differs, at its path (`image`, `env.LOG_LEVEL`, `ports[0].host`),
 * with its value before and after. Whether the change restarts the
 * service's containers is `containerHash`'s answer, not this one's.
 */
import { canonicalJson, type Json } from './canonical.js'
import type { ServiceSpec } from './spec.js'

/** one field that differs: absent `from` means added, absent `to` removed */
export type FieldChange = { path: string, from?: Json, to?: Json }

/** every leaf that differs between `before` and `after`, in path order; [] when they are equal */
export function specChanges (before: ServiceSpec | undefined, after: ServiceSpec | undefined): FieldChange[] {
  const out: FieldChange[] = []
  walk('', before as unknown as Json | undefined, after as unknown as Json | undefined, out)
  return out.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
}

function walk (path: string, a: Json | undefined, b: Json | undefined, out: FieldChange[]): void {
  if (a === undefined && b === undefined) return
  if (isMap(a) && isMap(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) walk(path === '' ? key : `${path}.${key}`, a[key], b[key], out)
    return
  }
  // lists of scalars (a command) read best whole; lists of mappings item by item
  if (Array.isArray(a) && Array.isArray(b) && [...a, ...b].some(isMap)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) walk(`${path}[${i}]`, a[i], b[i], out)
    return
  }
  if (a !== undefined && b !== undefined && canonicalJson(a) === canonicalJson(b)) return
  if (isMap(a) && b === undefined) {
    for (const key of Object.keys(a)) walk(path === '' ? key : `${path}.${key}`, a[key], undefined, out)
    return
  }
  if (isMap(b) && a === undefined) {
    for (const key of Object.keys(b)) walk(path === '' ? key : `${path}.${key}`, undefined, b[key], out)
    return
  }
  out.push({ path, ...(a === undefined ? {} : { from: a }), ...(b === undefined ? {} : { to: b }) })
}

function isMap (value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
