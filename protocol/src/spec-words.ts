/**
 * A command line written as one string, split into words the way Docker
 * Compose splits `command:` and `entrypoint:` strings (go-shellwords, no
 * shell runs): blanks separate words; '…' keeps everything literally; "…"
 * keeps blanks, and a backslash in it or outside quotes takes the next
 * character literally; `''` and `""` are empty words. Nothing is expanded.
 *
 * Where go-shellwords silently stops at an unquoted `;`, `&`, `|`, `<` or
 * `>` (the rest of the line is dropped), this refuses the line instead: such
 * a line was meant for a shell, which only `sh -c` runs.
 */

export type Words = { words: string[] } | { error: string }

const BLANK = /[ \t\r\n]/
const SHELL_OPERATORS = new Set([';', '&', '|', '<', '>'])

/** `{ words }` of a command line split as Compose splits it (above), or `{ error }` saying why it cannot be: an unclosed quote, a shell operator */
export function splitWords (line: string): Words {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  let escaped = false
  for (const ch of line) {
    if (escaped) {
      word += ch
      escaped = false
      continue
    }
    if (quote === "'") {
      if (ch === "'") quote = undefined
      else word += ch
      continue
    }
    if (ch === '\\') {
      escaped = true
      inWord = true
      continue
    }
    if (quote === '"') {
      if (ch === '"') quote = undefined
      else word += ch
      continue
    }
    if (ch === '"' || ch === "'") {
      quote = ch
      inWord = true
    } else if (BLANK.test(ch)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else if (SHELL_OPERATORS.has(ch)) {
      return { error: `uses the shell operator ${JSON.stringify(ch)}, but no shell runs it; quote it, or write the command as ["sh", "-c", "…"]` }
    } else {
      word += ch
      inWord = true
    }
  }
  if (quote !== undefined) return { error: `has an unclosed ${quote} quote` }
  if (escaped) return { error: 'ends with a lone backslash' }
  if (inWord) words.push(word)
  return { words }
}
