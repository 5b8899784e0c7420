/**
 * The building blocks of the spec's rules: limits, the words of each rule,
 * the problem list, and the checks of single fields (names, images,
 * commands, env, ports, volumes, health numbers), shared by the stored-spec
 * check (spec-check.ts, spec-check-container.ts) and the file parser
 * (spec-parse.ts), so a spec that parses is a spec that every node accepts.
 */
import { isIP } from 'node:net'
import { durationRuleText } from './duration.js'
import { NAME_PATTERN } from './keys.js'
import { BACKUP_INTERVAL_LIMITS, MAX_BACKUP_HOOKS } from './spec.js'
const MiB = 1024 * 1024

export const SPEC_LIMITS = {
  maxReplicas: 1000,
  /** millicores */
  minCpu: 1,
  maxCpu: 256_000,
  /** bytes */
  minMemory: 4 * MiB,
  maxMemory: 1024 * 1024 * MiB,
  maxEnvVars: 200,
  maxEnvNameLength: 128,
  /** UTF-8 bytes of all values together */
  maxEnvBytes: 32 * 1024,
  maxArgs: 256,
  /** UTF-8 bytes of all arguments of one command together */
  maxCommandBytes: 16 * 1024,
  maxPorts: 64,
  maxVolumes: 32,
  maxPathLength: 1024,
  maxConstraints: 64,
  maxLabelValueLength: 256,
  maxAllowOrgs: 100,
  maxImageLength: 512,
  maxUserLength: 64,
  maxTmpfs: 16,
  /** files written into each container (configs), and their bytes together */
  maxConfigFiles: 100,
  maxConfigBytes: 1024 * 1024,
  maxSecretFiles: 32,
  /** values one label may be excluded by */
  maxExcludedValues: 32,
  /** milliseconds */
  minHealthInterval: 1_000,
  maxHealthInterval: 3_600_000,
  minHealthTimeout: 100,
  maxHealthTimeout: 3_600_000,
  maxHealthStartPeriod: 3_600_000,
  maxHealthRetries: 100,
  /** ms between registry checks of a watched image */
  minWatchInterval: 60_000,
  maxWatchInterval: 7 * 24 * 3_600_000,
  /** canonical JSON of the whole normalized spec; an entry value holds at most 64 KiB */
  maxSpecBytes: 56 * 1024
} as const

export const SPEC_FIELDS = [
  'name', 'org', 'project', 'image', 'imageDigest', 'entrypoint', 'command', 'user', 'env', 'replicas', 'resources', 'reservations', 'spread', 'allowOrgs',
  'constraints', 'excludedLabels', 'ports', 'health', 'update', 'singleton', 'standby', 'volumes', 'tmpfs', 'configs', 'secretFiles', 'http', 'expose'
] as const
// name, org and image report their own absence
export const REQUIRED_FIELDS = ['env', 'replicas', 'resources', 'spread', 'constraints', 'ports', 'update', 'singleton', 'volumes'] as const
export const SPEC_FIELD_SET = new Set<string>(SPEC_FIELDS)

// Docker takes any name without "="; Compose files use dotted ones (discovery.type)
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/
const LABEL_KEY_PATTERN = /^[a-z0-9][a-z0-9._/-]{0,62}$/
// eslint-disable-next-line no-control-regex
const CONTROL_PATTERN = /[\u0000-\u001f\u007f]/

// docker's reference grammar: [domain[:port]/]path[:tag][@sha256:digest]
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const IMAGE_PATTERN = new RegExp(`^(?:(${DOMAIN})/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`)

export const RULES = {
  name: 'must be 1 to 63 lower-case letters, digits or dashes, starting and ending with a letter or digit',
  image: 'must be an image reference like nginx:1.27, ghcr.io/acme/web:2 or nginx@sha256:<64 hex digits>, with a lower-case repository path',
  replicas: `must be a whole number from 0 to ${SPEC_LIMITS.maxReplicas}`,
  spread: 'must be "org" or "node"',
  singleton: 'must be true or false',
  standby: 'must be true or false',
  envName: 'must be a variable name: letters, digits, _ . and -, not starting with a digit, at most 128 characters',
  labelKey: 'must be a label name: 1 to 63 lower-case letters, digits, ".", "_", "/" or "-", starting with a letter or digit',
  labelValue: `must be a string of at most ${SPEC_LIMITS.maxLabelValueLength} characters without control characters`,
  port: 'must be a whole number from 1 to 65535',
  protocol: 'must be "tcp" or "udp"',
  volumePath: `must be an absolute path like /data, other than /, without "..", ":" or control characters, at most ${SPEC_LIMITS.maxPathLength} characters`,
  retries: `must be a whole number from 1 to ${SPEC_LIMITS.maxHealthRetries}`,
  hostIp: 'must be an IP address of the host, like 127.0.0.1 or ::1'
} as const

