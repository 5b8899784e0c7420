/**
 * A folder of spec and Compose files as one change set (`minga apply DIR`,
 * `minga diff DIR`, and a node following git, which reads a commit's
 * folder the same way). What is read:
 *
 * - every `*.yaml` / `*.yml` file at the top of the folder: a Compose file
 *   (by name or content) is a project, any other a minga spec file, whose
 *   `configs:` name files beside it;
 * - every subfolder holding a Compose file by its standard name
 *   (`compose.yaml`, `docker-compose.yml`, …): a project named after the
 *   folder, as Co-op Cloud keeps one app per folder.
 *
 * Hidden entries (`.git`, `.env`) and other files and folders (an export's
 * `NAME.files/`) are not read as specs. Every file is read and checked
 * before anything is sent; every problem of every file is reported together
 * (FolderError), and then nothing is applied.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { codeOf, configChunks, messageOf, nameOf, parseServiceSpec, SPEC_FILE_LIMITS, SPEC_LIMITS, type ServiceSpec } from '@minga/protocol'

/** every problem of every file of the folder, one a line */
export class FolderError extends Error {
  constructor (readonly problems: string[], folder: string) {
    super(`${folder} does not apply (nothing was changed):\n${problems.map(p => `  - ${p}`).join('\n')}`)
    this.name = 'FolderError'
  }
}

export interface FolderOptions {
  /** the organization of the services (files name none, or this one) */
  org: string
  /** variables Compose files interpolate (default: the environment of this process); a node following git passes {} */
  env?: Record<string, string | undefined>
}

/** what a folder declares, with what must be stored before it applies */
export interface FolderSet {
  specs: ServiceSpec[]
  secrets: Array<{ service: string, name: string, value: Buffer }>
  configs: Array<{ service: string, chunks: Buffer[] }>
  warnings: string[]
  /** the files read, relative to the folder, with the services each declared */
  files: Array<{ file: string, kind: 'spec' | 'compose', services: string[] }>
}

/** files a folder may hold for one change set, at most */
export const MAX_FOLDER_FILES = 500
const COMPOSE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml']

