/**
 * What a Compose service mounts, as minga has it:
 *
 * - a named volume (`db_data:/var/lib/mysql`) → a volume of the service
 * - an anonymous volume (`/var/lib/postgresql/data`, or `type: volume`
 *   without a source) → a volume made new for each container
 * - `type: tmpfs` and the service's `tmpfs:` → tmpfs mounts
 * - a bind mount of a file or folder inside the project folder
 *   (`./prometheus:/etc/prometheus`) → config files: their content goes with
 *   the service and is written into the container on whichever node runs it
 * - `configs:` → config files; `secrets:` → minga secrets of the service,
 *   given as files under /run/secrets
 *
 * A host path outside the project (`/var/run/docker.sock`, `~/data`) is
 * refused: minga runs a service on any node and never mounts a path of the
 * machine it was deployed from.
 */
import { SECRET_LIMITS, SECRET_NAME_PATTERN, SPEC_LIMITS, parseMode } from '@minga/protocol'
import type { Translation } from './context.js'
import { isMingaName, mingaName } from './names.js'
import { ProjectFileError, isOutside } from './project-files.js'

export interface ServiceMounts {
  volumes: Array<{ name?: string, path: string, readOnly: boolean }>
  tmpfs: Array<{ path: string, size?: string, mode?: string }>
  /** config files, with their content */
  files: Array<{ path: string, content: Buffer, mode: number, uid?: number, gid?: number }>
  secretFiles: Array<{ secret: string, path: string, mode: number, uid?: number, gid?: number }>
  /** minga secrets of the service to set before it deploys, by name */
  secrets: Map<string, Buffer>
  /** Compose names of the named volumes it mounts */
  named: string[]
}

const VOLUME_FIELDS = new Set(['type', 'source', 'target', 'read_only', 'bind', 'volume', 'tmpfs', 'consistency'])

/**
 * a service's `volumes:`, `tmpfs:`, `configs:` and `secrets:` as minga volumes, tmpfs mounts, config files and secret files; a host path is an error that says what to use
 */
export function translateMounts (service: Record<string, unknown>, t: Translation): ServiceMounts {
  const mounts: ServiceMounts = { volumes: [], tmpfs: [], files: [], secretFiles: [], secrets: new Map(), named: [] }
  const budget = { bytes: 0, files: 0 }
  list(service.volumes, 'volumes', t).forEach((item, i) => { volume(item, `volumes[${i}]`, mounts, budget, t) })
  const tmpfs = typeof service.tmpfs === 'string' ? [service.tmpfs] : list(service.tmpfs, 'tmpfs', t)
  tmpfs.forEach((item, i) => { shortTmpfs(item, `tmpfs${typeof service.tmpfs === 'string' ? '' : `[${i}]`}`, mounts, t) })
  list(service.configs, 'configs', t).forEach((item, i) => { config(item, `configs[${i}]`, mounts, budget, t) })
  list(service.secrets, 'secrets', t).forEach((item, i) => { secret(item, `secrets[${i}]`, mounts, t) })
  return mounts
}

function list (value: unknown, path: string, t: Translation): unknown[] {
  if (value === undefined || value === null) return []
  if (Array.isArray(value)) return value
  t.problem(path, 'must be a list')
  return []
}

interface Budget { bytes: number, files: number }

