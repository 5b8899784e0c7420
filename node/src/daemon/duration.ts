import { InvalidDurationError, readDuration, type DurationRule } from '@minga/protocol'
import { BadRequestError } from '../errors.js'

/** a duration of the one grammar (protocol's duration.ts) in a request, or a BadRequestError that says what is allowed */
export function requestDuration (text: unknown, what: string, rule: DurationRule = {}): number {
  try {
    return readDuration(text, what, rule)
  } catch (err) {
    if (err instanceof InvalidDurationError) throw new BadRequestError(err.message)
    throw err
  }
}
