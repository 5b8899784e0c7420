/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, finite
 * numbers only. The same value gives the same bytes on every machine, which
 * is what signatures and digests need.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/**
 * The canonical JSON text of a value: keys sorted, no whitespace, undefined fields left out.
 * Throws TypeError for a non-finite number or a value JSON cannot carry (a function, a bigint)
 */
export function canonicalJson (value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('Numbers must be finite to be signed')
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'object':
      if (value === null) return 'null'
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
      return canonicalObject(value as Record<string, unknown>)
    default:
      throw new TypeError(`Cannot sign a value of type ${typeof value}`)
  }
}

function canonicalObject (value: Record<string, unknown>): string {
  const keys = Object.keys(value).filter(key => value[key] !== undefined).sort()
  return `{${keys.map(key => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`
}
