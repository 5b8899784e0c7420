/**
 * The examples of README.md, as a test reads them: its code blocks (indented
 * or fenced) under their headings, the verb table's examples, and every
 * command line among them. The README tests run these texts, so an example
 * that stops working, or a new one that no test runs, fails the suite.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const README = fileURLToPath(new URL('../../../README.md', import.meta.url))

export interface CodeBlock {
  /** the `##` heading the block sits under */
  heading: string
  /** `yaml` for a fenced yaml block, '' for an indented one */
  lang: string
  lines: string[]
}

export interface ReadmeExamples {
  blocks: CodeBlock[]
  /** the verb table: verb → its example */
  verbs: Map<string, string>
  /** every command line of the code blocks (a leading `$ ` and trailing `# comment` removed) and every verb example */
  commands: string[]
}

/** a command line: minga, or a shell command the README asks to run (optionally after `cd DIR &&`) */
const COMMAND = /^(cd \S+ && )?(minga|bash|npm|export|node_modules\/\.bin\/minga|printf)\b/

/** the README's code blocks (under their headings), its verb table and every command line in them */
export function readmeExamples (text = readFileSync(README, 'utf8')): ReadmeExamples {
  const blocks: CodeBlock[] = []
  const verbs = new Map<string, string>()
  let heading = ''
  let fence: CodeBlock | undefined
  let indented: CodeBlock | undefined
  let previousBlank = true
  for (const line of text.split('\n')) {
    if (fence !== undefined) {
      if (line.startsWith('```')) { blocks.push(fence); fence = undefined } else fence.lines.push(line)
      continue
    }
    if (line.startsWith('```')) { fence = { heading, lang: line.slice(3).trim(), lines: [] }; continue }
    if (line.startsWith('    ') && (indented !== undefined || previousBlank)) {
      indented ??= { heading, lang: '', lines: [] }
      indented.lines.push(line.slice(4))
      previousBlank = false
      continue
    }
    if (indented !== undefined && line.trim() !== '') { blocks.push(trimBlock(indented)); indented = undefined }
    if (indented !== undefined) { indented.lines.push(''); continue }
    if (line.startsWith('## ')) heading = line.slice(3).trim()
    const row = /^\| `([a-z][a-z-]*(?: [a-z-]+)*)` \| `([^`]+)` \|/.exec(line)
    // a pipe inside a table cell is written \\|
    if (row !== null) verbs.set(row[1], row[2].replace(/\\\|/g, '|'))
    previousBlank = line.trim() === ''
  }
  if (indented !== undefined) blocks.push(trimBlock(indented))
  const commands: string[] = []
  for (const block of blocks) {
    if (block.lang !== '') continue
    for (const raw of block.lines) {
      const line = commandOf(raw)
      if (line !== undefined) commands.push(line)
    }
  }
  commands.push(...verbs.values())
  return { blocks, verbs, commands }
}

/** the command on a code line, without a `$ ` prompt or a trailing `# comment`; undefined for output and comments */
export function commandOf (raw: string): string | undefined {
  const line = raw.replace(/^\$ /, '').replace(/\s+#\s.*$/, '').trim()
  return COMMAND.test(line) || line.startsWith('minga ') ? line : undefined
}

function trimBlock (block: CodeBlock): CodeBlock {
  while (block.lines.at(-1) === '') block.lines.pop()
  return block
}

/** the indented block under `heading` whose lines include `marker` */
export function blockWith (examples: ReadmeExamples, marker: string): CodeBlock {
  const block = examples.blocks.find(b => b.lines.some(l => l.includes(marker)))
  if (block === undefined) throw new Error(`README.md has no code block with "${marker}" any more; update the README test`)
  return block
}
