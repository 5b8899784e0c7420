/**
 * The parser's readers of single fields of a spec file: commands, env,
 * resources, health checks, ports and volumes (and lists of them), from the
 * forms people write (`"8080:80"`, `500m`, `64Mi`, `5s`) to the normalized
 * form, each problem reported at its path.
 */
import { parseDuration } from './duration.js'
import { BACKUP_INTERVAL_LIMITS, SPEC_DEFAULTS, type HealthSpec, type PortSpec, type ServiceSpec, type VolumeBackupSpec, type VolumeSpec } from './spec.js'
import {
  Problems, SPEC_LIMITS, at, checkCommand, checkEnv, checkFields, checkHealthNumbers, checkPort, checkVolume, BACKUP_RULES, isPlainObject, isWhole
} from './spec-rules.js'
import { define, readStrings } from './spec-parse-container.js'
import { checkPortRouting } from './spec-routes.js'
import { parseCpu, parseMemory } from './spec-units.js'
import { child, own, scalarText, type Texts } from './spec-yaml.js'

const RESOURCE_FIELDS = new Set(['cpu', 'memory'])
const HEALTH_FIELDS = new Set(['cmd', 'interval', 'timeout', 'retries', 'startPeriod'])

const CPU_RULE = `must be cores like 0.5 or 2, or millicores like 500m, from 1m to ${SPEC_LIMITS.maxCpu / 1000} cores`
const MEMORY_RULE = 'must be bytes or a size like 64Mi, 1Gi, 512M or 1G, from 4Mi to 1Ti'
export const COMMAND_RULE = 'must be a command line (run by sh -c) or a list of arguments'
const PORT_RULE = 'must be a port like "80", "8080:80", "127.0.0.1:8080:80", "53/udp" or a mapping with container, host, hostIp, protocol, mode and proxyProtocol'
const VOLUME_RULE = 'must be "name:/path", "name:/path:ro", "/path" (an anonymous volume) or a mapping with name, path and readOnly'

/**
 * a command as written (a string run by `sh -c`, or a list of arguments) to its stored list; undefined with a problem when bad
 */
export function normalizeCommand (given: unknown, texts: Texts, path: string, problems: Problems): string[] | undefined {
  // `cmd: true` means the command true
  const raw = scalarText(given, texts)
  let command: unknown
  if (typeof raw === 'string') {
    if (raw.trim() === '') {
      problems.bad(path, COMMAND_RULE, raw)
      return undefined
    }
    command = ['sh', '-c', raw]
  } else if (Array.isArray(raw)) {
    command = raw.length > SPEC_LIMITS.maxArgs ? raw : raw.map((arg, i) => scalarText(arg, child(texts, i)))
  } else {
    problems.bad(path, COMMAND_RULE, raw)
    return undefined
  }
  const before = problems.size
  checkCommand(command, path, problems)
  return problems.size === before ? command as string[] : undefined
}

/** `env:` as written (a mapping or a list of KEY=VALUE) to a mapping of strings, numbers kept as written */
export function normalizeEnv (raw: unknown, texts: Texts, path: string, problems: Problems): Record<string, string> {
  const env: Record<string, string> = {}
  if (raw === undefined) return env
  if (Array.isArray(raw)) {
    if (raw.length > SPEC_LIMITS.maxEnvVars) {
      problems.add(path, `has ${raw.length} variables (at most ${SPEC_LIMITS.maxEnvVars})`)
      return env
    }
    raw.forEach((item, i) => {
      const line = scalarText(item, child(texts, i))
      const eq = typeof line === 'string' ? line.indexOf('=') : -1
      if (typeof line !== 'string' || eq < 1) {
        problems.bad(at(path, i), 'must be NAME=value', item)
      } else if (Object.hasOwn(env, line.slice(0, eq))) {
        problems.add(at(path, i), `${line.slice(0, eq)} is set twice`)
      } else {
        define(env, line.slice(0, eq), line.slice(eq + 1))
      }
    })
  } else if (isPlainObject(raw)) {
    if (!readStrings(raw, texts, env, { path, max: SPEC_LIMITS.maxEnvVars, what: 'variables', rule: 'must be a string, a number or true/false (write "" for an empty value)' }, problems)) return env
  } else {
    problems.bad(path, 'must be a mapping of NAME: value or a list of NAME=value', raw)
    return env
  }
  checkEnv(env, path, problems)
  return env
}