/** Collects every problem with a spec, each as `path: what is wrong (what is allowed)` */
export class Problems {
  readonly list: string[] = []

  /** a value that breaks `rule`; a missing value says so */
  bad (path: string, rule: string, value: unknown): void {
    this.list.push(value === undefined ? `${path}: missing (${rule})` : `${path}: ${rule} (got ${describe(value)})`)
  }

  add (path: string, text: string): void {
    this.list.push(path === '' ? text : `${path}: ${text}`)
  }

  get size (): number {
    return this.list.length
  }
}

/** a short description of a value for an error message: a quoted string (cut at 40), a number, `a list`, `a mapping`… */
export function describe (value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'a list'
  switch (typeof value) {
    case 'string':
      return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}…` : JSON.stringify(value)
    case 'number':
    case 'boolean':
      return String(value)
    case 'object':
      return isPlainObject(value) ? 'a mapping' : 'an object'
    default:
      return `a ${typeof value}`
  }
}

/** `path.key` or `path[index]`; keys that are not plain words are quoted */
export function at (path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`
  const shown = /^[A-Za-z0-9_-]+$/.test(key) ? key : describe(key)
  return path === '' ? shown : `${path}.${shown}`
}

/** true for a plain object (a YAML or JSON mapping), not an array, null or a class instance */
export function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** true for an integer from `min` to `max` */
export function isWhole (value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
}

/** unknown fields of `value`, each reported; true when there were none */
export function checkFields (value: Record<string, unknown>, allowed: ReadonlySet<string>, path: string, problems: Problems): boolean {
  let ok = true
  for (const key in value) {
    if (!allowed.has(key) && Object.hasOwn(value, key)) {
      problems.add(at(path, key), `unknown field (allowed: ${[...allowed].join(', ')})`)
      ok = false
    }
  }
  return ok
}

/** an organization or service name: lowercase letters, digits and dashes, at most 63 characters */
export function checkName (value: unknown, path: string, problems: Problems): void {
  if (typeof value !== 'string' || !NAME_PATTERN.test(value)) problems.bad(path, RULES.name, value)
}

/** an image reference as docker reads it (`[registry/]path[:tag][@digest]`), at most the image length limit */
export function checkImage (value: unknown, path: string, problems: Problems): void {
  if (typeof value !== 'string' || value.length > SPEC_LIMITS.maxImageLength) {
    problems.bad(path, RULES.image, value)
    return
  }
  const match = IMAGE_PATTERN.exec(value)
  // as in docker, a first component without "." or ":" is a path, not a registry host, so it must be lower case
  const host = match?.[1]
  if (match === null || (host !== undefined && host !== 'localhost' && !/[.:]/.test(host) && host !== host.toLowerCase())) {
    problems.bad(path, RULES.image, value)
  }
}

const IMAGE_DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/

/** `imageDigest`: an image id, `sha256:` and 64 lower-case hex digits */
export function checkImageDigest (value: unknown, path: string, problems: Problems): void {
  if (typeof value !== 'string' || !IMAGE_DIGEST_PATTERN.test(value)) problems.bad(path, 'must be an image id: sha256: and 64 lower-case hex digits (minga image ls shows them)', value)
}

/** the fields of `update:` */
export const UPDATE_FIELDS = new Set(['maxUnavailable', 'watch', 'watchInterval'])

