/**
 * Reading a spec file's YAML within bounded time and memory. The `yaml`
 * library recurses once per nesting level, spends microseconds per token,
 * checks duplicate keys in quadratic time and expands aliases, so the file's
 * size, depth and token count are checked on the raw text and the lexer's
 * tokens before it parses, duplicates are found here in linear time, and
 * alias expansion is capped.
 */
import { messageOf } from './errors.js'
import type { Document, LineCounter } from 'yaml'
import { yaml } from './yaml-lib.js'
import { isPlainObject } from './spec-rules.js'

export const SPEC_FILE_LIMITS = {
  /** refused before parsing */
  maxFileBytes: 256 * 1024,
  maxServices: 100,
  /** YAML alias expansions: a billion-laughs file stops here */
  maxAliases: 100,
  /** nesting of YAML collections, checked on tokens before the parser (which recurses) sees them */
  maxDepth: 32,
  /** YAML tokens (scalars, indicators, spaces, line ends), also counted before parsing: bounds its time */
  maxTokens: 100_000
} as const

const YAML_OPTIONS = {
  prettyErrors: false,
  // !!binary, !!set, !!timestamp… would produce Buffers, Sets and Dates
  resolveKnownTags: false,
  logLevel: 'silent',
  // the library's own duplicate check is quadratic (20,000 keys take seconds); duplicateKeys() is linear
  uniqueKeys: false,
  merge: false
} as const

/** a lazily read view of the same YAML in which every scalar is its written text */
export type Texts = () => unknown

/**
 * The single YAML document in `text` as plain values, plus a lazily read
 * view of it in which every scalar is its written text; or the problems
 * that stop it from being read.
 */
export function readSpecYaml (text: string): { value: unknown, texts: Texts } | string[] {
  if (typeof text !== 'string') return ['the spec must be text']
  const problem = yamlLimitProblem(text)
  return problem === undefined ? readYaml(text) : [problem]
}

/**
 * Why `text` is too big, too deep or too long to parse within bounded time
 * and memory, checked before any parser sees it; undefined when it is fine.
 * Other YAML readers (Compose files) apply the same bounds
 */
export function yamlLimitProblem (text: string): string | undefined {
  if (text.length > SPEC_FILE_LIMITS.maxFileBytes || Buffer.byteLength(text) > SPEC_FILE_LIMITS.maxFileBytes) {
    return `the file is ${Math.ceil(Buffer.byteLength(text) / 1024)} KiB; a spec file holds at most ${SPEC_FILE_LIMITS.maxFileBytes / 1024} KiB (split it into several files)`
  }
  const shape = measureYaml(text)
  if (shape.depth > SPEC_FILE_LIMITS.maxDepth) return `the YAML is nested more than ${SPEC_FILE_LIMITS.maxDepth} levels deep (a service spec needs far fewer)`
  if (shape.tokens > SPEC_FILE_LIMITS.maxTokens) return `the YAML has more than ${SPEC_FILE_LIMITS.maxTokens} tokens (split it into several files)`
  return undefined
}

function readYaml (text: string): { value: unknown, texts: Texts } | string[] {
  const lineCounter = new (yaml().LineCounter)()
  let value: unknown
  try {
    const docs = yaml().parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter })
    if (docs.length === 0) return ['the file is empty: write a service (name:, image:, …), a services: mapping, or a list of services']
    if (docs.length > 1) return [`the file holds ${docs.length} YAML documents (---); put several services under "services:" or in a list instead`]
    const doc = docs[0]
    if (doc.errors.length > 0) {
      return doc.errors.slice(0, 10).map(err => {
        const { line, col } = lineCounter.linePos(err.pos[0])
        return `line ${line}:${col}: ${messageOf(err)}`
      })
    }
    const duplicates = duplicateKeys(doc, lineCounter)
    if (duplicates.length > 0) return duplicates.slice(0, 10)
    value = doc.toJS({ maxAliasCount: SPEC_FILE_LIMITS.maxAliases })
  } catch (err) {
    if (/alias count/i.test(messageOf(err))) return [`the file expands YAML aliases (*name) more than ${SPEC_FILE_LIMITS.maxAliases} times; write the values out instead`]
    return [`the file could not be read as YAML (${messageOf(err).slice(0, 200)})`]
  }
  let texts: unknown
  let read = false
  return {
    value,
    texts: () => {
      if (!read) {
        read = true
        try {
          texts = yaml().parseDocument(text, { ...YAML_OPTIONS, schema: 'failsafe' }).toJS({ maxAliasCount: SPEC_FILE_LIMITS.maxAliases })
        } catch {
          texts = undefined
        }
      }
      return texts
    }
  }
}

