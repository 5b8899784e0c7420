/**
 * Human units in spec files: cpu in cores (`0.5`, `2`) or millicores
 * (`500m`); memory in bytes, binary (`64Mi`, `1Gi`) or decimal (`512M`,
 * `1G`) sizes. Each returns NaN for anything else, so the caller reports the
 * value as written. Durations have their own module (duration.ts).
 */

/** millicores, or NaN when `raw` is not a cpu amount */
export function parseCpu (raw: unknown): number {
  let millicores = NaN
  if (typeof raw === 'number') {
    millicores = raw * 1000
  } else if (typeof raw === 'string' && raw.length <= 32) {
    const match = /^(\d+(?:\.\d+)?|\.\d+)(m?)$/.exec(raw.trim())
    if (match !== null) millicores = match[2] === 'm' ? Number(match[1]) : Number(match[1]) * 1000
  }
  return wholeOrNaN(millicores)
}

const MEMORY_UNITS: Record<string, number> = {
  '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40
}

/** bytes, or NaN when `raw` is not a memory size */
export function parseMemory (raw: unknown): number {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : NaN
  if (typeof raw !== 'string' || raw.length > 32) return NaN
  const match = /^(\d+(?:\.\d+)?)\s*(k|K|Ki|M|Mi|G|Gi|T|Ti)?$/.exec(raw.trim())
  return match === null ? NaN : Math.round(Number(match[1]) * MEMORY_UNITS[match[2] ?? ''])
}

function wholeOrNaN (value: number): number {
  const whole = Math.round(value)
  return Math.abs(whole - value) < 1e-6 ? whole : NaN
}
