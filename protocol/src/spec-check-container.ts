/**
 * The rules of what a container is made of beyond image, command and env:
 * its entrypoint and user, tmpfs mounts, files written into it (configs and
 * secret files), and where its service may run beyond label equality
 * (excluded labels, reservations). Applied to the normalized form, by the
 * stored-spec check (spec-check.ts) and by the file parser alike.
 */
import { SECRET_NAME_PATTERN } from './keys.js'
import { CONFIG_CHUNK_BYTES } from './spec.js'
import {
  Problems, SPEC_LIMITS, at, checkCommand, checkFields, checkName, isPlainObject, isVolumePath, isWhole, checkLabelKey
} from './spec-rules.js'

const USER_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/
const SHA256_PATTERN = /^[0-9a-f]{64}$/
const MAX_ID = 2 ** 31 - 1

export const CONTAINER_RULES = {
  user: 'must be a user, or user:group, by name or number, like 1000, 1000:1000 or postgres',
  mode: 'must be permission bits from 0 to 7777 (octal), like "0444" or "1777"',
  id: `must be a whole number from 0 to ${MAX_ID}`,
  secret: 'must be a secret name: letters, digits, _ . and -, starting with a letter or _, up to 128 characters'
} as const

/** `user:` as stored: a user and optionally a group (USER_PATTERN), within `maxUserLength` */
export function checkUser (value: unknown, path: string, problems: Problems): void {
  if (typeof value !== 'string' || value.length > SPEC_LIMITS.maxUserLength || !USER_PATTERN.test(value)) problems.bad(path, CONTAINER_RULES.user, value)
}

/** a file mode as stored: a whole number from 0 to 0o7777 */
export function checkMode (value: unknown, path: string, problems: Problems): void {
  if (!isWhole(value, 0, 0o7777)) problems.bad(path, CONTAINER_RULES.mode, value)
}

function checkOwner (value: Record<string, unknown>, path: string, problems: Problems): void {
  for (const field of ['uid', 'gid'] as const) {
    if (value[field] !== undefined && !isWhole(value[field], 0, MAX_ID)) problems.bad(at(path, field), CONTAINER_RULES.id, value[field])
  }
}

const TMPFS_FIELDS = new Set(['path', 'size', 'mode'])

/** one tmpfs mount as stored: `{ path, size?, mode? }`, the size in bytes within its limit */
export function checkTmpfs (value: unknown, path: string, problems: Problems): void {
  if (!isPlainObject(value)) {
    problems.bad(path, 'must be a mapping with path, and optionally size and mode', value)
    return
  }
  checkFields(value, TMPFS_FIELDS, path, problems)
  if (!isVolumePath(value.path)) problems.bad(at(path, 'path'), mountPathRule(), value.path)
  if (value.size !== undefined && !isWhole(value.size, SPEC_LIMITS.minMemory, SPEC_LIMITS.maxMemory)) problems.bad(at(path, 'size'), 'must be a size from 4Mi to 1Ti, like 64Mi', value.size)
  if (value.mode !== undefined) checkMode(value.mode, at(path, 'mode'), problems)
}

const CONFIG_FIELDS = new Set(['path', 'size', 'chunks', 'mode', 'uid', 'gid'])

/** one config file as stored: its chunks must add up to its size */
export function checkConfigFile (value: unknown, path: string, problems: Problems): number {
  if (!isPlainObject(value)) {
    problems.bad(path, 'must be a mapping with path, size, chunks and mode', value)
    return 0
  }
  checkFields(value, CONFIG_FIELDS, path, problems)
  if (!isVolumePath(value.path)) problems.bad(at(path, 'path'), mountPathRule(), value.path)
  checkMode(value.mode, at(path, 'mode'), problems)
  checkOwner(value, path, problems)
  const { size, chunks } = value
  const maxChunks = Math.ceil(SPEC_LIMITS.maxConfigBytes / CONFIG_CHUNK_BYTES)
  if (!Array.isArray(chunks) || chunks.length > maxChunks || !chunks.every(c => typeof c === 'string' && SHA256_PATTERN.test(c))) {
    problems.bad(at(path, 'chunks'), `must be a list of at most ${maxChunks} sha256 digests (64 hex digits)`, chunks)
    return 0
  }
  // every chunk but the last is full, and none is empty
  const fits = isWhole(size, 0, SPEC_LIMITS.maxConfigBytes) && size <= chunks.length * CONFIG_CHUNK_BYTES && size > (chunks.length - 1) * CONFIG_CHUNK_BYTES
  if (!fits) {
    problems.bad(at(path, 'size'), `must be the file's bytes, at most ${SPEC_LIMITS.maxConfigBytes}, split in chunks of ${CONFIG_CHUNK_BYTES}`, size)
    return 0
  }
  return size as number
}