/** `update.watch` and `update.watchInterval` as stored */
export function checkWatch (update: Record<string, unknown>, path: string, problems: Problems): void {
  if (update.watch !== undefined && typeof update.watch !== 'boolean') problems.bad(at(path, 'watch'), 'must be true or false', update.watch)
  if (update.watchInterval !== undefined && !isWhole(update.watchInterval, SPEC_LIMITS.minWatchInterval, SPEC_LIMITS.maxWatchInterval)) {
    problems.bad(at(path, 'watchInterval'), 'must be a duration from 1m to 7d, like 10m', update.watchInterval)
  }
}

/** a command as stored: a non-empty list of strings (an entrypoint may be empty: it then resets the image's) */
export function checkCommand (value: unknown, path: string, problems: Problems, options: { allowEmpty?: boolean } = {}): void {
  const min = options.allowEmpty === true ? 0 : 1
  if (!Array.isArray(value) || value.length < min || value.length > SPEC_LIMITS.maxArgs) {
    problems.bad(path, `must be a list of ${min} to ${SPEC_LIMITS.maxArgs} strings`, value)
    return
  }
  let bytes = 0
  for (let i = 0; i < value.length; i++) {
    const arg: unknown = value[i]
    if (typeof arg !== 'string' || arg.includes('\0')) problems.bad(at(path, i), 'must be a string without NUL characters', arg)
    else bytes += Buffer.byteLength(arg)
  }
  if (bytes > SPEC_LIMITS.maxCommandBytes) problems.add(path, `is ${bytes} bytes long (at most ${SPEC_LIMITS.maxCommandBytes})`)
}

/** `env` as stored: at most `maxEnvVars` names of the environment-variable form, string values within the limits */
export function checkEnv (value: unknown, path: string, problems: Problems): void {
  if (!isPlainObject(value)) {
    problems.bad(path, 'must be a mapping of NAME: value', value)
    return
  }
  let count = 0
  let bytes = 0
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    if (++count > SPEC_LIMITS.maxEnvVars) {
      problems.add(path, `has more than ${SPEC_LIMITS.maxEnvVars} variables (at most ${SPEC_LIMITS.maxEnvVars})`)
      return
    }
    if (!ENV_NAME_PATTERN.test(key) || key.length > SPEC_LIMITS.maxEnvNameLength || key === '__proto__') problems.add(at(path, key), `invalid name (${RULES.envName})`)
    const item = value[key]
    if (typeof item !== 'string' || item.includes('\0')) problems.bad(at(path, key), 'must be a string without NUL characters', item)
    else bytes += Buffer.byteLength(item)
  }
  if (bytes > SPEC_LIMITS.maxEnvBytes) problems.add(path, `values total ${bytes} bytes (at most ${SPEC_LIMITS.maxEnvBytes})`)
}

/** `constraints` as stored: label name → required value, at most the label limits */
export function checkConstraints (value: unknown, path: string, problems: Problems): void {
  if (!isPlainObject(value)) {
    problems.bad(path, 'must be a mapping of label: value', value)
    return
  }
  let count = 0
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    if (++count > SPEC_LIMITS.maxConstraints) {
      problems.add(path, `has more than ${SPEC_LIMITS.maxConstraints} labels (at most ${SPEC_LIMITS.maxConstraints})`)
      return
    }
    checkLabelKey(key, at(path, key), problems)
    const item = value[key]
    if (typeof item !== 'string' || item.length > SPEC_LIMITS.maxLabelValueLength || CONTROL_PATTERN.test(item)) problems.bad(at(path, key), RULES.labelValue, item)
  }
}

/** a node label's name: lowercase letters, digits and `._/-`, at most 63 characters */
export function checkLabelKey (key: string, path: string, problems: Problems): void {
  if (!LABEL_KEY_PATTERN.test(key)) problems.add(path, `invalid label (${RULES.labelKey})`)
}

/** `allowOrgs` as stored: a list of organization names, without repeats */
export function checkAllowOrgs (value: unknown, path: string, problems: Problems): void {
  if (!Array.isArray(value) || value.length === 0 || value.length > SPEC_LIMITS.maxAllowOrgs) {
    problems.bad(path, `must be a list of 1 to ${SPEC_LIMITS.maxAllowOrgs} organization names (leave it out to allow any)`, value)
    return
  }
  const seen = new Set<unknown>()
  for (let i = 0; i < value.length; i++) {
    checkName(value[i], at(path, i), problems)
    if (seen.has(value[i])) problems.add(at(path, i), `${describe(value[i])} is listed twice`)
    seen.add(value[i])
  }
}

