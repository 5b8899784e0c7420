/**
 * One Compose service → the fields of one minga service (as a minga spec
 * file would write them, units as text), its config files and its secrets.
 * minga's own parser then checks and normalizes them; every field records
 * which Compose field it came from, so a problem names what the user wrote.
 */
import { portMode, splitWords } from '@minga/protocol'
import type { Translation } from './context.js'
import { translateBackup } from './backup.js'
import { translateBuild, type ComposeBuild } from './build.js'
import { translateDeploy } from './deploy.js'
import { parseEnvFile, EnvFileError } from './dotenv.js'
import { IGNORED, REFUSED, TRANSLATED } from './fields.js'
import { translateMounts, type ServiceMounts } from './mounts.js'
import { translateExpose, translatePorts } from './ports.js'
import { ProjectFileError } from './project-files.js'

export interface ServiceOut {
  /** the minga spec file fields (without `image` when the service is built and names none) */
  fields: Record<string, unknown>
  mounts: ServiceMounts
  /** its `build:`, to build before it is declared */
  build?: Omit<ComposeBuild, 'service' | 'tag'>
}

const MAX_ENV_FILE = 256 * 1024

/**
 * one Compose service as a minga spec (before minga's own checks): image, command, environment, ports, mounts, deploy, healthcheck; refused and ignored fields reported
 */
export function translateService (service: Record<string, unknown>, t: Translation): ServiceOut {
  for (const key of Object.keys(service)) {
    if (key.startsWith('x-') || TRANSLATED.has(key)) continue
    const ignored = IGNORED[key]
    if (ignored !== undefined) {
      const text = ignored(service[key])
      if (text !== '') t.warn(key, text)
    } else if (REFUSED[key] !== undefined) t.problem(key, REFUSED[key])
    else t.problem(key, 'not supported by minga\'s Compose translation; remove it')
  }
  const fields: Record<string, unknown> = {}
  // a service with build: runs what was built, tagged as its image: says (as Docker Compose tags it)
  const build = service.build === undefined ? undefined : translateBuild(service.build, t, t.project.files.dir === '' ? undefined : t.project.files.dir)
  if (typeof service.image === 'string' && service.image !== '') {
    fields.image = service.image
    t.map('image', 'image')
  } else if (service.build === undefined) {
    t.problem('image', 'missing: name the image to run, like nginx:1.27')
  }

  const entrypoint = words(service.entrypoint, 'entrypoint', t)
  if (entrypoint !== undefined) { fields.entrypoint = entrypoint; t.map('entrypoint', 'entrypoint') }
  const command = words(service.command, 'command', t)
  if (command !== undefined && command.length > 0) { fields.command = command; t.map('command', 'command') }
  if (service.user !== undefined && service.user !== null) { fields.user = String(service.user); t.map('user', 'user') }

  const env = environment(service, t)
  if (Object.keys(env).length > 0) fields.env = env

  const published = translatePorts(service.ports, 'ports', t)
  const ports = [...published, ...translateExpose(service.expose, published, t)]
  if (ports.length > 0) fields.ports = ports
  // only a port the container binds on its node keeps a new copy from starting beside the old one there
  Object.assign(fields, translateDeploy(service, ports.some(p => p.host !== undefined && portMode({ mode: p.mode, protocol: p.protocol === 'udp' ? 'udp' : 'tcp' }) === 'host'), t))
  const health = healthcheck(service.healthcheck, t)
  if (health !== undefined) fields.health = health

  const mounts = translateMounts(service, t)
  if (translateBackup(service, mounts.volumes, fields.replicas as number | undefined, t)) fields.singleton = true
  if (mounts.volumes.length > 0) fields.volumes = mounts.volumes
  if (mounts.tmpfs.length > 0) fields.tmpfs = mounts.tmpfs
  // minga spec files write modes in octal
  if (mounts.secretFiles.length > 0) fields.secretFiles = mounts.secretFiles.map(f => ({ ...f, mode: `0${f.mode.toString(8)}` }))
  return { fields, mounts, ...(build === undefined ? {} : { build }) }
}

/** Compose's `command`/`entrypoint`: a list as it is; a string split into words (no shell) */
function words (value: unknown, path: string, t: Translation): string[] | undefined {
  if (value === undefined || value === null) return undefined
  if (Array.isArray(value)) return value.map(v => v === null ? '' : String(v))
  if (typeof value !== 'string') {
    t.problem(path, 'must be a string or a list of strings')
    return undefined
  }
  const split = splitWords(value)
  if ('error' in split) {
    t.problem(path, `${JSON.stringify(value.length > 60 ? value.slice(0, 60) + '…' : value)} ${split.error}`)
    return undefined
  }
  return split.words
}

