import { CliError, EXIT } from './errors.js'

/** a duration flag in the one grammar (protocol's duration.ts), e.g. `--timeout 1h30m`; a bad one exits 2 with valid examples */
export async function durationFlag (value: string, flag: string, rule: 'wait' | 'inviteTtl' | 'since'): Promise<number> {
  const { DURATION_RULES, InvalidDurationError, readDuration } = await import('@minga/protocol')
  try {
    return readDuration(value, flag, DURATION_RULES[rule])
  } catch (err) {
    if (err instanceof InvalidDurationError) throw new CliError(err.message, EXIT.usage)
    throw err
  }
}
