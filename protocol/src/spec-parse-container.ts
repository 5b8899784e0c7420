/**
 * Spec-file syntax of the container fields beyond image, command and env
 * (see spec-check-container.ts for their rules): entrypoint, user, tmpfs,
 * secret files, reservations, and constraints written as expressions.
 *
 * ```yaml
 * entrypoint: /docker-entrypoint.sh       # or a list; a string is split into words, no shell
 * user: "1000:1000"
 * tmpfs: ["/run", { path: /cache, size: 64Mi, mode: "1777" }]
 * secretFiles: [{ secret: db_password }]  # at /run/secrets/db_password, mode 0444
 * reservations: { cpu: 0.25, memory: 256Mi }
 * constraints: ["zone == east", "disk != hdd"]
 * ```
 *
 * Modes are octal as written (`0444`, `"1777"`, `0o755`).
 */
import {
  Problems, SPEC_LIMITS, at, checkConstraints, isPlainObject, checkFields
} from './spec-rules.js'
import { checkExcludedLabels, checkReservations, checkSecretFile, checkTmpfs, checkUser } from './spec-check-container.js'
import type { SecretFileSpec, TmpfsSpec } from './spec.js'
import { parseCpu, parseMemory } from './spec-units.js'
import { splitWords } from './spec-words.js'
import { child, own, scalarText, type Texts } from './spec-yaml.js'

/** `0444`, `"1777"`, `0o755` → bits, or NaN */
export function parseMode (written: unknown): number {
  if (typeof written === 'number') return Number.isInteger(written) ? parseInt(String(written), 8) : NaN
  if (typeof written !== 'string') return NaN
  const match = /^(?:0o)?([0-7]{1,5})$/.exec(written.trim())
  return match === null ? NaN : parseInt(match[1], 8)
}

/** `entrypoint:` as written (a string run by sh -c, or a list) to its stored list; an empty list resets the image's */
export function normalizeEntrypoint (raw: unknown, texts: Texts, path: string, problems: Problems): string[] | undefined {
  const given = scalarText(raw, texts)
  let words: unknown
  if (typeof given === 'string') {
    const split = splitWords(given)
    if ('error' in split) {
      problems.add(path, `${JSON.stringify(given.slice(0, 60))} ${split.error}`)
      return undefined
    }
    words = split.words
  } else if (Array.isArray(given)) {
    words = given.length > SPEC_LIMITS.maxArgs ? given : given.map((arg, i) => scalarText(arg, child(texts, i)))
  } else {
    problems.bad(path, 'must be a program and its arguments, as a list or a string', given)
    return undefined
  }
  return words as string[]
}

/** `user:` as written (a number or text) to its stored text */
export function normalizeUser (raw: unknown, texts: Texts, path: string, problems: Problems): string | undefined {
  const user = scalarText(raw, texts)
  const before = problems.size
  checkUser(user, path, problems)
  return problems.size === before ? user as string : undefined
}

const TMPFS_FIELDS = new Set(['path', 'size', 'mode'])

/** one tmpfs mount as written (`/path` or a mapping with size and mode) to its stored form */
export function normalizeTmpfs (raw: unknown, texts: Texts, path: string, problems: Problems): TmpfsSpec | undefined {
  let mount: Record<string, unknown>
  if (typeof raw === 'string') {
    mount = { path: raw }
  } else if (isPlainObject(raw)) {
    if (!checkFields(raw, TMPFS_FIELDS, path, problems)) return undefined
    mount = { path: own(raw, 'path') }
    if (own(raw, 'size') !== undefined) mount.size = parseMemory(own(raw, 'size'))
    if (own(raw, 'mode') !== undefined) mount.mode = parseMode(scalarText(own(raw, 'mode'), child(texts, 'mode')))
  } else {
    problems.bad(path, 'must be a path like /run, or a mapping with path, size and mode', raw)
    return undefined
  }
  const before = problems.size
  checkTmpfs(mount, path, problems)
  return problems.size === before ? mount as TmpfsSpec : undefined
}

const SECRET_FILE_FIELDS = new Set(['secret', 'path', 'mode', 'uid', 'gid'])