/** `resources:` as written (cpu in cores or millicores, memory with units) to millicores and bytes */
export function normalizeResources (raw: unknown, path: string, problems: Problems): ServiceSpec['resources'] | undefined {
  if (raw === undefined) return { cpu: SPEC_DEFAULTS.cpu, memory: SPEC_DEFAULTS.memory }
  if (!isPlainObject(raw)) {
    problems.bad(path, 'must be a mapping with cpu and memory', raw)
    return undefined
  }
  checkFields(raw, RESOURCE_FIELDS, path, problems)
  const cpuRaw = own(raw, 'cpu')
  const memoryRaw = own(raw, 'memory')
  const cpu = cpuRaw === undefined ? SPEC_DEFAULTS.cpu : parseCpu(cpuRaw)
  const memory = memoryRaw === undefined ? SPEC_DEFAULTS.memory : parseMemory(memoryRaw)
  const cpuOk = isWhole(cpu, SPEC_LIMITS.minCpu, SPEC_LIMITS.maxCpu)
  const memoryOk = isWhole(memory, SPEC_LIMITS.minMemory, SPEC_LIMITS.maxMemory)
  if (!cpuOk) problems.bad(at(path, 'cpu'), CPU_RULE, cpuRaw)
  if (!memoryOk) problems.bad(at(path, 'memory'), MEMORY_RULE, memoryRaw)
  return cpuOk && memoryOk ? { cpu, memory } : undefined
}

/** `health:` as written (cmd, durations like 5s) to its stored form with milliseconds and defaults */
export function normalizeHealth (raw: unknown, texts: Texts, path: string, problems: Problems): HealthSpec | undefined {
  if (!isPlainObject(raw)) {
    problems.bad(path, 'must be a mapping with cmd, and optionally interval, timeout, retries and startPeriod', raw)
    return undefined
  }
  const before = problems.size
  checkFields(raw, HEALTH_FIELDS, path, problems)
  const cmdRaw = own(raw, 'cmd')
  const cmd = cmdRaw === undefined ? undefined : normalizeCommand(cmdRaw, child(texts, 'cmd'), at(path, 'cmd'), problems)
  if (cmdRaw === undefined) problems.bad(at(path, 'cmd'), COMMAND_RULE, undefined)
  const numbers = {
    interval: parseDuration(own(raw, 'interval') ?? `${SPEC_DEFAULTS.healthInterval}ms`),
    timeout: parseDuration(own(raw, 'timeout') ?? `${SPEC_DEFAULTS.healthTimeout}ms`),
    retries: own(raw, 'retries') ?? SPEC_DEFAULTS.healthRetries,
    startPeriod: parseDuration(own(raw, 'startPeriod') ?? `${SPEC_DEFAULTS.healthStartPeriod}ms`)
  }
  checkHealthNumbers(numbers, path, problems, raw)
  if (problems.size > before || cmd === undefined) return undefined
  return { cmd, interval: numbers.interval, timeout: numbers.timeout, retries: numbers.retries as number, startPeriod: numbers.startPeriod }
}

/**
 * A list field (at most `max` items) read item by item with `normalizeItem`, then checked as a whole by `checkAll`;
 * undefined with problems when any item is bad
 */
export function normalizeList<T> (
  raw: unknown, max: number, what: string, path: string, problems: Problems,
  normalizeItem: (item: unknown, path: string, problems: Problems, index: number) => T | undefined,
  checkUnique: (items: Array<T | undefined>, path: string, problems: Problems) => void
): T[] | undefined {
  if (raw === undefined) return []
  if (!Array.isArray(raw) || raw.length > max) {
    problems.bad(path, `must be a list of at most ${max} ${what}`, raw)
    return undefined
  }
  const before = problems.size
  const items = raw.map((item, i) => normalizeItem(item, at(path, i), problems, i))
  checkUnique(items, path, problems)
  return problems.size === before ? items as T[] : undefined
}

