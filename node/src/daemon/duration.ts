import { parseDuration } from '@minga/protocol'
import { BadRequestError } from '../errors.js'

/** `90s`, `10m`, `24h`, `1h30m`, or a number of ms → ms, or a clear error */
export function parseDurationMs (text: unknown): number {
  if (typeof text === 'number' && Number.isFinite(text) && text > 0) return text
  const ms = parseDuration(text)
  if (!(ms > 0)) throw new BadRequestError(`"${String(text)}" is not a duration; use e.g. 90s, 10m, 24h or 1h30m`)
  return ms
}