const SECRET_FILE_FIELDS = new Set(['secret', 'path', 'mode', 'uid', 'gid'])

/** one secret file as stored: `{ secret, path, mode, uid?, gid? }` */
export function checkSecretFile (value: unknown, path: string, problems: Problems): void {
  if (!isPlainObject(value)) {
    problems.bad(path, 'must be a mapping with secret, path and mode', value)
    return
  }
  checkFields(value, SECRET_FILE_FIELDS, path, problems)
  if (typeof value.secret !== 'string' || !SECRET_NAME_PATTERN.test(value.secret)) problems.bad(at(path, 'secret'), CONTAINER_RULES.secret, value.secret)
  if (!isVolumePath(value.path)) problems.bad(at(path, 'path'), mountPathRule(), value.path)
  checkMode(value.mode, at(path, 'mode'), problems)
  checkOwner(value, path, problems)
}

const RESERVATION_FIELDS = new Set(['cpu', 'memory'])

/** what the scheduler reserves: at most the limits, which Docker enforces */
export function checkReservations (value: unknown, limits: unknown, path: string, problems: Problems): void {
  if (!isPlainObject(value)) {
    problems.bad(path, 'must be a mapping with cpu and/or memory', value)
    return
  }
  checkFields(value, RESERVATION_FIELDS, path, problems)
  const limit = isPlainObject(limits) ? limits : {}
  if (value.cpu !== undefined) {
    if (!isWhole(value.cpu, 0, SPEC_LIMITS.maxCpu)) problems.bad(at(path, 'cpu'), `must be a whole number of millicores from 0 to ${SPEC_LIMITS.maxCpu}`, value.cpu)
    else if (typeof limit.cpu === 'number' && value.cpu > limit.cpu) problems.add(at(path, 'cpu'), `reserves ${value.cpu}m, more than the limit of ${limit.cpu}m (raise resources.cpu)`)
  }
  if (value.memory !== undefined) {
    if (!isWhole(value.memory, 0, SPEC_LIMITS.maxMemory)) problems.bad(at(path, 'memory'), `must be a whole number of bytes from 0 to ${SPEC_LIMITS.maxMemory}`, value.memory)
    else if (typeof limit.memory === 'number' && value.memory > limit.memory) problems.add(at(path, 'memory'), `reserves ${value.memory} bytes, more than the limit of ${limit.memory} (raise resources.memory)`)
  }
}

/** label → values a node's label must not have */
export function checkExcludedLabels (value: unknown, path: string, problems: Problems): void {
  if (!isPlainObject(value)) {
    problems.bad(path, 'must be a mapping of node label to the values that exclude a node', value)
    return
  }
  let count = 0
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    if (++count > SPEC_LIMITS.maxConstraints) {
      problems.add(path, `has more than ${SPEC_LIMITS.maxConstraints} labels`)
      return
    }
    checkLabelKey(key, at(path, key), problems)
    const values = value[key]
    if (!Array.isArray(values) || values.length === 0 || values.length > SPEC_LIMITS.maxExcludedValues) {
      problems.bad(at(path, key), `must be a list of 1 to ${SPEC_LIMITS.maxExcludedValues} label values`, values)
      continue
    }
    values.forEach((v, i) => { if (typeof v !== 'string' || v.length > SPEC_LIMITS.maxLabelValueLength) problems.bad(at(at(path, key), i), `must be a label value of at most ${SPEC_LIMITS.maxLabelValueLength} characters`, v) })
  }
}