/** a port as written (`8080:80`, `127.0.0.1:8080:80/udp`, a number, or a mapping) to its stored form */
export function normalizePort (raw: unknown, path: string, problems: Problems): PortSpec | undefined {
  let port: Record<string, unknown>
  if (typeof raw === 'number') {
    port = { container: raw, protocol: 'tcp' }
  } else if (typeof raw === 'string') {
    // [ip:]host:container or container, with an optional /protocol; an IPv6 address in brackets
    const match = /^(?:(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d{1,5}):)?(\d{1,5})(?:\/(tcp|udp))?$/.exec(raw)
    if (match === null) {
      problems.bad(path, PORT_RULE, raw)
      return undefined
    }
    port = { container: Number(match[3]), protocol: match[4] ?? 'tcp' }
    if (match[2] !== undefined) port.host = Number(match[2])
    if (match[1] !== undefined) port.hostIp = match[1].replace(/^\[|\]$/g, '')
  } else if (isPlainObject(raw)) {
    port = { ...raw, protocol: own(raw, 'protocol') ?? 'tcp' }
    if (port.host === null) delete port.host
  } else {
    problems.bad(path, PORT_RULE, raw)
    return undefined
  }
  if (!checkPort(port, path, problems)) return undefined
  const before = problems.size
  checkPortRouting(port, path, problems)
  if (problems.size > before) return undefined
  const { container, host, hostIp, protocol, mode, proxyProtocol } = port as PortSpec
  // mode ingress is the default and is not stored: a spec written before modes existed keeps its hash
  return { container, ...(host === undefined ? {} : { host }), ...(hostIp === undefined ? {} : { hostIp }), protocol, ...(mode === 'host' ? { mode } : {}), ...(proxyProtocol === undefined ? {} : { proxyProtocol }) }
}

/** a volume as written (`name:/path[:ro]`, `/path`, or a mapping) to its stored form */
export function normalizeVolume (raw: unknown, texts: Texts, path: string, problems: Problems): VolumeSpec | undefined {
  let volume: Record<string, unknown>
  if (typeof raw === 'string') {
    const parts = raw.split(':')
    if (parts.length > 3 || (parts.length === 3 && parts[2] !== 'ro' && parts[2] !== 'rw')) {
      problems.bad(path, VOLUME_RULE, raw)
      return undefined
    }
    volume = parts.length === 1 ? { path: parts[0], readOnly: false } : { name: parts[0], path: parts[1], readOnly: parts[2] === 'ro' }
  } else if (isPlainObject(raw)) {
    volume = { ...raw, readOnly: own(raw, 'readOnly') ?? false }
    if (own(raw, 'backup') !== undefined) {
      const backup = normalizeVolumeBackup(own(raw, 'backup'), child(texts, 'backup'), at(path, 'backup'), problems)
      if (backup === undefined) return undefined
      volume.backup = backup
    }
  } else {
    problems.bad(path, VOLUME_RULE, raw)
    return undefined
  }
  if (!checkVolume(volume, path, problems)) return undefined
  const { name, path: mountPath, readOnly, backup } = volume as VolumeSpec
  return { ...(name === undefined ? {} : { name }), path: mountPath, readOnly, ...(backup === undefined ? {} : { backup }) }
}

/**
 * `backup: false` (never), `true` (the default), or a mapping: `interval`
 * (a duration, default 5m), `pre` and `post` (a command line, or a list of
 * commands: each a line run with sh -c, or a list of words)
 */
function normalizeVolumeBackup (raw: unknown, texts: Texts, path: string, problems: Problems): VolumeBackupSpec | undefined {
  if (raw === false || raw === 'off') return { interval: 0 }
  if (raw === true) return { interval: SPEC_DEFAULTS.backupInterval }
  if (!isPlainObject(raw)) {
    problems.bad(path, 'must be false (never backed up), true, or a mapping with interval, pre and post', raw)
    return undefined
  }
  const before = problems.size
  const written = own(raw, 'interval')
  const interval = written === undefined ? SPEC_DEFAULTS.backupInterval : parseDuration(written, { step: 1000 })
  if (interval !== 0 && !(interval >= BACKUP_INTERVAL_LIMITS.min && interval <= BACKUP_INTERVAL_LIMITS.max)) problems.bad(at(path, 'interval'), BACKUP_RULES.interval, written)
  const out: Record<string, unknown> = { ...raw, interval }
  for (const field of ['pre', 'post'] as const) {
    const hooks = own(raw, field)
    if (hooks === undefined) continue
    // one command line, or a list of commands (each a line for sh -c, or a list of words)
    const single = typeof hooks === 'string'
    const list = single ? [hooks] : hooks
    if (!Array.isArray(list)) {
      problems.bad(at(path, field), BACKUP_RULES.hooks, hooks)
      continue
    }
    const hookTexts = child(texts, field)
    out[field] = list.map((hook, i) => normalizeCommand(hook, single ? hookTexts : child(hookTexts, i), at(at(path, field), i), problems))
  }
  if (problems.size > before) return undefined
  // the stored form's own check runs with the volume's (checkVolume); an unknown field shows there once
  return out as unknown as VolumeBackupSpec
}