/** `env_file:` first, then `environment:` over it; a name without a value takes it from the environment of minga deploy */
function environment (service: Record<string, unknown>, t: Translation): Record<string, string> {
  const env: Record<string, string> = {}
  const set = (key: string, value: string): void => { Object.defineProperty(env, key, { value, enumerable: true, writable: true, configurable: true }) }
  const files = service.env_file === undefined || service.env_file === null ? [] : Array.isArray(service.env_file) ? service.env_file : [service.env_file]
  files.forEach((item, i) => {
    const where = Array.isArray(service.env_file) ? `env_file[${i}]` : 'env_file'
    const path = typeof item === 'string' ? item : item !== null && typeof item === 'object' ? (item as Record<string, unknown>).path : undefined
    const required = !(item !== null && typeof item === 'object' && ['false', false].includes((item as Record<string, unknown>).required as string))
    if (typeof path !== 'string') { t.problem(where, 'must be a file name, or a mapping with path and required'); return }
    try {
      for (const [key, value] of parseEnvFile(t.project.files.read(path, MAX_ENV_FILE).toString('utf8'), t.project.lookup)) set(key, value)
    } catch (err) {
      if (err instanceof ProjectFileError && !required && err.message.includes('does not exist')) return
      if (err instanceof ProjectFileError || err instanceof EnvFileError) t.problem(where, `${path}: ${err.message}`)
      else throw err
    }
  })
  const given = service.environment
  if (Array.isArray(given)) {
    given.forEach((item, i) => {
      const line = String(item)
      const eq = line.indexOf('=')
      if (eq === 0) { t.problem(`environment[${i}]`, `${JSON.stringify(line)} has no variable name; write NAME=value`); return }
      if (eq > 0) set(line.slice(0, eq), line.slice(eq + 1))
      else {
        const inherited = t.project.lookup(line)
        if (inherited !== undefined) set(line, inherited)
      }
    })
  } else if (given !== null && typeof given === 'object') {
    for (const [key, value] of Object.entries(given)) {
      if (value === null) {
        const inherited = t.project.lookup(key)
        if (inherited !== undefined) set(key, inherited)
      } else if (typeof value === 'object') {
        t.problem(`environment.${key}`, 'must be a string, a number or true/false')
      } else {
        set(key, String(value))
      }
    }
  } else if (given !== undefined && given !== null) {
    t.problem('environment', 'must be a mapping of NAME: value or a list of NAME=value')
  }
  t.map('env', 'environment')
  return env
}

const HEALTH_FIELDS = new Set(['test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable'])
/** Compose's defaults when a healthcheck gives only `test` */
const HEALTH_DEFAULTS = { interval: '30s', timeout: '30s', retries: 3, startPeriod: '0s' }

function healthcheck (value: unknown, t: Translation): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'object' || Array.isArray(value)) {
    t.problem('healthcheck', 'must be a mapping with test, interval, timeout, retries and start_period')
    return undefined
  }
  const h = value as Record<string, unknown>
  for (const key of Object.keys(h)) if (!HEALTH_FIELDS.has(key)) t.problem(`healthcheck.${key}`, 'not a field of a healthcheck')
  if (h.disable === true || h.disable === 'true') return undefined
  const test = h.test
  let cmd: string[] | undefined
  if (typeof test === 'string') cmd = ['sh', '-c', test]
  else if (Array.isArray(test) && test[0] === 'NONE') return undefined
  else if (Array.isArray(test) && test[0] === 'CMD' && test.length > 1) cmd = test.slice(1).map(String)
  else if (Array.isArray(test) && test[0] === 'CMD-SHELL' && test.length === 2) cmd = ['sh', '-c', String(test[1])]
  else {
    t.problem('healthcheck.test', 'must be a command line, ["CMD", "program", "arg"…], ["CMD-SHELL", "command line"] or ["NONE"]')
    return undefined
  }
  if (h.start_interval !== undefined) t.warn('healthcheck.start_interval', 'ignored: checks run every interval from the start')
  const retries = h.retries === undefined || h.retries === null ? HEALTH_DEFAULTS.retries : /^\d+$/.test(String(h.retries)) ? Number(h.retries) : h.retries
  t.map('health', 'healthcheck')
  t.map('health.cmd', 'healthcheck.test')
  t.map('health.startPeriod', 'healthcheck.start_period')
  return {
    cmd,
    interval: text(h.interval) ?? HEALTH_DEFAULTS.interval,
    timeout: text(h.timeout) ?? HEALTH_DEFAULTS.timeout,
    retries,
    startPeriod: text(h.start_period) ?? HEALTH_DEFAULTS.startPeriod
  }
}

function text (value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : String(value)
}