/**
 * The fields of this file on a stored spec (each optional); `spec` passed
 * the plain-object check. Mount paths of volumes, tmpfs, configs and secret
 * files must differ from each other.
 */
export function checkContainerFields (spec: Record<string, unknown>, path: string, problems: Problems): void {
  if (spec.project !== undefined) checkName(spec.project, at(path, 'project'), problems)
  if (spec.entrypoint !== undefined) checkCommand(spec.entrypoint, at(path, 'entrypoint'), problems, { allowEmpty: true })
  if (spec.user !== undefined) checkUser(spec.user, at(path, 'user'), problems)
  if (spec.reservations !== undefined) checkReservations(spec.reservations, spec.resources, at(path, 'reservations'), problems)
  if (spec.excludedLabels !== undefined) checkExcludedLabels(spec.excludedLabels, at(path, 'excludedLabels'), problems)
  checkList(spec.tmpfs, SPEC_LIMITS.maxTmpfs, 'tmpfs mounts', at(path, 'tmpfs'), problems, checkTmpfs)
  let bytes = 0
  checkList(spec.configs, SPEC_LIMITS.maxConfigFiles, 'config files', at(path, 'configs'), problems, (item, where) => { bytes += checkConfigFile(item, where, problems) })
  if (bytes > SPEC_LIMITS.maxConfigBytes) problems.add(at(path, 'configs'), `the files hold ${bytes} bytes together; at most ${SPEC_LIMITS.maxConfigBytes} per service`)
  checkList(spec.secretFiles, SPEC_LIMITS.maxSecretFiles, 'secret files', at(path, 'secretFiles'), problems, checkSecretFile)
  checkMountPathsUnique(spec, path, problems)
}

function checkList (value: unknown, max: number, what: string, path: string, problems: Problems, check: (item: unknown, path: string, problems: Problems) => void): void {
  if (value === undefined) return
  if (!Array.isArray(value) || value.length > max) {
    problems.bad(path, `must be a list of at most ${max} ${what}`, value)
    return
  }
  value.forEach((item, i) => { check(item, at(path, i), problems) })
}

const MOUNT_LISTS = ['volumes', 'tmpfs', 'configs', 'secretFiles'] as const

/** no two mounts or files at one path, whatever their kind */
export function checkMountPathsUnique (spec: Record<string, unknown>, path: string, problems: Problems): void {
  const seen = new Map<string, string>()
  for (const list of MOUNT_LISTS) {
    const items = spec[list]
    if (!Array.isArray(items)) continue
    items.forEach((item, i) => {
      const mount = isPlainObject(item) && typeof item.path === 'string' ? item.path.replace(/\/+$/, '') : undefined
      if (mount === undefined) return
      const first = seen.get(mount)
      if (first !== undefined) problems.add(at(at(at(path, list), i), 'path'), `${mount} is mounted twice (first at ${first})`)
      else seen.set(mount, `${list}[${i}]`)
    })
  }
}

function mountPathRule (): string {
  return `must be an absolute path like /data, other than /, without "..", ":" or control characters, at most ${SPEC_LIMITS.maxPathLength} characters`
}

/**
 * Why a service of project `next` may not replace the service `id` of
 * project `current` (either may be undefined: no project); undefined when
 * it may. Deploying a Compose file never replaces another project's service
 */
export function projectConflict (id: string, current: string | undefined, next: string | undefined): string | undefined {
  if (current === next) return undefined
  if (current === undefined) return `${id} was deployed without a project (from a minga spec file); project ${next ?? ''} would replace it. Choose another project name (minga deploy -p NAME), or remove it first with "minga rm ${id}"`
  if (next === undefined) return `${id} belongs to project ${current}; deploy it from that project's Compose file, or remove the project first with "minga rm -p ${current}"`
  return `${id} belongs to project ${current}; project ${next} would replace it. Choose another project name (minga deploy -p NAME), or remove it first with "minga rm -p ${current}"`
}
