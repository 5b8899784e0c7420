/**
 * A Compose project as `minga deploy -f FILE` reads it: the file, the
 * variables it may use (the environment of `minga deploy` over the env
 * files: `--env-file`, else `.env` beside the file, as Docker Compose
 * does), its folder (where relative paths resolve) and its name (`-p`,
 * COMPOSE_PROJECT_NAME, the file's `name:`, else the folder's name).
 */
import { readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { codeOf, messageOf, SPEC_FILE_LIMITS } from '@minga/protocol'
import { EnvFileError, parseEnvFile } from './dotenv.js'
import { parseComposeFile, type ComposeProject } from './translate.js'

/** a Compose file or env file that cannot be read (missing, too large, outside the project folder) */
export class ComposeFileError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ComposeFileError'
  }
}

export interface LoadOptions {
  org?: string
  /** `-p NAME` */
  project?: string
  /** `--env-file`, in order (later files win); default: `.env` beside the Compose file, if there is one */
  envFiles?: string[]
  /** the environment of minga deploy; default process.env */
  env?: Record<string, string | undefined>
}

const MAX_ENV_FILE = 256 * 1024

/** throws ComposeFileError when a file cannot be read, InvalidSpecError when the project does not translate */
export function loadComposeProject (file: string, options: LoadOptions = {}): ComposeProject {
  const path = resolve(file)
  const text = readText(path, SPEC_FILE_LIMITS.maxFileBytes, 'Compose file')
  const dir = dirname(path)
  const shell = options.env ?? process.env
  const envFiles = options.envFiles ?? (exists(join(dir, '.env')) ? [join(dir, '.env')] : [])
  const fromFiles: Record<string, string> = {}
  for (const envFile of envFiles) {
    try {
      const vars = parseEnvFile(readText(resolve(envFile), MAX_ENV_FILE, 'env file'), (name) => shell[name] ?? fromFiles[name])
      for (const [key, value] of vars) fromFiles[key] = value
    } catch (err) {
      if (err instanceof EnvFileError) throw new ComposeFileError(`${envFile}: ${messageOf(err)}`)
      throw err
    }
  }
  // the environment wins over env files, as in Docker Compose
  const env: Record<string, string | undefined> = { ...fromFiles }
  for (const [key, value] of Object.entries(shell)) if (value !== undefined) env[key] = value
  return parseComposeFile(text, { org: options.org, source: file, dir, project: options.project, env })
}

function readText (path: string, max: number, what: string): string {
  let size: number
  try {
    const info = statSync(path)
    if (!info.isFile()) throw new ComposeFileError(`${path} is not a file`)
    size = info.size
  } catch (err) {
    if (err instanceof ComposeFileError) throw err
    throw new ComposeFileError(`Cannot read the ${what} ${path}: ${codeOf(err) === 'ENOENT' ? 'no such file' : messageOf(err)}`)
  }
  if (size > max) throw new ComposeFileError(`The ${what} ${path} is ${size} bytes; at most ${max}`)
  return readFileSync(path, 'utf8')
}

function exists (path: string): boolean {
  try { return statSync(path).isFile() } catch { return false }
}