const PORT_FIELDS = new Set(['container', 'host', 'hostIp', 'protocol', 'mode', 'proxyProtocol'])

/** one port as stored: `{ container, host?, hostIp?, protocol, mode?, proxyProtocol? }`; its routing fields are spec-routes.ts's */
export function checkPort (value: unknown, path: string, problems: Problems): boolean {
  if (!isPlainObject(value)) {
    problems.bad(path, 'must be a mapping with container, host and protocol', value)
    return false
  }
  const before = problems.size
  checkFields(value, PORT_FIELDS, path, problems)
  if (!isWhole(value.container, 1, 65535)) problems.bad(at(path, 'container'), RULES.port, value.container)
  if (value.host !== undefined && !isWhole(value.host, 1, 65535)) problems.bad(at(path, 'host'), RULES.port, value.host)
  if (value.hostIp !== undefined) {
    if (!isHostIp(value.hostIp)) problems.bad(at(path, 'hostIp'), RULES.hostIp, value.hostIp)
    else if (value.host === undefined) problems.add(at(path, 'hostIp'), 'binds a published port: give host too')
  }
  if (value.protocol !== 'tcp' && value.protocol !== 'udp') problems.bad(at(path, 'protocol'), RULES.protocol, value.protocol)
  return problems.size === before
}

/** an IPv4 or IPv6 address, as Docker's HostIp takes it */
export function isHostIp (value: unknown): value is string {
  return typeof value === 'string' && isIP(value) !== 0
}

/** a host port can be published once per protocol and address (an unbound one holds every address) */
export function checkPortsUnique (ports: ReadonlyArray<{ host?: number, hostIp?: string, protocol: string } | undefined>, path: string, problems: Problems): void {
  const seen = new Map<string, Set<string>>()
  ports.forEach((port, i) => {
    if (port?.host === undefined) return
    const id = `${port.host}/${port.protocol}`
    const ips = seen.get(id) ?? new Set<string>()
    const ip = port.hostIp ?? '*'
    if (ips.has(ip) || (ips.size > 0 && (ip === '*' || ips.has('*')))) problems.add(at(at(path, i), 'host'), `port ${id} is published twice${ip === '*' ? '' : ` on ${ip}`}`)
    ips.add(ip)
    seen.set(id, ips)
  })
}

const VOLUME_FIELDS = new Set(['name', 'path', 'readOnly', 'backup'])
const BACKUP_FIELDS = new Set(['interval', 'pre', 'post'])

/** true for an absolute container path other than /, without `..`, `:` or control characters, within the length limit */
export function isVolumePath (value: unknown): value is string {
  return typeof value === 'string' && value.length > 1 && value.length <= SPEC_LIMITS.maxPathLength && value.startsWith('/') &&
    !value.includes(':') && !CONTROL_PATTERN.test(value) && !value.split('/').includes('..')
}

/** one volume as stored: `{ name?, path, readOnly }`; without a name it is anonymous */
export function checkVolume (value: unknown, path: string, problems: Problems): boolean {
  if (!isPlainObject(value)) {
    problems.bad(path, 'must be a mapping with name, path and readOnly', value)
    return false
  }
  const before = problems.size
  checkFields(value, VOLUME_FIELDS, path, problems)
  if (value.name !== undefined) checkName(value.name, at(path, 'name'), problems)
  if (!isVolumePath(value.path)) problems.bad(at(path, 'path'), RULES.volumePath, value.path)
  if (typeof value.readOnly !== 'boolean') problems.bad(at(path, 'readOnly'), 'must be true or false', value.readOnly)
  if (value.backup !== undefined) {
    if (value.name === undefined) problems.add(at(path, 'backup'), 'only a named volume is backed up (an anonymous one goes with its container)')
    checkVolumeBackup(value.backup, at(path, 'backup'), problems)
  }
  return problems.size === before
}

export const BACKUP_RULES = {
  interval: `must be a duration from ${BACKUP_INTERVAL_LIMITS.min / 1000}s to 24h, in whole seconds, like 5m (or 0: never backed up)`,
  hooks: `must be a command, or a list of at most ${MAX_BACKUP_HOOKS} commands, each a string (run with sh -c) or a list of words`
} as const

