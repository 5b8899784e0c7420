/**
 * A Compose file → the minga services of its project. The file is read as
 * Compose reads it (YAML merge keys, every value interpolated, `x-` fields
 * ignored), each service is translated (service.ts), checked by minga's own
 * spec parser, and every problem is reported at the Compose field the user
 * wrote. Nothing is returned unless every service translates.
 */
import { basename } from 'node:path'
import { stringify } from 'yaml'
import {
  CONFIG_CHUNK_BYTES, InvalidSpecError, configChunks, SPEC_FILE_LIMITS, SPEC_LIMITS, canonicalJson, checkServiceSpec, parseServiceSpec, type ConfigFileSpec, type ServiceSpec
} from '@minga/protocol'
import { Translation, type ProjectContext } from './context.js'
import { BY_NAME, TOP_LEVEL } from './fields.js'
import { interpolateTree } from './interpolate.js'
import { projectName, serviceName } from './names.js'
import { ProjectFiles } from './project-files.js'
import { translateService, type ServiceOut } from './service.js'
import type { ComposeBuild } from './build.js'
import { readComposeYaml } from './yaml.js'

export interface ComposeOptions {
  /** the organization the services belong to */
  org?: string
  /** names the file in messages, e.g. `compose.yaml` */
  source?: string
  /** the project folder: relative paths (bind mounts, env_file, configs, secrets) resolve here */
  dir?: string
  /** the project name (`-p`); else COMPOSE_PROJECT_NAME, the file's `name:`, the folder's name */
  project?: string
  /** the variables interpolation reads (the environment, and env files under it) */
  env?: Record<string, string | undefined>
}

export interface ComposeProject {
  /** the project's minga name */
  name: string
  specs: ServiceSpec[]
  /** what minga ignores or does differently, one line each, naming the Compose field */
  warnings: string[]
  /** secrets to set on services before they deploy (Compose `secrets:`) */
  secrets: Array<{ service: string, name: string, value: Buffer }>
  /** content of config files, in chunks, to store before the services deploy */
  configs: Array<{ service: string, chunks: Buffer[] }>
  /** images to build (Compose `build:`) before the services deploy; each service runs its build's digest */
  builds: ComposeBuild[]
}

const VOLUME_DEF_FIELDS = new Set(['driver', 'driver_opts', 'external', 'name', 'labels'])