function volume (item: unknown, path: string, mounts: ServiceMounts, budget: Budget, t: Translation): void {
  if (typeof item === 'string') {
    const parts = item.split(':')
    if (parts.length === 1 || (parts.length === 2 && (parts[1] === 'ro' || parts[1] === 'rw') && parts[0].startsWith('/'))) {
      anonymous(parts[0], parts[1] === 'ro', path, mounts, t)
      return
    }
    if (parts.length > 3) {
      t.problem(path, `${JSON.stringify(item)} is not a volume; write SOURCE:TARGET[:ro], or TARGET alone for an anonymous volume`)
      return
    }
    const [source, target, mode = ''] = parts
    const options = mode.split(',').filter(o => o !== '')
    const unknown = options.filter(o => !['ro', 'rw', 'z', 'Z', 'nocopy', 'cached', 'delegated', 'consistent', 'shared', 'slave', 'private', 'rshared', 'rslave', 'rprivate'].includes(o))
    if (unknown.length > 0) t.problem(path, `${JSON.stringify(item)}: unknown volume option ${unknown.join(', ')}`)
    const readOnly = options.includes('ro')
    if (source === '' || target === '') {
      t.problem(path, `${JSON.stringify(item)} has an empty ${source === '' ? 'source' : 'target'}; is a variable in it unset?`)
      return
    }
    if (isPath(source)) bind(source, target, readOnly, path, mounts, budget, t)
    else named(source, target, readOnly, path, mounts, t)
    return
  }
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    t.problem(path, 'must be "SOURCE:TARGET[:ro]" or a mapping with type, source and target')
    return
  }
  const v = item as Record<string, any>
  for (const key of Object.keys(v)) if (!VOLUME_FIELDS.has(key)) t.problem(`${path}.${key}`, 'not a field of a volume (type, source, target, read_only, volume, tmpfs)')
  const target = typeof v.target === 'string' ? v.target : undefined
  if (target === undefined) {
    t.problem(`${path}.target`, 'missing: the path inside the container')
    return
  }
  const readOnly = v.read_only === true || v.read_only === 'true'
  const source = typeof v.source === 'string' && v.source !== '' ? v.source : undefined
  switch (v.type ?? 'volume') {
    case 'volume':
      if (v.volume?.subpath !== undefined) t.problem(`${path}.volume.subpath`, 'minga mounts whole volumes; remove subpath')
      if (v.volume?.nocopy !== undefined) t.warn(`${path}.volume.nocopy`, 'ignored: Docker copies the image\'s files into a new volume')
      if (source === undefined) anonymous(target, readOnly, path, mounts, t)
      else named(source, target, readOnly, path, mounts, t)
      return
    case 'bind':
      if (source === undefined) t.problem(`${path}.source`, 'missing: the file or folder to mount')
      else bind(source, target, readOnly, path, mounts, budget, t)
      return
    case 'tmpfs': {
      const size = v.tmpfs?.size
      const mode = v.tmpfs?.mode
      tmpfsMount(target, size === undefined || size === null ? undefined : composeSize(String(size)), mode === undefined || mode === null ? undefined : String(mode), path, mounts, t)
      return
    }
    default:
      t.problem(`${path}.type`, `${JSON.stringify(v.type)} volumes are not supported; use a named volume, a tmpfs, or a file of the project`)
  }
}

function isPath (source: string): boolean {
  return source.startsWith('.') || source.startsWith('/') || source.startsWith('~')
}

function anonymous (target: string, readOnly: boolean, path: string, mounts: ServiceMounts, t: Translation): void {
  t.map(`volumes[${mounts.volumes.length}]`, path)
  mounts.volumes.push({ path: target, readOnly })
}

function named (source: string, target: string, readOnly: boolean, path: string, mounts: ServiceMounts, t: Translation): void {
  if (!t.project.volumes.has(source)) {
    t.problem(path, `uses the volume ${JSON.stringify(source)}, which the top-level volumes: does not declare; add ${source}: under volumes:`)
    return
  }
  const name = mingaName(source)
  if (!isMingaName(name)) {
    t.problem(path, `the volume name ${JSON.stringify(source)} has no letter or digit minga can use`)
    return
  }
  t.map(`volumes[${mounts.volumes.length}]`, path)
  mounts.volumes.push({ name, path: target, readOnly })
  mounts.named.push(source)
}

