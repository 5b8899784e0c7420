/**
 * Variable interpolation as the Compose specification defines it
 * (compose-spec, "Interpolation"; docs.docker.com/reference/compose-file/interpolation):
 *
 * - `$VAR` and `${VAR}`: the value of VAR; unset is an empty string, with a
 *   warning. A name is `[_a-zA-Z][_a-zA-Z0-9]*`.
 * - `${VAR:-default}` / `${VAR-default}`: default when VAR is unset or empty / unset
 * - `${VAR:?error}` / `${VAR?error}`: an error naming VAR when it is unset or empty / unset
 * - `${VAR:+replacement}` / `${VAR+replacement}`: replacement when VAR is set and non-empty / set, else empty
 * - the text after the operator is interpolated too, so they nest: `${A:-${B:-x}}`;
 *   it is only evaluated when used
 * - `$$` is a literal `$`; a `$` followed by anything else stays as it is
 * - any other braced form (`${VAR/a/b}`, `${}`, an unclosed `${`) is an error
 *
 * Values are interpolated, never mapping keys.
 */

export type Lookup = (name: string) => string | undefined

/** a `${...}` the Compose specification refuses, or a required variable (`${X:?why}`) that is unset */
export class InterpolationError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InterpolationError'
  }
}

const NAME_START = /[_a-zA-Z]/
const NAME_CHAR = /[_a-zA-Z0-9]/
const OPERATORS = [':-', ':?', ':+', '-', '?', '+'] as const
/** `${A:-${B:-…}}` nested deeper than this is refused: each level recurses */
const MAX_NESTING = 16

export interface Interpolated {
  value: string
  /** variables used without a value and without a default */
  unset: string[]
}

/** interpolate one string; throws InterpolationError for a required variable without a value or a malformed `${…}` */
export function interpolate (text: string, lookup: Lookup): Interpolated {
  const unset: string[] = []
  const value = new Scanner(text, lookup, unset).run()
  return { value, unset }
}

class Scanner {
  private i = 0
  private depth = 0

  constructor (private readonly text: string, private readonly lookup: Lookup, private readonly unset: string[]) {}

  /** the whole text, or (inside braces) up to the `}` that closes them */
  run (closing = false): string {
    let out = ''
    const { text } = this
    while (this.i < text.length) {
      const ch = text[this.i]
      if (closing && ch === '}') return out
      if (ch !== '$') {
        out += ch
        this.i++
        continue
      }
      const next = text[this.i + 1]
      if (next === '$') {
        out += '$'
        this.i += 2
      } else if (next === '{') {
        this.i += 2
        out += this.braced()
      } else if (next !== undefined && NAME_START.test(next)) {
        this.i++
        const name = this.name()
        out += this.valueOf(name)
      } else {
        out += '$'
        this.i++
      }
    }
    if (closing) throw new InterpolationError(`invalid interpolation: ${JSON.stringify(text)} has a "\${" without its closing "}"`)
    return out
  }

  private name (): string {
    const start = this.i
    while (this.i < this.text.length && NAME_CHAR.test(this.text[this.i])) this.i++
    return this.text.slice(start, this.i)
  }

  private valueOf (name: string): string {
    const value = this.lookup(name)
    if (value === undefined) {
      this.unset.push(name)
      return ''
    }
    return value
  }

  /** after `${`: a name, then `}` or an operator and its text */
  private braced (): string {
    const { text } = this
    if (!NAME_START.test(text[this.i] ?? '')) throw this.invalid()
    const name = this.name()
    if (text[this.i] === '}') {
      this.i++
      return this.valueOf(name)
    }
    const operator = OPERATORS.find(op => text.startsWith(op, this.i))
    if (operator === undefined) throw this.invalid()
    this.i += operator.length
    const value = this.lookup(name)
    const set = value !== undefined
    const nonEmpty = set && value !== ''
    const usable = operator.startsWith(':') ? nonEmpty : set
    // the operand is read either way (to find the closing brace), but only evaluated, with its errors and warnings, when used
    const start = this.i
    const used = operator.endsWith('+') ? usable : !usable
    if (used && ++this.depth > MAX_NESTING) throw new InterpolationError(`invalid interpolation: ${JSON.stringify(this.text.slice(0, 60))}… nests \${…} more than ${MAX_NESTING} deep`)
    const operand = used ? this.run(true) : this.skip(start)
    if (used) this.depth--
    this.i++
    if (operator.endsWith('-')) return usable ? value as string : operand
    if (operator.endsWith('+')) return usable ? operand : ''
    if (!usable) {
      const reason = operand === '' ? '' : `: ${operand}`
      throw new InterpolationError(`required variable ${name} is missing a value${reason}`)
    }
    return value as string
  }

  /** move past an operand without evaluating it: to its closing brace, minding nested `${…}` and `$$` */
  private skip (start: number): string {
    const { text } = this
    let depth = 0
    this.i = start
    while (this.i < text.length) {
      const ch = text[this.i]
      if (ch === '$' && (text[this.i + 1] === '$' || text[this.i + 1] === '{')) {
        if (text[this.i + 1] === '{') depth++
        this.i += 2
        continue
      }
      if (ch === '}') {
        if (depth === 0) return ''
        depth--
      }
      this.i++
    }
    throw new InterpolationError(`invalid interpolation: ${JSON.stringify(text)} has a "\${" without its closing "}"`)
  }

  private invalid (): InterpolationError {
    return new InterpolationError(`invalid interpolation format in ${JSON.stringify(this.text)}: use $VAR, \${VAR}, \${VAR:-default}, \${VAR-default}, \${VAR:?error}, \${VAR?error}, \${VAR:+alt} or \${VAR+alt}, and $$ for a literal $`)
  }
}

/**
 * Interpolate every string value of a parsed document (mapping keys stay as
 * written). A problem is `path: message`; variables without a value are
 * collected in `unset`
 */
export function interpolateTree (value: unknown, lookup: Lookup, problems: string[], unset: Set<string>, path = ''): unknown {
  if (typeof value === 'string') {
    try {
      const result = interpolate(value, lookup)
      for (const name of result.unset) unset.add(name)
      return result.value
    } catch (err) {
      if (err instanceof InterpolationError) {
        problems.push(`${path === '' ? 'the file' : path}: ${err.message}`)
        return value
      }
      throw err
    }
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolateTree(item, lookup, problems, unset, `${path}[${i}]`))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(out, key, { value: interpolateTree(item, lookup, problems, unset, path === '' ? key : `${path}.${key}`), enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  return value
}