/** Translate a Compose file; throws InvalidSpecError listing every problem, at the Compose field it concerns */
export function parseComposeFile (text: string, options: ComposeOptions = {}): ComposeProject {
  const source = `${options.source ?? 'The Compose file'} (read as Docker Compose)`
  const fail = (problems: string[]): never => { throw new InvalidSpecError(problems, source) }
  const read = readComposeYaml(text)
  if ('problems' in read) return fail(read.problems)
  if (read.value === null || typeof read.value !== 'object' || Array.isArray(read.value)) return fail(['a Compose file is a mapping with services:'])
  const env = options.env ?? {}
  const lookup = (name: string): string | undefined => Object.hasOwn(env, name) ? env[name] : undefined
  const problems: string[] = []
  const warnings: string[] = []
  const unset = new Set<string>()
  const root = interpolateTree(read.value, lookup, problems, unset) as Record<string, unknown>
  for (const name of [...unset].sort()) warnings.push(`the variable ${name} is not set: it is read as an empty string (set it in the environment, in .env beside the Compose file, or with --env-file)`)
  for (const key of Object.keys(root)) {
    if (key === 'include') problems.push('include: not supported; put the services into one file')
    else if (!TOP_LEVEL.has(key) && !key.startsWith('x-')) problems.push(`${key}: not a top-level field of a Compose file (services, volumes, configs, secrets, networks, name)`)
  }
  const services = root.services
  if (services === null || typeof services !== 'object' || Array.isArray(services)) return fail([...problems, 'services: a Compose file needs a services: mapping of name to service'])

  const project = chooseProject(options, lookup, root.name)
  if (project === undefined) return fail([...problems, 'the project has no name minga can use: give one with -p NAME (letters, digits and dashes)'])
  const ctx: ProjectContext = {
    name: project,
    files: new ProjectFiles(options.dir),
    lookup,
    problems,
    warnings,
    volumes: definitions(root.volumes, 'volumes', problems),
    configs: definitions(root.configs, 'configs', problems),
    secrets: definitions(root.secrets, 'secrets', problems)
  }
  checkVolumeDefinitions(ctx)
  if (root.networks !== undefined && root.networks !== null) warnings.push(`networks: ignored: minga puts every service on its node's service network; ${BY_NAME}`)

  const entries = Object.entries(services as Record<string, unknown>)
  if (entries.length > SPEC_FILE_LIMITS.maxServices) return fail([...problems, `services: the file holds ${entries.length} services; at most ${SPEC_FILE_LIMITS.maxServices}`])
  const out: ComposeProject = { name: project, specs: [], warnings, secrets: [], configs: [], builds: [] }
  const names = new Map<string, string>()
  const volumeUsers = new Map<string, string[]>()
  for (const [composeName, raw] of entries) {
    const prefix = `services.${composeName}`
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push(`${prefix}: must be a mapping of service fields`)
      continue
    }
    const service = raw as Record<string, unknown>
    if (service.profiles !== undefined && service.profiles !== null) {
      warnings.push(`${prefix}: not deployed: it belongs to profiles ${[service.profiles].flat().join(', ')} (docker compose starts it only with --profile)`)
      continue
    }
    const named = serviceName(project, composeName)
    if ('problem' in named) { problems.push(`${prefix}: ${named.problem}`); continue }
    const first = names.get(named.name)
    if (first !== undefined) { problems.push(`${prefix}: becomes ${named.name} in minga, as services.${first} does; rename one of them`); continue }
    names.set(named.name, composeName)
    const t = new Translation(prefix, ctx)
    const before = problems.length
    const translated = translateService(service, t)
    for (const volume of translated.mounts.named) volumeUsers.set(volume, [...(volumeUsers.get(volume) ?? []), composeName])
    // minga's checks would only restate what the translation found (an image missing where build: was refused)
    if (problems.length > before) continue
    if (translated.build !== undefined) translated.fields.image ??= `${options.org ?? 'org'}/${named.name}:latest`
    const spec = toSpec(named.name, translated, t, options)
    if (spec === undefined) continue
    out.specs.push(spec.spec)
    if (translated.build !== undefined) out.builds.push({ service: named.name, ...translated.build, tag: spec.spec.image })
    for (const [name, value] of translated.mounts.secrets) out.secrets.push({ service: named.name, name, value })
    if (spec.chunks.length > 0) out.configs.push({ service: named.name, chunks: spec.chunks })
  }
  for (const [volume, users] of volumeUsers) {
    if (users.length > 1) warnings.push(`volumes.${volume}: mounted by services ${users.join(', ')}; in minga each service has its own volume on the node that runs it, so they do not share its files`)
  }
  if (problems.length > 0) fail(problems)
  return out
}

function chooseProject (options: ComposeOptions, lookup: (name: string) => string | undefined, written: unknown): string | undefined {
  const given = options.project ?? lookup('COMPOSE_PROJECT_NAME') ?? (typeof written === 'string' && written !== '' ? written : undefined) ?? (options.dir === undefined ? undefined : basename(options.dir))
  return given === undefined ? undefined : projectName(given)
}