/** a file or folder of the project, copied into the container at `target` */
function bind (source: string, target: string, readOnly: boolean, path: string, mounts: ServiceMounts, budget: Budget, t: Translation): void {
  if (isOutside(source) && !('path' in t.project.files.locate(source))) {
    t.problem(path, `mounts ${JSON.stringify(source)} of this machine; minga runs the service on any node and never mounts a host path. Copy what it needs into the project folder (it is then carried with the service), or keep its data in a named volume`)
    return
  }
  const found = t.project.files.locate(source)
  if ('problem' in found) {
    const missing = found.problem.includes('does not exist')
    t.problem(path, missing
      ? `${found.problem}; Docker would create an empty folder there for the service's data, which minga keeps in a named volume instead: write NAME:${target} and declare NAME under volumes:`
      : found.problem)
    return
  }
  let files
  try {
    files = t.project.files.collect(source, { maxBytes: SPEC_LIMITS.maxConfigBytes - budget.bytes, maxFiles: SPEC_LIMITS.maxConfigFiles - budget.files })
  } catch (err) {
    if (err instanceof ProjectFileError) { t.problem(path, err.message); return }
    throw err
  }
  if (files.length === 0) {
    t.warn(path, `${source} is an empty folder: nothing is copied; for data the service writes, use a named volume`)
    return
  }
  for (const file of files) {
    addFile({ path: file.relative === '' ? target : `${target.replace(/\/+$/, '')}/${file.relative}`, content: file.content, mode: file.mode }, path, mounts, budget, t)
  }
  if (!readOnly) t.warn(path, `${source} is copied into the container when it starts (a config file); what the service writes there stays in that container, and changes to the files here need another minga deploy`)
}

function addFile (file: ServiceMounts['files'][number], path: string, mounts: ServiceMounts, budget: Budget, t: Translation): void {
  budget.bytes += file.content.length
  budget.files++
  if (budget.bytes > SPEC_LIMITS.maxConfigBytes || budget.files > SPEC_LIMITS.maxConfigFiles) {
    t.problem(path, `the service's files come to more than ${SPEC_LIMITS.maxConfigFiles} files or ${SPEC_LIMITS.maxConfigBytes} bytes; put larger content into the image or a volume`)
    return
  }
  t.map(`configs[${mounts.files.length}]`, path)
  mounts.files.push(file)
}

function shortTmpfs (item: unknown, path: string, mounts: ServiceMounts, t: Translation): void {
  if (typeof item !== 'string') {
    t.problem(path, 'must be a path, like /run, optionally with :size=64m,mode=1777')
    return
  }
  const [target, options = ''] = item.split(/:(.*)/s)
  let size: string | undefined
  let mode: string | undefined
  for (const option of options.split(',').filter(o => o !== '')) {
    const [key, value] = option.split('=')
    if (key === 'size' && value !== undefined) size = composeSize(value)
    else if (key === 'mode' && value !== undefined) mode = value
    else if (!['rw', 'noexec', 'nosuid', 'nodev', 'exec', 'suid', 'dev'].includes(key)) t.problem(path, `unknown tmpfs option ${JSON.stringify(option)}; minga knows size= and mode=`)
    else t.warn(path, `the option ${key} is ignored: Docker mounts tmpfs with its own defaults`)
  }
  tmpfsMount(target, size, mode, path, mounts, t)
}

function tmpfsMount (target: string, size: string | undefined, mode: string | undefined, path: string, mounts: ServiceMounts, t: Translation): void {
  t.map(`tmpfs[${mounts.tmpfs.length}]`, path)
  mounts.tmpfs.push({ path: target, ...(size === undefined ? {} : { size }), ...(mode === undefined ? {} : { mode }) })
}

/** Compose sizes `64m`, `1.5g`, `512mb` (binary, as Docker reads them) → minga's `64Mi`; bytes stay bytes */
export function composeSize (value: string): string {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt])b?$/i.exec(value.trim())
  return match === null ? value.trim().replace(/b$/i, '') : `${match[1]}${match[2].toUpperCase()}i`
}

const REFERENCE_FIELDS = new Set(['source', 'target', 'uid', 'gid', 'mode'])

interface Reference { source: string, target?: string, uid?: number, gid?: number, mode?: number }

function reference (item: unknown, path: string, kind: 'config' | 'secret', t: Translation): Reference | undefined {
  if (typeof item === 'string') return { source: item }
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    t.problem(path, `must be the name of a ${kind}, or a mapping with source, target, uid, gid and mode`)
    return undefined
  }
  const r = item as Record<string, unknown>
  for (const key of Object.keys(r)) if (!REFERENCE_FIELDS.has(key)) t.problem(`${path}.${key}`, `not a field of a ${kind} (source, target, uid, gid, mode)`)
  if (typeof r.source !== 'string') {
    t.problem(`${path}.source`, `missing: the name of the ${kind}`)
    return undefined
  }
  const out: Reference = { source: r.source }
  if (typeof r.target === 'string' && r.target !== '') out.target = r.target
  for (const id of ['uid', 'gid'] as const) {
    if (r[id] === undefined || r[id] === null) continue
    const n = Number(r[id])
    if (!Number.isInteger(n) || n < 0) t.problem(`${path}.${id}`, `must be a number (got ${JSON.stringify(r[id])})`)
    else out[id] = n
  }
  if (r.mode !== undefined && r.mode !== null) {
    const mode = parseMode(String(r.mode))
    if (Number.isNaN(mode)) t.problem(`${path}.mode`, `must be permission bits in octal, like 0440 (got ${JSON.stringify(r.mode)})`)
    else out.mode = mode
  }
  return out
}

