/**
 * minga's one duration grammar, for every flag, spec field and scenario
 * file: one or more `<number><unit>` parts with the units `ms`, `s`, `m`,
 * `h` and `d` (`500ms`, `90s`, `10m`, `1h30m`, `1.5h`, `7d`), as Go's
 * `time.ParseDuration` reads them (plus days); a bare `0` is zero.
 * A field says what it allows with a `DurationRule` (range and
 * resolution), and its error message shows only examples the rule accepts.
 *
 * @example
 * ```ts
 * parseDuration('1h30m')                                // 5_400_000
 * parseDuration('500ms', { step: 1000 })                // NaN: whole seconds only
 * readDuration('abc', '--timeout', { min: 1000 })       // throws InvalidDurationError
 * durationText(5_400_000)                               // '1h30m'
 * ```
 */
import { MingaError } from './errors.js'

/** a duration text outside the grammar or its field's rule; the message says what is allowed */
export class InvalidDurationError extends MingaError {}

export interface DurationRule {
  /** smallest value allowed, in ms (default 0) */
  min?: number
  /** largest value allowed, in ms (default 10 years) */
  max?: number
  /**
   * the field's resolution in ms: values must be whole multiples of it.
   * 1 (default) takes whole milliseconds, 1000 whole seconds (`500ms` is
   * refused), 0 any fraction (`0.2ms`, e.g. a modelled network latency)
   */
  step?: number
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const PART = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)/y
const MAX_TEXT = 32
const DEFAULT_MAX = 10 * 365 * 86_400_000
/** candidate examples for error messages, shortest first; each message shows those its rule accepts */
const EXAMPLES = ['0.5ms', '500ms', '5s', '90s', '10m', '1h30m', '24h', '7d', '30d', '365d']

/**
 * Milliseconds, or NaN when `raw` is not a duration this rule accepts.
 * Takes text, or the number 0 (YAML's bare `0`); any other number is NaN
 * because a unit-less number is ambiguous (write `250ms`, `5s`)
 */
export function parseDuration (raw: unknown, rule: DurationRule = {}): number {
  const ms = parseText(raw)
  if (ms === undefined || !fits(ms, rule)) return NaN
  const step = rule.step ?? 1
  // 1.1s is 1100 ms, not 1100.0000000000002
  return step === 0 ? ms : Math.round(ms / step) * step
}

/**
 * Milliseconds, or an `InvalidDurationError` naming the field (`what`),
 * what was written, and examples that this rule accepts
 */
export function readDuration (raw: unknown, what: string, rule: DurationRule = {}): number {
  const ms = parseDuration(raw, rule)
  if (Number.isNaN(ms)) throw new InvalidDurationError(`${what} ${durationRuleText(rule)}, not ${JSON.stringify(typeof raw === 'string' ? raw.slice(0, MAX_TEXT) : raw) ?? 'nothing'}`)
  return ms
}

/** `must be a duration like 5s, 90s or 10m, from 1s to 1h` for this rule: every example given is valid */
export function durationRuleText (rule: DurationRule = {}): string {
  const examples = durationExamples(rule)
  const like = examples.length === 0 ? '' : ` like ${examples.length === 1 ? examples[0] : `${examples.slice(0, -1).join(', ')} or ${examples.at(-1)!}`}`
  const min = rule.min ?? 0
  const max = rule.max ?? DEFAULT_MAX
  const range = min > 0 && max < DEFAULT_MAX
    ? `, from ${durationText(min)} to ${durationText(max)}`
    : min > 0
      ? `, at least ${durationText(min)}`
      : max < DEFAULT_MAX ? `, at most ${durationText(max)}` : ''
  const whole = (rule.step ?? 1) >= 1000 ? ` in whole ${(rule.step ?? 1) === 1000 ? 'seconds' : `steps of ${durationText(rule.step!)}`}` : ''
  return `must be a duration${like}${range}${whole}`
}

/** up to three examples this rule accepts, from the shortest up */
export function durationExamples (rule: DurationRule = {}): string[] {
  const valid = EXAMPLES.filter(e => !Number.isNaN(parseDuration(e, rule)))
  if (valid.length === 0) {
    // no round example fits: the smallest value the rule takes
    const step = rule.step ?? 1
    return [durationText(step === 0 ? rule.min ?? 0 : Math.ceil((rule.min ?? 0) / step) * step)]
  }
  if (valid.length <= 3) return valid
  // skip the sub-millisecond one unless the field is about such times
  const usual = valid[0] === '0.5ms' && (rule.max ?? DEFAULT_MAX) > 1000 ? valid.slice(1) : valid
  return [usual[0], usual[Math.floor(usual.length / 2)], usual.at(-1)!].filter((e, i, all) => all.indexOf(e) === i)
}

/** the shortest text of the grammar for `ms`: `1h30m`, `500ms`, `0` */
export function durationText (ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return String(ms)
  if (ms === 0) return '0s'
  let rest = ms
  let out = ''
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const n = Math.floor(rest / UNITS[unit])
    if (n > 0) { out += `${n}${unit}`; rest -= n * UNITS[unit] }
  }
  if (rest > 0) out += `${Math.round(rest * 1000) / 1000}ms`
  return out
}

function parseText (raw: unknown): number | undefined {
  if (raw === 0 || raw === '0') return 0
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_TEXT) return undefined
  let total = 0
  PART.lastIndex = 0
  while (PART.lastIndex < raw.length) {
    const start = PART.lastIndex
    const match = PART.exec(raw)
    if (match === null || match.index !== start) return undefined
    total += Number(match[1]) * UNITS[match[2]]
  }
  return total
}

function fits (ms: number, rule: DurationRule): boolean {
  if (!Number.isFinite(ms) || ms < (rule.min ?? 0) || ms > (rule.max ?? DEFAULT_MAX)) return false
  const step = rule.step ?? 1
  if (step === 0) return true
  const steps = ms / step
  return Math.abs(steps - Math.round(steps)) < 1e-6
}

const DAY = 86_400_000

/** the rules of minga's own duration flags, shared by the CLI (which checks before it asks) and the node */
export const DURATION_RULES = {
  /** `minga invite --ttl` */
  inviteTtl: { min: 1000, max: 365 * DAY },
  /** `--timeout` of the verbs that wait (`deploy --wait`, `drain`) */
  wait: { min: 1000, max: 7 * DAY },
  /** `--since` of `logs` and `events`: how far back */
  since: { min: 1, max: 365 * DAY }
} as const satisfies Record<string, DurationRule>
