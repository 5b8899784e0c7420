/**
 * Reading a Compose file's YAML as Compose does: YAML merge keys
 * (`<<: *default`, by the `yaml` library's own support), and every scalar
 * as the text it was written as — Compose interpolates strings first and
 * converts a field to a number or a boolean afterwards, where its schema
 * says so (`replicas: ${N:-2}`, `VERSION: 1.10` stays "1.10"). Null stays
 * null. Size, nesting, tokens and alias expansion are bounded as for minga
 * spec files.
 */
import { LineCounter, parseAllDocuments, visit } from 'yaml'
import { messageOf, SPEC_FILE_LIMITS, duplicateKeys, yamlLimitProblem } from '@minga/protocol'

const OPTIONS = {
  prettyErrors: false,
  // !!binary, !!set, !!timestamp… would produce Buffers, Sets and Dates
  resolveKnownTags: false,
  logLevel: 'silent',
  uniqueKeys: false,
  merge: true
} as const

/** the document, or the problems that stop it from being read */
export function readComposeYaml (text: string): { value: unknown } | { problems: string[] } {
  const limit = yamlLimitProblem(text)
  if (limit !== undefined) return { problems: [limit] }
  const lineCounter = new LineCounter()
  try {
    const docs = parseAllDocuments(text, { ...OPTIONS, lineCounter })
    if (docs.length === 0) return { problems: ['the file is empty: a Compose file has a services: mapping'] }
    if (docs.length > 1) return { problems: [`the file holds ${docs.length} YAML documents (---); a Compose file is one document`] }
    const doc = docs[0]
    if (doc.errors.length > 0) {
      return {
        problems: doc.errors.slice(0, 10).map(err => {
          const { line, col } = lineCounter.linePos(err.pos[0])
          return `line ${line}:${col}: ${messageOf(err).split('\n')[0]}`
        })
      }
    }
    const duplicates = duplicateKeys(doc, lineCounter)
    if (duplicates.length > 0) return { problems: duplicates.slice(0, 10) }
    visit(doc, {
      Scalar (key, node) {
        // keys are left as they are: YAML turns them into strings anyway
        if (key === 'key') return
        if (typeof node.value === 'number' || typeof node.value === 'boolean') node.value = node.source ?? String(node.value)
      }
    })
    return { value: doc.toJS({ maxAliasCount: SPEC_FILE_LIMITS.maxAliases }) }
  } catch (err) {
    if (/merge sources/i.test(messageOf(err))) return { problems: ['a merge key (<<) takes a mapping or a list of mappings, like <<: *default'] }
    if (/alias count/i.test(messageOf(err))) return { problems: [`the file expands YAML aliases (*name) more than ${SPEC_FILE_LIMITS.maxAliases} times; write the values out instead`] }
    return { problems: [`the file could not be read as YAML (${messageOf(err).slice(0, 200)})`] }
  }
}
