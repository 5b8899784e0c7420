/**
 * Environment files as Docker Compose reads them (`.env` beside the Compose
 * file, `--env-file`, a service's `env_file:`), after
 * docs.docker.com/compose/how-tos/environment-variables/variable-interpolation:
 *
 * - `KEY=value`, optionally after `export `; blank lines and lines starting with `#` are skipped
 * - unquoted values end at ` #` (a comment) and lose surrounding blanks
 * - `"double quoted"` values may span lines and know `\n`, `\r`, `\t`, `\\`, `\"` and `\$`
 * - `'single quoted'` values are literal (`\'` is a quote) and may span lines
 * - unquoted and double-quoted values are interpolated (interpolate.ts), with
 *   `lookup` first and the file's earlier keys after it
 * - a bare `KEY` takes KEY's value from `lookup`, if it has one
 */
import { InterpolationError, interpolate, type Lookup } from './interpolate.js'

/** an env file that breaks the .env syntax; the message names the line */
export class EnvFileError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'EnvFileError'
  }
}

const KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/

/** the variables of an env file, in order; throws EnvFileError naming the line of a problem */
export function parseEnvFile (text: string, lookup: Lookup = () => undefined, unset: Set<string> = new Set()): Map<string, string> {
  const vars = new Map<string, string>()
  const resolve: Lookup = (name) => lookup(name) ?? vars.get(name)
  const lines = text.replace(/\r\n?/g, '\n').split('\n')
  for (let n = 0; n < lines.length; n++) {
    const lineNumber = n + 1
    const line = lines[n].trimStart()
    if (line === '' || line.startsWith('#')) continue
    const body = line.startsWith('export ') ? line.slice(7).trimStart() : line
    const eq = body.indexOf('=')
    const key = (eq < 0 ? body : body.slice(0, eq)).trim()
    if (!KEY_PATTERN.test(key)) throw new EnvFileError(`line ${lineNumber}: ${JSON.stringify(key.slice(0, 40))} is not a variable name; write NAME=value`)
    if (eq < 0) {
      const inherited = lookup(key)
      if (inherited !== undefined) vars.set(key, inherited)
      continue
    }
    let rest = body.slice(eq + 1).trimStart()
    const quote = rest[0]
    if (quote === '"' || quote === "'") {
      // the value may run over several lines, up to the closing quote
      let raw = ''
      let i = 1
      let closed = false
      for (;;) {
        for (; i < rest.length; i++) {
          const ch = rest[i]
          if (ch === '\\' && i + 1 < rest.length) {
            raw += ch + rest[i + 1]
            i++
          } else if (ch === quote) {
            closed = true
            break
          } else {
            raw += ch
          }
        }
        if (closed || n + 1 >= lines.length) break
        raw += '\n'
        rest = lines[++n]
        i = 0
      }
      if (!closed) throw new EnvFileError(`line ${lineNumber}: the value of ${key} has no closing ${quote}`)
      const after = rest.slice(i + 1).trim()
      if (after !== '' && !after.startsWith('#')) throw new EnvFileError(`line ${n + 1}: unexpected ${JSON.stringify(after.slice(0, 20))} after the closing quote of ${key}`)
      vars.set(key, quote === "'" ? raw.replace(/\\'/g, "'") : expand(unescape(raw), resolve, lineNumber, unset))
    } else {
      const comment = rest.search(/\s#/)
      const value = (comment < 0 ? rest : rest.slice(0, comment)).trim()
      vars.set(key, expand(value, resolve, lineNumber, unset))
    }
  }
  return vars
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', $: '$$' }

/** double-quote escapes; `\$` becomes `$$`, which interpolation turns into a literal `$` */
function unescape (raw: string): string {
  return raw.replace(/\\(.)/g, (match, ch: string) => ESCAPES[ch] ?? match)
}

function expand (value: string, lookup: Lookup, line: number, unset: Set<string>): string {
  try {
    const result = interpolate(value, lookup)
    for (const name of result.unset) unset.add(name)
    return result.value
  } catch (err) {
    if (err instanceof InterpolationError) throw new EnvFileError(`line ${line}: ${err.message}`)
    throw err
  }
}