/**
 * An upper bound on how deeply the YAML nests, and its number of tokens,
 * from the lexer alone (a few thousand levels make the parser take seconds,
 * or exhaust the stack and then crash V8's regexp compiler). Stops once
 * past either limit.
 */
function measureYaml (text: string): { depth: number, tokens: number } {
  const { maxDepth, maxTokens } = SPEC_FILE_LIMITS
  const indents: number[] = []
  let tokens = 0
  let flow = 0
  let indicators = 0
  let indent = 0
  let lineStart = true
  let max = 0
  for (const token of new (yaml().Lexer)().lex(text)) {
    if (++tokens > maxTokens) break
    if (token === '\n' || token === '\r\n') {
      lineStart = true
      indent = 0
      indicators = 0
      continue
    }
    if (lineStart && token.trim() === '' && token.length > 0) {
      indent += token.length
      continue
    }
    if (lineStart) {
      lineStart = false
      if (token[0] !== '#' && flow === 0) {
        while (indents.length > 0 && indents[indents.length - 1] >= indent) indents.pop()
        indents.push(indent)
      }
    }
    if (token === '[' || token === '{') flow++
    else if (token === ']' || token === '}') flow = Math.max(0, flow - 1)
    else if ((token === '-' || token === '?' || token === ':') && flow === 0) indicators++
    max = Math.max(max, flow + indents.length + indicators)
    if (max > maxDepth) break
    if (token.length > 1 && token.endsWith('\n')) {
      lineStart = true
      indent = 0
      indicators = 0
    }
  }
  return { depth: max, tokens }
}

/** every key that appears twice in one mapping, as `line:col` problems; linear in the size of the document */
export function duplicateKeys (doc: Document, lineCounter: LineCounter): string[] {
  const problems: string[] = []
  const { isNode, isScalar, visit } = yaml()
  visit(doc, {
    Map (_, map) {
      const seen = new Set<string>()
      for (const pair of map.items) {
        const key = pair.key as unknown
        const name = isScalar(key) ? String(key.value) : String(key)
        if (seen.has(name)) {
          const { line, col } = lineCounter.linePos(isNode(key) && key.range !== undefined && key.range !== null ? key.range[0] : 0)
          problems.push(`line ${line}:${col}: the key ${JSON.stringify(name.slice(0, 60))} appears twice in one mapping`)
        }
        seen.add(name)
      }
    }
  })
  return problems
}

/** an own field, with null read as absent */
export function own (value: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(value, key) && value[key] !== null ? value[key] : undefined
}

/** the written texts under one key or index of a mapping or list, for error messages */
export function child (texts: Texts, key: string | number): Texts {
  return () => {
    const parent = texts()
    if (Array.isArray(parent) && typeof key === 'number') return parent[key]
    return isPlainObject(parent) && typeof key === 'string' ? own(parent, key) : undefined
  }
}

/** a scalar as the string it was written as; anything else as it is */
export function scalarText (value: unknown, texts: Texts): unknown {
  if (typeof value !== 'number' && typeof value !== 'boolean') return value
  const written = texts()
  return typeof written === 'string' ? written : String(value)
}
