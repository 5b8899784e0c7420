/**
 * Translation of a Compose file's services into the minga spec format,
 * which `parseServiceSpec` then validates and normalizes, so units, limits
 * and error messages are minga's own.
 */
import { parse, stringify } from 'yaml'
import { InvalidSpecError, parseServiceSpec, type ServiceSpec } from '@minga/protocol'

export interface ComposeResult {
  specs: ServiceSpec[]
  /** Compose features minga ignored, one line each */
  warnings: string[]
}

const MAX_COMPOSE_BYTES = 256 * 1024
const IGNORED = new Set(['networks', 'depends_on', 'container_name', 'restart', 'hostname', 'stop_grace_period', 'logging', 'labels', 'expose', 'init', 'tty', 'stdin_open'])
const REFUSED: Record<string, string> = {
  build: 'minga runs images, it does not build them: build and push the image, then name it in image:',
  network_mode: 'minga decides container networking; remove network_mode',
  privileged: 'minga does not run privileged containers',
  devices: 'minga does not pass host devices into containers',
  extends: 'write the service out in full; extends is not supported',
  secrets: 'use "minga secret set SERVICE KEY" for secrets',
  configs: 'put configuration in environment variables or a volume'
}
const KNOWN = new Set(['image', 'command', 'entrypoint', 'environment', 'env_file', 'ports', 'deploy', 'healthcheck', 'volumes', 'mem_limit', 'cpus', ...IGNORED, ...Object.keys(REFUSED)])

export function isComposeFileName (path: string): boolean {
  return /(^|\/)(docker-)?compose[^/]*\.ya?ml$/i.test(path)
}

export function parseComposeFile (text: string, options: { org?: string, source?: string } = {}): ComposeResult {
  const source = `${options.source ?? 'The Compose file'} (read as Docker Compose)`
  if (text.length > MAX_COMPOSE_BYTES) throw new InvalidSpecError([`the file is ${text.length} bytes; at most ${MAX_COMPOSE_BYTES}`], source)
  let doc: any
  try {
    doc = parse(text, { maxAliasCount: 100, uniqueKeys: true })
  } catch (err: any) {
    throw new InvalidSpecError([`not valid YAML: ${String(err.message).split('\n')[0]}`], source)
  }
  if (doc === null || typeof doc !== 'object' || typeof doc.services !== 'object' || doc.services === null || Array.isArray(doc.services)) {
    throw new InvalidSpecError(['services: a Compose file needs a services: mapping of name to service'], source)
  }
  const problems: string[] = []
  const warnings: string[] = []
  const services: Record<string, unknown> = {}
  for (const [name, raw] of Object.entries<any>(doc.services)) {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push(`services.${name}: must be a mapping`)
      continue
    }
    for (const key of Object.keys(raw)) {
      if (REFUSED[key] !== undefined) problems.push(`services.${name}.${key}: ${REFUSED[key]}`)
      else if (IGNORED.has(key)) warnings.push(`services.${name}.${key}: ignored (minga handles it its own way)`)
      else if (!KNOWN.has(key)) problems.push(`services.${name}.${key}: not supported by minga's Compose translation`)
    }
    services[name] = translate(name, raw, problems)
  }
  if (problems.length > 0) throw new InvalidSpecError(problems, source)
  const specs = parseServiceSpec(stringify({ ...(options.org === undefined ? {} : { org: options.org }), services }), { source, org: options.org })
  return { specs, warnings }
}

function translate (name: string, raw: any, problems: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (raw.image !== undefined) out.image = raw.image
  const command = [...asArgs(raw.entrypoint), ...asArgs(raw.command)]
  if (command.length > 0) out.command = command
  if (raw.environment !== undefined) out.env = raw.environment
  if (raw.env_file !== undefined) problems.push(`services.${name}.env_file: minga cannot read files on your machine; put the variables in environment:`)
  if (raw.ports !== undefined) out.ports = (Array.isArray(raw.ports) ? raw.ports : []).map((p: any) => typeof p === 'object' && p !== null ? { container: p.target, host: p.published === undefined ? undefined : Number(p.published), protocol: p.protocol ?? 'tcp' } : String(p))
  const deploy = raw.deploy ?? {}
  if (deploy.replicas !== undefined) out.replicas = deploy.replicas
  if (deploy.mode === 'global') problems.push(`services.${name}.deploy.mode: global services are not supported; set replicas`)
  const limits = deploy.resources?.limits ?? deploy.resources?.reservations ?? {}
  const cpus = limits.cpus ?? raw.cpus
  const memory = limits.memory ?? raw.mem_limit
  if (cpus !== undefined || memory !== undefined) out.resources = { ...(cpus === undefined ? {} : { cpu: Number(cpus) }), ...(memory === undefined ? {} : { memory: composeMemory(memory) }) }
  if (deploy.update_config?.parallelism !== undefined) out.update = { maxUnavailable: deploy.update_config.parallelism }
  if (raw.healthcheck !== undefined && raw.healthcheck.disable !== true) out.health = translateHealth(name, raw.healthcheck, problems)
  if (raw.volumes !== undefined) out.volumes = (Array.isArray(raw.volumes) ? raw.volumes : []).map((v: any) => translateVolume(name, v, problems)).filter(Boolean)
  return out
}

function asArgs (value: unknown): string[] {
  if (value === undefined || value === null) return []
  if (Array.isArray(value)) return value.map(String)
  return ['sh', '-c', String(value)]
}

/** Compose writes `512m`, `1g`, `1gb`; minga `512Mi`, `1Gi` */
function composeMemory (value: unknown): unknown {
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)\s*([kmg])b?$/i.exec(value.trim()) : null
  return match === null ? value : `${match[1]}${match[2].toUpperCase()}i`
}

function translateHealth (name: string, health: any, problems: string[]): Record<string, unknown> | undefined {
  const test = health.test
  let cmd: string[] | undefined
  if (typeof test === 'string') cmd = ['sh', '-c', test]
  else if (Array.isArray(test) && test[0] === 'CMD') cmd = test.slice(1).map(String)
  else if (Array.isArray(test) && test[0] === 'CMD-SHELL') cmd = ['sh', '-c', String(test[1])]
  else if (Array.isArray(test) && test[0] === 'NONE') return undefined
  else problems.push(`services.${name}.healthcheck.test: use a string, ["CMD", …] or ["CMD-SHELL", "…"]`)
  const out: Record<string, unknown> = { cmd }
  for (const [from, to] of [['interval', 'interval'], ['timeout', 'timeout'], ['start_period', 'startPeriod']]) if (health[from] !== undefined) out[to] = health[from]
  if (health.retries !== undefined) out.retries = health.retries
  return out
}

function translateVolume (name: string, volume: any, problems: string[]): unknown {
  const text = typeof volume === 'string' ? volume : volume?.type === 'volume' ? `${volume.source}:${volume.target}${volume.read_only === true ? ':ro' : ''}` : undefined
  if (text === undefined || /^[./~]/.test(text)) {
    problems.push(`services.${name}.volumes: ${JSON.stringify(volume)} mounts a host path; minga runs services on any node, so use a named volume (name:/path)`)
    return undefined
  }
  return text
}