/** read the folder as described above; throws FolderError listing every problem */
export async function loadFolder (folder: string, options: FolderOptions): Promise<FolderSet> {
  const root = resolve(folder)
  const problems: string[] = []
  let entries: string[]
  try {
    if (!statSync(root).isDirectory()) throw new FolderError([`${folder} is not a folder; give a folder of spec and Compose files (or -f FILE)`], folder)
    entries = readdirSync(root).filter(name => !name.startsWith('.')).sort()
  } catch (err) {
    if (err instanceof FolderError) throw err
    throw new FolderError([`cannot read ${folder}: ${codeOf(err) === 'ENOENT' ? 'no such folder' : messageOf(err)}`], folder)
  }
  const files: Array<{ path: string, compose: boolean, project?: string }> = []
  for (const name of entries) {
    const path = join(root, name)
    const info = statSync(path)
    if (info.isFile() && /\.ya?ml$/i.test(name)) files.push({ path, compose: false })
    else if (info.isDirectory()) {
      const compose = COMPOSE_NAMES.find(f => isFile(join(path, f)))
      if (compose !== undefined) files.push({ path: join(path, compose), compose: true, project: name })
    }
  }
  if (files.length > MAX_FOLDER_FILES) throw new FolderError([`${files.length} spec files; at most ${MAX_FOLDER_FILES} apply as one change (split the folder)`], folder)
  const out: FolderSet = { specs: [], secrets: [], configs: [], warnings: [], files: [] }
  const declaredIn = new Map<string, string>()
  const compose = await import('@minga/compose')
  for (const file of files) {
    const shown = relative(root, file.path)
    try {
      const text = readText(file.path, SPEC_FILE_LIMITS.maxFileBytes)
      if (file.compose || compose.isComposeFileName(file.path) || compose.looksLikeCompose(text)) {
        const project = compose.loadComposeProject(file.path, { org: options.org, env: options.env ?? process.env, ...(file.project === undefined ? {} : { project: file.project.toLowerCase().replace(/[^a-z0-9-]/g, '-') }) })
        out.warnings.push(...project.warnings.map(w => `${shown}: ${w}`))
        out.warnings.push(...project.builds.map(b => `${shown}: ${b.service}: build: not run by minga apply: the service runs ${b.tag} as the mesh has it now (build it first: minga build ${b.source} --tag ${b.tag}, or minga deploy -f the file)`))
        out.secrets.push(...project.secrets)
        out.configs.push(...project.configs)
        add(out, declaredIn, shown, 'compose', project.specs, problems)
      } else {
        const contents = new Map<string, Buffer>()
        const readConfig = (source: string): Uint8Array | string => {
          const content = readBeside(root, dirname(file.path), source)
          if (typeof content !== 'string') for (const chunk of configChunks(content).chunks) contents.set(createHash('sha256').update(chunk).digest('hex'), chunk)
          return content
        }
        const specs = parseServiceSpec(text, { org: options.org, source: shown, readConfig })
        for (const spec of specs) {
          if (spec.configs === undefined) continue
          const digests = new Set(spec.configs.flatMap(file => file.chunks))
          out.configs.push({ service: spec.name, chunks: [...digests].map(digest => contents.get(digest)!) })
        }
        add(out, declaredIn, shown, 'spec', specs, problems)
      }
    } catch (err) {
      if (!['InvalidSpecError', 'ComposeFileError', 'FolderError'].includes(nameOf(err) ?? '')) throw err
      problems.push(messageOf(err).replace(/\n/g, '\n    '))
    }
  }
  for (const spec of out.specs) if (spec.org !== options.org) problems.push(`${declaredIn.get(spec.name) ?? '?'}: ${spec.org}/${spec.name} belongs to ${spec.org}; a folder applies to one organization (${options.org}): leave org: out of the file`)
  if (problems.length > 0) throw new FolderError(problems, folder)
  return out
}

function add (out: FolderSet, declaredIn: Map<string, string>, file: string, kind: 'spec' | 'compose', specs: ServiceSpec[], problems: string[]): void {
  for (const spec of specs) {
    const first = declaredIn.get(spec.name)
    if (first !== undefined) problems.push(`${file}: the service ${spec.name} is declared in ${first} too; declare each service once`)
    else declaredIn.set(spec.name, file)
  }
  out.specs.push(...specs)
  out.files.push({ file, kind, services: specs.map(s => s.name) })
}

/** a config file named by a spec file: inside the folder (no way out through .. or a link), at most the per-service limit */
function readBeside (root: string, dir: string, source: string): Buffer | string {
  const path = resolve(dir, source)
  let real: string
  try {
    real = realpathSync(path)
  } catch (err) {
    return codeOf(err) === 'ENOENT' ? `${source}: no such file beside the spec file` : `${source}: ${messageOf(err)}`
  }
  const realRoot = realpathSync(root)
  if (real !== realRoot && !real.startsWith(realRoot + sep)) return `${source} is outside the folder being applied; keep config files inside it`
  try {
    return readText(real, SPEC_LIMITS.maxConfigBytes, true)
  } catch (err) {
    return `${source}: ${messageOf(err)}`
  }
}

function readText (path: string, max: number): string
function readText (path: string, max: number, binary: true): Buffer
function readText (path: string, max: number, binary = false): string | Buffer {
  const info = statSync(path)
  if (!info.isFile()) throw new Error(`${path} is not a file`)
  if (info.size > max) throw Object.assign(new Error(`${path} is ${info.size} bytes; at most ${max}`), { name: 'FolderError' })
  return binary ? readFileSync(path) : readFileSync(path, 'utf8')
}

function isFile (path: string): boolean {
  try { return statSync(path).isFile() } catch { return false }
}