function definitions (value: unknown, kind: string, problems: string[]): Map<string, unknown> {
  if (value === undefined || value === null) return new Map()
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${kind}: must be a mapping of name to definition`)
    return new Map()
  }
  return new Map(Object.entries(value).filter(([name]) => !name.startsWith('x-')))
}

function checkVolumeDefinitions (ctx: ProjectContext): void {
  for (const [name, def] of ctx.volumes) {
    if (def === null || def === undefined) continue
    if (typeof def !== 'object' || Array.isArray(def)) { ctx.problems.push(`volumes.${name}: must be a mapping (or empty)`); continue }
    const d = def as Record<string, unknown>
    for (const key of Object.keys(d)) if (!VOLUME_DEF_FIELDS.has(key)) ctx.problems.push(`volumes.${name}.${key}: not a field of a volume`)
    if (d.external !== undefined && d.external !== false && d.external !== 'false') ctx.problems.push(`volumes.${name}.external: an external volume lives on one machine; minga creates each service's volumes on the node that runs it: remove external`)
    if (d.driver !== undefined && d.driver !== null && d.driver !== 'local') ctx.problems.push(`volumes.${name}.driver: minga's volumes are local volumes of the node that runs the service; remove driver`)
    if (d.driver_opts !== undefined) ctx.problems.push(`volumes.${name}.driver_opts: minga's volumes are plain local volumes; remove driver_opts`)
    if (d.name !== undefined) ctx.warnings.push(`volumes.${name}.name: ignored: minga names each service's volumes itself`)
  }
}

/** minga's parser over the translated fields, its problems reported at the Compose fields; then the config files, with their content in chunks */
function toSpec (name: string, translated: ServiceOut, t: Translation, options: ComposeOptions): { spec: ServiceSpec, chunks: Buffer[] } | undefined {
  const org = options.org ?? 'org'
  const fields = { ...translated.fields, project: t.project.name }
  let spec: ServiceSpec
  try {
    spec = parseServiceSpec(stringify({ org, services: { [name]: fields } }), { org, source: options.source })[0]
  } catch (err) {
    if (!(err instanceof InvalidSpecError)) throw err
    for (const problem of err.problems) t.project.problems.push(rewrite(problem, `services.${name}`, t))
    return undefined
  }
  const chunks: Buffer[] = []
  const seen = new Set<string>()
  const configs: ConfigFileSpec[] = translated.mounts.files.map(file => {
    const split = configChunks(file.content)
    for (const [i, digest] of split.digests.entries()) {
      if (!seen.has(digest)) { seen.add(digest); chunks.push(Buffer.from(file.content.subarray(i * CONFIG_CHUNK_BYTES, (i + 1) * CONFIG_CHUNK_BYTES))) }
    }
    return { path: file.path, size: file.content.length, chunks: split.digests, mode: file.mode, ...(file.uid === undefined ? {} : { uid: file.uid }), ...(file.gid === undefined ? {} : { gid: file.gid }) }
  })
  if (configs.length > 0) spec = { ...spec, configs }
  const size = canonicalJson(spec).length
  if (size > SPEC_LIMITS.maxSpecBytes) {
    t.problem('', `the service comes to ${size} bytes as minga stores it (at most ${SPEC_LIMITS.maxSpecBytes}); mount fewer files (each is listed with the service), or move large values out of environment and command`)
    return undefined
  }
  try {
    checkServiceSpec(spec)
  } catch (err) {
    if (!(err instanceof InvalidSpecError)) throw err
    for (const problem of err.problems) t.project.problems.push(rewrite(problem, '', t))
    return undefined
  }
  return { spec, chunks }
}

/** `services.<minga name>.update.maxUnavailable: …` → `services.<compose name>.deploy.update_config.parallelism: …` */
function rewrite (problem: string, prefix: string, t: Translation): string {
  const rest = prefix === '' ? problem : problem.startsWith(`${prefix}.`) ? problem.slice(prefix.length + 1) : problem.startsWith(`${prefix}:`) ? problem.slice(prefix.length) : problem
  const colon = rest.indexOf(': ')
  if (rest.startsWith(':') || colon < 0) return `${t.prefix}${rest}`
  const path = rest.slice(0, colon)
  const text = rest.slice(colon).replace(/\(first at ([\w.[\]]+)\)/, (_, first: string) => `(first at ${t.composePath(first)})`)
  return `${t.at(t.composePath(path))}${text}`
}