/** one secret file as written (a mapping with secret, path, mode, uid, gid) to its stored form */
export function normalizeSecretFile (raw: unknown, texts: Texts, path: string, problems: Problems): SecretFileSpec | undefined {
  if (!isPlainObject(raw)) {
    problems.bad(path, 'must be a mapping with secret, and optionally path, mode, uid and gid', raw)
    return undefined
  }
  if (!checkFields(raw, SECRET_FILE_FIELDS, path, problems)) return undefined
  const secret = scalarText(own(raw, 'secret'), child(texts, 'secret'))
  const file: Record<string, unknown> = {
    secret,
    path: own(raw, 'path') ?? `/run/secrets/${String(secret)}`,
    mode: own(raw, 'mode') === undefined ? 0o444 : parseMode(scalarText(own(raw, 'mode'), child(texts, 'mode')))
  }
  for (const id of ['uid', 'gid']) if (own(raw, id) !== undefined) file[id] = own(raw, id)
  const before = problems.size
  checkSecretFile(file, path, problems)
  return problems.size === before ? file as SecretFileSpec : undefined
}

/** `reservations:` (cpu, memory as written) to millicores and bytes, checked against the resources */
export function normalizeReservations (raw: unknown, limits: unknown, path: string, problems: Problems): { cpu?: number, memory?: number } | undefined {
  if (!isPlainObject(raw)) {
    problems.bad(path, 'must be a mapping with cpu and/or memory', raw)
    return undefined
  }
  const out: Record<string, unknown> = { ...raw }
  if (own(raw, 'cpu') !== undefined) out.cpu = parseCpu(own(raw, 'cpu'))
  if (own(raw, 'memory') !== undefined) out.memory = parseMemory(own(raw, 'memory'))
  const before = problems.size
  checkReservations(out, limits, path, problems)
  return problems.size === before ? out as { cpu?: number, memory?: number } : undefined
}

export interface Placement { constraints: Record<string, string>, excluded: Record<string, string[]> }

/**
 * `constraints:` as a mapping of label: value, or a list of `label == value`
 * and `label != value`; `excludedLabels:` as label: [values]
 */
export function normalizePlacement (raw: unknown, excludedRaw: unknown, texts: Texts, paths: { constraints: string, excluded: string }, problems: Problems): Placement {
  const path = paths.constraints
  const placement: Placement = { constraints: {}, excluded: {} }
  if (Array.isArray(raw)) {
    if (raw.length > SPEC_LIMITS.maxConstraints) {
      problems.add(path, `has ${raw.length} constraints (at most ${SPEC_LIMITS.maxConstraints})`)
      return placement
    }
    raw.forEach((item, i) => {
      const match = typeof item === 'string' ? /^\s*([^\s=!]+)\s*(==|!=)\s*(.*?)\s*$/.exec(item) : null
      if (match === null) {
        problems.bad(at(path, i), 'must be "label == value" or "label != value"', item)
        return
      }
      const [, label, op, value] = match
      if (op === '!=') placement.excluded[label] = [...(placement.excluded[label] ?? []), value]
      else if (Object.hasOwn(placement.constraints, label) && placement.constraints[label] !== value) problems.add(at(path, i), `${label} cannot equal both ${JSON.stringify(placement.constraints[label])} and ${JSON.stringify(value)}`)
      else define(placement.constraints, label, value)
    })
  } else if (isPlainObject(raw)) {
    readStrings(raw, texts, placement.constraints, { path, max: SPEC_LIMITS.maxConstraints, what: 'labels', rule: `must be a string of at most ${SPEC_LIMITS.maxLabelValueLength} characters without control characters` }, problems)
  } else if (raw !== undefined) {
    problems.bad(path, 'must be a mapping of node label: value, or a list of "label == value" / "label != value"', raw)
    return placement
  }
  checkConstraints(placement.constraints, path, problems)
  if (excludedRaw !== undefined) {
    if (isPlainObject(excludedRaw)) for (const key of Object.keys(excludedRaw)) placement.excluded[key] = [...(placement.excluded[key] ?? []), ...(Array.isArray(excludedRaw[key]) ? excludedRaw[key] as string[] : [excludedRaw[key] as string])]
    else problems.bad(paths.excluded, 'must be a mapping of label: [values]', excludedRaw)
  }
  if (Object.keys(placement.excluded).length > 0) checkExcludedLabels(placement.excluded, paths.excluded, problems)
  return placement
}

/**
 * a mapping of name → scalar (numbers and booleans as written) into
 * `target`; false when it holds more than `max` keys
 */
export function readStrings (raw: Record<string, unknown>, texts: Texts, target: Record<string, string>, options: { path: string, max: number, what: string, rule: string }, problems: Problems): boolean {
  const keys = Object.keys(raw)
  if (keys.length > options.max) {
    problems.add(options.path, `has ${keys.length} ${options.what} (at most ${options.max})`)
    return false
  }
  for (const key of keys) {
    const value = scalarText(raw[key], child(texts, key))
    if (typeof value === 'string') define(target, key, value)
    else problems.bad(at(options.path, key), options.rule, value)
  }
  return true
}

/** sets a key even when it is `__proto__`, so that the checks see it */
export function define (target: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}
