/**
 * A Compose service's `build:` → what `minga build` is asked (issue 15):
 * the context (a folder, relative to the Compose file's folder, or a git
 * URL, as Compose allows), the Dockerfile in it, its stage and the build arguments.
 * The fields minga's builds do not honour are refused, saying what to do;
 * those that only tune Docker's cache are ignored with a warning.
 */
import { resolve } from 'node:path'
import type { Translation } from './context.js'

/** what the deploy builds for one service, before its services are declared */
export interface ComposeBuild {
  /** the minga service it is for (`<project>-<service>`) */
  service: string
  /** an absolute folder, or a git URL */
  source: string
  /** the Dockerfile, relative to the context */
  file?: string
  args?: Record<string, string>
  /** the Dockerfile stage to build */
  target?: string
  /** the tag the image gets in the mesh: the service's `image:`, else `<org>/<service>:latest` */
  tag: string
}

const SUPPORTED = new Set(['context', 'dockerfile', 'args', 'target'])
const IGNORED = new Set(['cache_from', 'cache_to', 'labels', 'pull', 'no_cache'])
const GIT_URL = /^(?:[a-z][a-z0-9+.-]*:\/\/|[\w.-]+@[\w.-]+:)/

/** the build of a service (without its tag and service name), or undefined when `build:` is wrong (problems recorded) */
export function translateBuild (build: unknown, t: Translation, dir: string | undefined): Omit<ComposeBuild, 'service' | 'tag'> | undefined {
  if (typeof build !== 'string' && (build === null || typeof build !== 'object' || Array.isArray(build))) {
    t.problem('build', 'must be a context folder (build: .) or a mapping with context, dockerfile, args and target')
    return undefined
  }
  const fields = typeof build === 'string' ? { context: build } : build as Record<string, unknown>
  let ok = true
  for (const key of Object.keys(fields)) {
    if (SUPPORTED.has(key) || key.startsWith('x-')) continue
    if (IGNORED.has(key)) t.warn(`build.${key}`, 'ignored: minga builds each commit with the builder\'s own cache')
    else { t.problem(`build.${key}`, 'not supported by minga\'s builds (context, dockerfile, args and target are); remove it, or build the image yourself and name it in image:'); ok = false }
  }
  const context = fields.context ?? '.'
  if (typeof context !== 'string' || context === '') { t.problem('build.context', 'must be a folder (relative to the Compose file) or a git URL'); return undefined }
  let source: string
  if (GIT_URL.test(context)) source = context
  else if (dir === undefined) { t.problem('build.context', 'a relative context needs the Compose file\'s folder: deploy it with minga deploy -f FILE'); return undefined } else source = resolve(dir, context)
  const out: Omit<ComposeBuild, 'service' | 'tag'> = { source }
  if (fields.dockerfile !== undefined) {
    if (typeof fields.dockerfile !== 'string' || fields.dockerfile === '') { t.problem('build.dockerfile', 'must be the Dockerfile\'s path in the context'); ok = false } else out.file = fields.dockerfile
  }
  if (fields.target !== undefined) {
    if (typeof fields.target !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(fields.target)) { t.problem('build.target', 'must be a stage name of the Dockerfile (FROM … AS name)'); ok = false } else out.target = fields.target
  }
  if (fields.args !== undefined && fields.args !== null) {
    const args = buildArgs(fields.args, t)
    if (args === undefined) ok = false
    else if (Object.keys(args).length > 0) out.args = args
  }
  return ok ? out : undefined
}

/** Compose's `args`: a mapping, or a list of `NAME=value` (a bare NAME takes the variable of that name, as Compose does) */
function buildArgs (value: unknown, t: Translation): Record<string, string> | undefined {
  const out: Record<string, string> = {}
  const set = (name: string, raw: unknown): boolean => {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) { t.problem(`build.args.${name.slice(0, 40)}`, 'a build argument\'s name is letters, digits and _'); return false }
    if (raw === null || raw === undefined) {
      const fromEnv = t.project.lookup(name)
      if (fromEnv !== undefined) out[name] = fromEnv
      return true
    }
    if (typeof raw === 'object') { t.problem(`build.args.${name}`, 'must be a string or a number'); return false }
    out[name] = String(raw)
    return true
  }
  if (Array.isArray(value)) {
    let ok = true
    for (const item of value) {
      const text = String(item)
      const at = text.indexOf('=')
      ok = set(at < 0 ? text : text.slice(0, at), at < 0 ? null : text.slice(at + 1)) && ok
    }
    return ok ? out : undefined
  }
  if (typeof value !== 'object' || value === null) { t.problem('build.args', 'must be a mapping or a list of NAME=value'); return undefined }
  let ok = true
  for (const [name, raw] of Object.entries(value)) ok = set(name, raw) && ok
  return ok ? out : undefined
}
