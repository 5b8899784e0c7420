/** human output: aligned tables, short ids, sizes and ages */

export function table (headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i])).join('  ').trimEnd()
  return [line(headers), ...rows.map(line)].join('\n')
}

/** the last 8 characters of a peer id: unique enough to read, and accepted wherever a node is named */
export function shortId (id: string | null | undefined): string {
  return id === null || id === undefined ? '-' : id.slice(-8)
}

/** bytes as `512Mi`, `1.5Gi`; `-` when unknown */
export function bytes (n: number | undefined): string {
  if (n === undefined) return '-'
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti']
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)}${units[unit]}`
}

/** millicores as `500m` or `2`; `-` when unknown */
export function cpu (millicores: number | undefined): string {
  if (millicores === undefined) return '-'
  return millicores % 1000 === 0 ? String(millicores / 1000) : `${millicores}m`
}

/** ms as `850ms`, `3.2s`, `5m`, `2h`; `-` when unknown */
export function age (ms: number | undefined): string {
  if (ms === undefined) return '-'
  if (ms < 1000) return `${ms}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`
  return `${Math.round(ms / 3_600_000)}h`
}
