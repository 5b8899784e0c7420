/**
 * The control API's build bodies (`POST /v1/builds`), checked on arrival
 * like every body (bodies.ts): exact fields, bounded text, a real image
 * reference for the tag, and a source that is an absolute folder of the
 * node or a git URL. BadRequestError names the field and what it must be.
 */
import { BUILD_LIMITS, BUILD_TARGET_PATTERN, check, isImageRef } from '@minga/protocol'
import { checked } from './bodies.js'
import type { BuildBody } from './contract.js'

const MAX_SOURCE = 2048
const MAX_PATH = 256
const MAX_TEST = 4096
const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/
/** `scheme://…`, or scp-like `user@host:path` */
const GIT_URL = /^(?:[a-z][a-z0-9+.-]*:\/\/[^\s]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+)$/

/** `POST /v1/builds`: `{ source, tag, ref?, context?, file?, args?, test?, private?, on? }` */
export function buildBody (body: unknown): BuildBody {
  return checked(body, 'POST /v1/builds', (r) => {
    check.object(r, 'body', new Set(['source', 'ref', 'context', 'file', 'args', 'target', 'test', 'tag', 'private', 'on']))
    const source = check.text(r.source, 'body.source', MAX_SOURCE)
    if (!source.startsWith('/') && !GIT_URL.test(source)) check.fail('body.source', 'must be an absolute folder of the node or a git URL (https://…, ssh://…, file://…, git@host:path)')
    if (!isImageRef(r.tag)) check.fail('body.tag', 'must be an image reference like acme/web:2')
    const out: BuildBody = { source, tag: r.tag as string }
    if (r.ref !== undefined) out.ref = nonEmpty(r.ref, 'body.ref', MAX_PATH)
    if (r.context !== undefined) out.context = nonEmpty(r.context, 'body.context', MAX_PATH)
    if (r.file !== undefined) out.file = nonEmpty(r.file, 'body.file', MAX_PATH)
    if (r.target !== undefined) out.target = check.pattern(r.target, 'body.target', BUILD_TARGET_PATTERN, 'must be a stage name of the Dockerfile')
    if (r.test !== undefined) out.test = nonEmpty(r.test, 'body.test', MAX_TEST)
    if (r.private !== undefined) out.private = check.bool(r.private, 'body.private')
    if (r.on !== undefined) out.on = check.name(r.on, 'body.on')
    if (r.args !== undefined) {
      const args = check.object(r.args, 'body.args')
      const names = Object.keys(args)
      if (names.length > BUILD_LIMITS.args) check.fail('body.args', `must have at most ${BUILD_LIMITS.args} arguments`)
      out.args = {}
      for (const name of names) {
        check.pattern(name, 'body.args', ARG_NAME, 'names must be like NODE_VERSION')
        out.args[name] = check.text(args[name], `body.args.${name}`, 4096)
      }
    }
    return out
  }, '{"source": "/abs/folder" or "https://…", "tag": "acme/web:2", "ref"?: "main", "context"?: "app", "file"?: "Dockerfile", "args"?: {"NAME": "value"}, "target"?: "stage", "test"?: "make test", "private"?: true, "on"?: "org"}')
}

function nonEmpty (value: unknown, path: string, max: number): string {
  const text = check.text(value, path, max)
  if (text.trim() === '') check.fail(path, `must be text of 1 to ${max} characters`)
  return text
}
