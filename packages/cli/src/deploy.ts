/**
 * `minga deploy -f FILE`: a minga spec file goes to the node as text; a
 * Compose file (by name, by content, or with --compose) is translated here,
 * where its folder, .env and files are: its secrets are set and its config
 * content stored first, then its services are declared. `--dry-run` does
 * all the reading and checking and prints what would be declared, without a
 * node.
 */
import { nameOf, messageOf, codeOf, yaml } from '@minga/protocol'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { ServiceSpec } from '@minga/protocol'
import type { DeployImageOptions, DeployResult } from '@minga/node/api'
import type { ComposeBuild } from '@minga/compose'
import { describeBuild, runBuild } from './commands-builds.js'
import { IMAGE_TIMEOUT } from './client.js'
import type { Context } from './context.js'
import { CliError, EXIT } from './errors.js'

const MAX_SPEC_FILE = 256 * 1024
/** config content per request: its base64 stays well below the node's 1 MiB request limit */
const CONFIG_BATCH_BYTES = 512 * 1024

export interface DeployOptions {
  file: string
  compose?: boolean
  project?: string
  envFile?: string[]
  dryRun?: boolean
  json?: boolean
  org?: string
}

export interface Plan {
  compose: boolean
  project?: string
  specs: ServiceSpec[]
  warnings: string[]
  secrets: Array<{ service: string, name: string, value: Buffer }>
  configs: Array<{ service: string, chunks: Buffer[] }>
  /** images to build first (Compose `build:`) */
  builds: ComposeBuild[]
  /** the spec file's text, for a minga spec file */
  text?: string
}

/** read and translate the file; `orgOf` says whose services they are (asked once the file is read) */
export async function planDeploy (options: DeployOptions, orgOf: () => Promise<string>): Promise<Plan> {
  const text = await readSpecFile(options.file)
  const org = await orgOf()
  const compose = await import('@minga/compose')
  const isCompose = options.compose === true || compose.isComposeFileName(options.file) || compose.looksLikeCompose(text)
  if (!isCompose) {
    if (options.project !== undefined || options.envFile !== undefined) throw new CliError(`-p and --env-file apply to Docker Compose files; ${options.file} reads as a minga spec file (add --compose if it is a Compose file)`, EXIT.usage)
    const { parseServiceSpec } = await import('@minga/protocol')
    const specs = usage(() => parseServiceSpec(text, { org, source: options.file }))
    return { compose: false, specs, warnings: [], secrets: [], configs: [], builds: [], text }
  }
  const project = usage(() => compose.loadComposeProject(options.file, { org, project: options.project, envFiles: options.envFile }))
  return { compose: true, project: project.name, specs: project.specs, warnings: project.warnings, secrets: project.secrets, configs: project.configs, builds: project.builds }
}

/** secrets and config content first, then the services; returns the node's results */
export async function carryOut (ctx: Context, plan: Plan, file: string, images: DeployImageOptions = {}, json?: boolean): Promise<DeployResult[]> {
  // the node may first carry an image into the mesh (docker save): a long call
  const long = { timeoutMs: IMAGE_TIMEOUT }
  if (plan.text !== undefined) return await ctx.api.post('/v1/deploy', { text: plan.text, source: file, ...images }, long)
  // the node refuses these too, but only once secrets and files are written: refuse before anything is
  const { projectConflict } = await import('@minga/protocol')
  const existing = await ctx.api.get('/v1/services')
  for (const spec of plan.specs) {
    const id = `${spec.org}/${spec.name}`
    const other = existing.find(s => s.id === id)
    const conflict = other === undefined ? undefined : projectConflict(id, other.project, spec.project)
    if (conflict !== undefined) throw new CliError(conflict, EXIT.failure, 'ConflictError')
  }
  // Compose build: each built (and tested) first, its service pinned to the digest built; a failed build declares nothing
  for (const b of plan.builds) {
    const built = await runBuild(ctx, { source: b.source, tag: b.tag, ...(b.file === undefined ? {} : { file: b.file }), ...(b.args === undefined ? {} : { args: b.args }), ...(b.target === undefined ? {} : { target: b.target }) })
    if (json !== true) ctx.out(describeBuild(built))
    const at = plan.specs.findIndex(s => s.name === b.service)
    if (at >= 0) plan.specs[at] = { ...plan.specs[at], imageDigest: built.digest }
  }
  for (const s of plan.secrets) {
    await ctx.api.post('/v1/secrets', { service: s.service, name: s.name, value: s.value.toString('base64'), encoding: 'base64', ifChanged: true })
  }
  await sendConfigs(ctx, plan.configs)
  return await ctx.api.post('/v1/deploy', { specs: plan.specs, ...images }, long)
}

