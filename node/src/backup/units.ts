/** sizes in words an operator reads and writes: `20GiB`, `512MiB`, `1.5GB` */
import { parseMemory } from '@minga/protocol'

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** `1.5GiB`, `512MiB`, `800B` */
export function formatBytes (n: number): string {
  let value = n
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) { value /= 1024; unit++ }
  return `${unit === 0 || value >= 10 ? Math.round(value) : Number(value.toFixed(1))}${UNITS[unit]}`
}

/**
 * bytes of a size written `20GiB`, `20Gi`, `500MB`, `1T` or `1048576`;
 * NaN for anything else, so the caller reports the value as written
 */
export function parseSize (raw: string): number {
  const trimmed = raw.trim()
  return parseMemory(/[kKMGT]i?B$/.test(trimmed) ? trimmed.slice(0, -1) : trimmed)
}