/** a volume's backup as stored: `{ interval, pre?, post? }` */
export function checkVolumeBackup (value: unknown, path: string, problems: Problems): void {
  if (!isPlainObject(value)) {
    problems.bad(path, 'must be a mapping with interval, and optionally pre and post', value)
    return
  }
  checkFields(value, BACKUP_FIELDS, path, problems)
  const interval = value.interval
  if (!(interval === 0 || (isWhole(interval, BACKUP_INTERVAL_LIMITS.min, BACKUP_INTERVAL_LIMITS.max) && (interval as number) % 1000 === 0))) problems.bad(at(path, 'interval'), BACKUP_RULES.interval, interval)
  for (const field of ['pre', 'post'] as const) {
    const hooks = value[field]
    if (hooks === undefined) continue
    if (!Array.isArray(hooks) || hooks.length === 0 || hooks.length > MAX_BACKUP_HOOKS) {
      problems.bad(at(path, field), BACKUP_RULES.hooks, hooks)
      continue
    }
    hooks.forEach((hook, i) => { checkCommand(hook, at(at(path, field), i), problems) })
  }
}

/** rules that tie fields together (`hostPorts`: ports of mode host, bound by the container); call only with fields that passed their own checks */
export function checkCombined (spec: { replicas?: number, singleton?: boolean, maxUnavailable?: number, hostPorts?: boolean, standby?: boolean, namedVolumes?: boolean }, path: string, problems: Problems): void {
  const { replicas, singleton, maxUnavailable } = spec
  // a created container of a singleton or of named volumes would hold what must exist once: the data moves by restore, not by a standby
  if (spec.standby === true && singleton === true) problems.bad(at(path, 'standby'), 'must be false for a singleton (its one copy moves with its data; remove standby)', spec.standby)
  else if (spec.standby === true && spec.namedVolumes === true) problems.bad(at(path, 'standby'), 'must be false for a service with named volumes (their data moves by restore; remove standby)', spec.standby)
  if (replicas === undefined) return
  if (singleton === true && replicas > 1) problems.bad(at(path, 'replicas'), 'must be 0 or 1 for a singleton service', replicas)
  // maxUnavailable 0 means "surge": the new copy of a replica starts beside the old one, so the two run together for a moment
  if (maxUnavailable === 0 && singleton === true) problems.bad(at(at(path, 'update'), 'maxUnavailable'), 'must be 1 for a singleton (0 starts the new copy beside the old one, and a singleton never runs twice)', maxUnavailable)
  if (maxUnavailable === 0 && spec.hostPorts === true) problems.bad(at(at(path, 'update'), 'maxUnavailable'), 'must be at least 1 for a service that publishes ports of mode host (0 starts the new copy beside the old one, and both would need the port)', maxUnavailable)
  // maxUnavailable above the replica count means all at once: it is not tied to the count, so scaling never rewrites it
}

/** the numeric health fields, in milliseconds and counts; shared with the parser, which shows the written value */
export function checkHealthNumbers (value: { interval?: unknown, timeout?: unknown, retries?: unknown, startPeriod?: unknown }, path: string, problems: Problems, shown: Record<string, unknown> = value): void {
  const L = SPEC_LIMITS
  if (!isWhole(value.interval, L.minHealthInterval, L.maxHealthInterval)) problems.bad(at(path, 'interval'), durationRule(L.minHealthInterval, L.maxHealthInterval), shown.interval)
  if (!isWhole(value.timeout, L.minHealthTimeout, L.maxHealthTimeout)) problems.bad(at(path, 'timeout'), durationRule(L.minHealthTimeout, L.maxHealthTimeout), shown.timeout)
  if (!isWhole(value.startPeriod, 0, L.maxHealthStartPeriod)) problems.bad(at(path, 'startPeriod'), durationRule(0, L.maxHealthStartPeriod), shown.startPeriod)
  if (!isWhole(value.retries, 1, L.maxHealthRetries)) problems.bad(at(path, 'retries'), RULES.retries, shown.retries)
}

function durationRule (min: number, max: number): string {
  return durationRuleText({ min, max })
}
