/**
 * @packageDocumentation
 *
 * Docker Compose → minga. `parseComposeFile` reads a Compose file and
 * returns minga service specs, validated exactly as a minga spec file is.
 * What minga cannot honour (a `build:`, a bind mount of a host path, host
 * networking) is an error that says what to do; what it safely ignores
 * (`networks`, `depends_on`, `container_name`, `restart`) is reported as a
 * warning.
 *
 * @example
 * ```ts
 * const { specs, warnings } = parseComposeFile(text, { org: 'acme', source: 'compose.yaml' })
 * ```
 */
export { parseComposeFile, isComposeFileName, type ComposeResult } from './compose.js'