function config (item: unknown, path: string, mounts: ServiceMounts, budget: Budget, t: Translation): void {
  const ref = reference(item, path, 'config', t)
  if (ref === undefined) return
  const content = definedContent('configs', ref.source, SPEC_LIMITS.maxConfigBytes, path, t)
  if (content === undefined) return
  const target = ref.target === undefined ? `/${ref.source}` : ref.target.startsWith('/') ? ref.target : `/${ref.target}`
  addFile({ path: target, content, mode: ref.mode ?? 0o444, ...(ref.uid === undefined ? {} : { uid: ref.uid }), ...(ref.gid === undefined ? {} : { gid: ref.gid }) }, path, mounts, budget, t)
}

function secret (item: unknown, path: string, mounts: ServiceMounts, t: Translation): void {
  const ref = reference(item, path, 'secret', t)
  if (ref === undefined) return
  const value = definedContent('secrets', ref.source, SECRET_LIMITS.maxValueBytes, path, t)
  if (value === undefined) return
  // a minga secret name starts with a letter or _; Compose's may start with a digit
  const name = SECRET_NAME_PATTERN.test(ref.source) ? ref.source : `_${ref.source.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 128)
  const target = ref.target === undefined ? `/run/secrets/${ref.source}` : ref.target.startsWith('/') ? ref.target : `/run/secrets/${ref.target}`
  mounts.secrets.set(name, value)
  t.map(`secretFiles[${mounts.secretFiles.length}]`, path)
  mounts.secretFiles.push({ secret: name, path: target, mode: ref.mode ?? 0o444, ...(ref.uid === undefined ? {} : { uid: ref.uid }), ...(ref.gid === undefined ? {} : { gid: ref.gid }) })
}

/** the content of a top-level config or secret: from its file, its inline content, or a variable */
function definedContent (kind: 'configs' | 'secrets', name: string, max: number, path: string, t: Translation): Buffer | undefined {
  const defs = kind === 'configs' ? t.project.configs : t.project.secrets
  if (!defs.has(name)) {
    t.problem(path, `uses the ${kind.slice(0, -1)} ${JSON.stringify(name)}, which the top-level ${kind}: does not declare`)
    return undefined
  }
  const def = defs.get(name)
  const where = `${kind}.${name}`
  const fail = (text: string): undefined => { t.project.problems.push(`${where}: ${text}`); return undefined }
  if (def === null || typeof def !== 'object' || Array.isArray(def)) return fail('must be a mapping with file, environment' + (kind === 'configs' ? ' or content' : ''))
  const d = def as Record<string, unknown>
  if (d.external !== undefined && d.external !== false && d.external !== 'false') return fail(`external ${kind} live outside the Compose file; minga carries a service's ${kind} with it: give file${kind === 'configs' ? ', content' : ''} or environment`)
  let content: Buffer
  if (typeof d.file === 'string') {
    try {
      content = t.project.files.read(d.file, max)
    } catch (err) {
      if (err instanceof ProjectFileError) return fail(`file: ${err.message}`)
      throw err
    }
  } else if (typeof d.environment === 'string') {
    const value = t.project.lookup(d.environment)
    if (value === undefined) return fail(`environment: the variable ${d.environment} is not set; set it in the environment, in .env beside the Compose file, or with --env-file`)
    content = Buffer.from(value)
  } else if (kind === 'configs' && typeof d.content === 'string') {
    content = Buffer.from(d.content)
  } else {
    return fail(`give file${kind === 'configs' ? ', content' : ''} or environment`)
  }
  if (content.length > max) return fail(`is ${content.length} bytes; at most ${max}`)
  return content
}
