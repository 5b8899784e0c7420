/**
 * Config files in a minga spec file: their content lives in files beside
 * the spec, named by `source`, and the caller that reads files (the CLI, a
 * node following git) hands the parser a reader. The parser stays pure:
 * without a reader, `configs:` is refused with what to do.
 *
 * ```yaml
 * configs:
 *   - { path: /etc/nginx/nginx.conf, source: web.files/nginx.conf, mode: "0444" }
 * ```
 */
import { createHash } from 'node:crypto'
import { CONFIG_CHUNK_BYTES, type ConfigFileSpec } from './spec.js'
import { checkConfigFile } from './spec-check-container.js'
import { parseMode } from './spec-parse-container.js'
import { Problems, at, checkFields, isPlainObject } from './spec-rules.js'
import { child, own, scalarText, type Texts } from './spec-yaml.js'

/**
 * reads the content of a config file named by `source` (relative to the
 * spec file); returns its bytes, or a problem (missing, too large, outside
 * the folder) as text
 */
export type ConfigReader = (source: string) => Uint8Array | string

/** a file's content in the chunks minga stores: sha256 digests (hex) in order, and the distinct chunks' bytes */
export function configChunks (content: Uint8Array): { digests: string[], chunks: Buffer[] } {
  const digests: string[] = []
  const chunks: Buffer[] = []
  const seen = new Set<string>()
  const bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength)
  for (let i = 0; i < bytes.length; i += CONFIG_CHUNK_BYTES) {
    const chunk = bytes.subarray(i, i + CONFIG_CHUNK_BYTES)
    const digest = createHash('sha256').update(chunk).digest('hex')
    digests.push(digest)
    if (!seen.has(digest)) { seen.add(digest); chunks.push(chunk) }
  }
  return { digests, chunks }
}

const CONFIG_FILE_FIELDS = new Set(['path', 'source', 'mode', 'uid', 'gid'])

/** one `configs:` item of a spec file (path, source, mode, uid, gid) to its stored form, its content read through `read` */
export function normalizeConfigFile (raw: unknown, texts: Texts, path: string, problems: Problems, read: ConfigReader): ConfigFileSpec | undefined {
  if (!isPlainObject(raw)) {
    problems.bad(path, 'must be a mapping with path and source (a file beside the spec), and optionally mode, uid and gid', raw)
    return undefined
  }
  if (!checkFields(raw, CONFIG_FILE_FIELDS, path, problems)) return undefined
  const source = scalarText(own(raw, 'source'), child(texts, 'source'))
  if (typeof source !== 'string' || source === '') {
    problems.bad(at(path, 'source'), 'must name a file beside the spec file', source)
    return undefined
  }
  const content = read(source)
  if (typeof content === 'string') {
    problems.add(at(path, 'source'), content)
    return undefined
  }
  const file: Record<string, unknown> = {
    path: own(raw, 'path'),
    size: content.byteLength,
    chunks: configChunks(content).digests,
    mode: own(raw, 'mode') === undefined ? 0o444 : parseMode(scalarText(own(raw, 'mode'), child(texts, 'mode')))
  }
  for (const id of ['uid', 'gid']) if (own(raw, id) !== undefined) file[id] = own(raw, id)
  const before = problems.size
  checkConfigFile(file, path, problems)
  return problems.size === before ? file as ConfigFileSpec : undefined
}