/** config content of services, in requests of at most CONFIG_BATCH_BYTES, before the services that name it are declared */
export async function sendConfigs (ctx: Context, configs: Array<{ service: string, chunks: Buffer[] }>): Promise<void> {
  for (const c of configs) {
    let batch: string[] = []
    let size = 0
    for (const chunk of c.chunks) {
      if (size + chunk.length > CONFIG_BATCH_BYTES && batch.length > 0) {
        await ctx.api.post('/v1/configs', { service: c.service, chunks: batch })
        batch = []
        size = 0
      }
      batch.push(chunk.toString('base64'))
      size += chunk.length
    }
    if (batch.length > 0) await ctx.api.post('/v1/configs', { service: c.service, chunks: batch })
  }
}

/** a project's services that this file no longer declares: Docker Compose calls them orphans, and so does minga */
export async function orphans (ctx: Context, plan: Plan): Promise<string[]> {
  if (plan.project === undefined) return []
  const declared = new Set(plan.specs.map(s => `${s.org}/${s.name}`))
  const services = await ctx.api.get('/v1/services')
  return services.filter(s => s.project === plan.project && !declared.has(s.id)).map(s => s.id as string)
}

/** what a dry run prints: the services as minga stores them, secrets and files by name and size, never their content */
export function describePlan (plan: Plan, json: boolean): string {
  const secrets = plan.secrets.map(s => ({ service: s.service, name: s.name, bytes: s.value.length }))
  const files = plan.specs.filter(s => (s.configs ?? []).length > 0).map(s => ({ service: s.name, files: s.configs!.map(f => ({ path: f.path, bytes: f.size })) }))
  if (json) return JSON.stringify({ ...(plan.project === undefined ? {} : { project: plan.project }), services: plan.specs, warnings: plan.warnings, secrets, configs: files, builds: plan.builds }, null, 2)
  const lines = [`# ${plan.compose ? `Compose project ${plan.project ?? ''}` : 'minga spec file'}: ${plan.specs.length} service(s) would be declared (dry run: nothing was sent)`]
  for (const b of plan.builds) lines.push(`# image ${b.tag} of ${b.service}: built from ${b.source}${b.file === undefined ? '' : ` (${b.file})`} before the deploy`)
  for (const s of secrets) lines.push(`# secret ${s.name} of ${s.service}: ${s.bytes} bytes, set before the deploy`)
  for (const f of files) for (const file of f.files) lines.push(`# file ${file.path} of ${f.service}: ${file.bytes} bytes, written into its containers`)
  lines.push(yaml().stringify({ services: Object.fromEntries(plan.specs.map(({ name, configs, ...rest }) => [name, configs === undefined ? rest : { ...rest, configs: configs.map(c => ({ path: c.path, size: c.size, mode: `0${c.mode.toString(8)}` })) }])) }).trimEnd())
  return lines.join('\n')
}

/** the org a dry run names: --org, else the data dir's (no node needed), else a placeholder */
export async function dryRunOrg (dataDir: string, given?: string): Promise<{ org: string, known: boolean }> {
  if (given !== undefined) return { org: given, known: true }
  try {
    const mesh = JSON.parse(await readFile(join(dataDir, 'mesh.json'), 'utf8'))
    if (typeof mesh.org === 'string') return { org: mesh.org, known: true }
  } catch {
    // no mesh in this data dir (or it cannot be read): the dry run names a placeholder org
  }
  return { org: 'your-org', known: false }
}

async function readSpecFile (path: string): Promise<string> {
  try {
    const info = await stat(path)
    if (info.size > MAX_SPEC_FILE) throw new CliError(`${path} is ${info.size} bytes; a spec file holds at most ${MAX_SPEC_FILE}. Split it into several files`, EXIT.usage)
    return await readFile(path, 'utf8')
  } catch (err) {
    if (err instanceof CliError) throw err
    throw new CliError(`Cannot read ${path}: ${codeOf(err) === 'ENOENT' ? 'no such file' : messageOf(err)}`, EXIT.usage)
  }
}

/** a bad file is a usage error (exit 2) */
function usage<T> (read: () => T): T {
  try {
    return read()
  } catch (err) {
    if (['InvalidSpecError', 'ComposeFileError'].includes(nameOf(err) ?? '')) throw new CliError(messageOf(err), EXIT.usage)
    throw err
  }
}
