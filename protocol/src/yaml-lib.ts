/**
 * The `yaml` library, loaded at its first use. A running node rarely reads
 * a spec file (the CLI parses them; a node does for git sources), and the
 * library is ~70 CommonJS modules: loaded eagerly, an idle node held them
 * for nothing (issue 14, bench/mesh-idle-rss.mjs). `require` keeps the
 * callers synchronous; it resolves the same file an `import` would
 * (the package's `node` condition, dist/index.js).
 */
import { createRequire } from 'node:module'
import type * as Yaml from 'yaml'

const require = createRequire(import.meta.url)
let loaded: typeof Yaml | undefined

/** the `yaml` module (`parseDocument`, `stringify`, `Lexer`…), loaded on the first call */
export function yaml (): typeof Yaml {
  loaded ??= require('yaml') as typeof Yaml
  return loaded
}
