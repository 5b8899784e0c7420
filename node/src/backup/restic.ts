/**
 * Runs restic (Debian's `restic` package, 0.14 or later): the backup tool
 * that encrypts (AES-256-CTR + Poly1305), chunks and deduplicates a volume
 * into files named by their SHA-256. minga never reads restic's formats; it
 * drives the binary against a repository URL (the REST server's session)
 * with the repository's password in the environment, never on the command
 * line, and reads `--json` output for results and progress.
 */
import { spawn } from 'node:child_process'
import { lstat, readdir, rename, rmdir } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import type { AbortOptions } from '../runtime/types.js'
import { ResticError, ResticMissingError } from './errors.js'

export interface ResticRepo {
  /** `rest:http://…` (a RestServer session) or a folder */
  url: string
  password: string
}

export interface BackupProgress { percent: number, bytesDone: number, totalBytes: number }

export interface BackupSummary {
  /** restic prints a short id; the caller learns the full one from the files written */
  shortId: string
  filesNew: number
  filesChanged: number
  filesUnmodified: number
  dataAdded: number
  totalFiles: number
  totalBytes: number
  /** seconds */
  duration: number
}

export interface SnapshotInfo { id: string, time: string, tags: string[], paths: string[], hostname: string, tree: string, parent?: string }

export interface ResticInit {
  /** the binary; default `restic` on the PATH */
  binary?: string
  /** restic's cache of repository metadata (ciphertext) */
  cacheDir: string
  /** REST connections per run (restic's default is 5) */
  connections?: number
}

/** the restic versions this code was written against */
const MIN_VERSION = [0, 14]
const STDERR_LINES = 20

export class Restic {
  private readonly binary: string

  constructor (private readonly init: ResticInit) {
    this.binary = init.binary ?? 'restic'
  }

  /** restic's version, or `ResticMissingError` saying how to install it */
  async version (): Promise<string> {
    let out: string
    try {
      out = (await this.run(['version'], undefined, {})).stdout
    } catch (err: any) {
      if (err instanceof ResticError) throw err
      throw new ResticMissingError(`restic is not installed (${String(err?.message ?? err)}); install it with "apt-get install restic" (0.14 or later) or from https://restic.net`)
    }
    const match = /restic (\d+)\.(\d+)\.(\d+)/.exec(out)
    if (match === null) throw new ResticMissingError(`"${this.binary} version" printed ${out.slice(0, 80)}; minga needs restic 0.14 or later`)
    const [major, minor] = [Number(match[1]), Number(match[2])]
    if (major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1])) throw new ResticMissingError(`restic ${match[0].slice(7)} is too old; minga needs 0.14 or later`)
    return match[0].slice(7)
  }

  async initRepo (repo: ResticRepo, options: AbortOptions = {}): Promise<void> {
    await this.run(['init'], repo, options)
  }

  /**
   * backs up the folder `dir`: restic runs in its parent on the folder's
   * name, so the snapshot's root holds the folder itself, not its path (and
   * an empty folder is a snapshot too: restic refuses a snapshot of nothing)
   */
  async backup (repo: ResticRepo, dir: string, options: AbortOptions & { host: string, tags?: string[], parent?: string, onProgress?: (p: BackupProgress) => void } = {} as any): Promise<BackupSummary> {
    const args = ['backup', basename(dir), '--host', options.host, ...(options.tags ?? []).flatMap(t => ['--tag', t])]
    if (options.parent !== undefined) args.push('--parent', options.parent)
    let summary: BackupSummary | undefined
    await this.run(args, repo, options, dirname(dir), (line) => {
      const message = parseJsonLine(line)
      if (message?.message_type === 'status') {
        options.onProgress?.({ percent: Number(message.percent_done ?? 0), bytesDone: Number(message.bytes_done ?? 0), totalBytes: Number(message.total_bytes ?? 0) })
      } else if (message?.message_type === 'summary') {
        summary = {
          shortId: String(message.snapshot_id),
          filesNew: message.files_new,
          filesChanged: message.files_changed,
          filesUnmodified: message.files_unmodified,
          dataAdded: message.data_added,
          totalFiles: message.total_files_processed,
          totalBytes: message.total_bytes_processed,
          duration: message.total_duration
        }
      }
    }, [3])
    if (summary === undefined) throw new ResticError('restic backup printed no summary; the snapshot may not exist')
    return summary
  }

  /**
   * restores a snapshot into `target` (an empty folder): the backed-up
   * folder's content ends at its root (see `backup`); `onProgress` gets
   * the bytes written so far, read from the folder every `pollMs` (restic
   * 0.14 prints no progress of its own on restore)
   */
  async restore (repo: ResticRepo, snapshot: string, target: string, options: AbortOptions & { onProgress?: (bytesDone: number) => void, pollMs?: number } = {}): Promise<void> {
    let polling = true
    const poll = async (): Promise<void> => {
      while (polling) {
        await new Promise(resolve => setTimeout(resolve, options.pollMs ?? 1000))
        if (polling) options.onProgress?.(await folderBytes(target).catch(() => 0))
      }
    }
    const poller = options.onProgress === undefined ? undefined : poll()
    try {
      await this.run(['restore', snapshot, '--target', target], repo, options)
    } finally {
      polling = false
      await poller
    }
    await liftSingleFolder(target)
    options.onProgress?.(await folderBytes(target))
  }

  async snapshots (repo: ResticRepo, options: AbortOptions & { tags?: string[] } = {}): Promise<SnapshotInfo[]> {
    const args = ['snapshots', ...(options.tags ?? []).flatMap(t => ['--tag', t])]
    const { stdout } = await this.run(args, repo, options)
    const parsed = JSON.parse(stdout === '' ? '[]' : stdout) as any[] | null
    return (parsed ?? []).map(s => ({ id: s.id, time: s.time, tags: s.tags ?? [], paths: s.paths ?? [], hostname: s.hostname, tree: s.tree, ...(s.parent === undefined ? {} : { parent: s.parent }) }))
  }

  /** `restic forget` with a retention policy, pruning unreferenced data without repacking (no download) */
  async forget (repo: ResticRepo, policy: { keepLast: number, keepHourly?: number, keepDaily?: number }, options: AbortOptions & { tags?: string[] } = {}): Promise<void> {
    const args = ['forget', '--keep-last', String(policy.keepLast), '--prune', '--max-unused', 'unlimited', '--group-by', 'tags']
    if (policy.keepHourly !== undefined) args.push('--keep-hourly', String(policy.keepHourly))
    if (policy.keepDaily !== undefined) args.push('--keep-daily', String(policy.keepDaily))
    for (const tag of options.tags ?? []) args.push('--tag', tag)
    await this.run(args, repo, options)
  }

  /** runs restic; `okCodes` are exit codes beside 0 that still mean success (backup: 3, some files unreadable) */
  private async run (args: string[], repo: ResticRepo | undefined, options: AbortOptions, cwd?: string, onLine?: (line: string) => void, okCodes: number[] = []): Promise<{ stdout: string }> {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      RESTIC_CACHE_DIR: this.init.cacheDir,
      ...(repo === undefined ? {} : { RESTIC_REPOSITORY: repo.url, RESTIC_PASSWORD: repo.password })
    }
    const extra = repo !== undefined && repo.url.startsWith('rest:') ? ['-o', `rest.connections=${this.init.connections ?? 5}`] : []
    const child = spawn(this.binary, [...args, ...(repo === undefined ? [] : ['--json']), ...extra], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal })
    const stderr: string[] = []
    const stdout: string[] = []
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr.push(line)
      if (stderr.length > STDERR_LINES) stderr.shift()
    })
    const lines = createInterface({ input: child.stdout })
    lines.on('line', (line) => {
      if (onLine !== undefined) onLine(line)
      else stdout.push(line)
    })
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (exit) => resolve(exit))
    })
    if (code !== 0 && !okCodes.includes(code ?? -1)) {
      const detail = stderr.filter(l => l.trim() !== '').slice(-6).join(' | ').slice(0, 1000)
      throw new ResticError(`restic ${args[0]} failed (exit ${code ?? 'signal'}): ${detail === '' ? 'no output' : detail}`, code ?? undefined)
    }
    return { stdout: stdout.join('\n') }
  }
}

function parseJsonLine (line: string): any {
  if (!line.startsWith('{')) return undefined
  try {
    return JSON.parse(line)
  } catch {
    return undefined
  }
}

/** the one folder restic restored into `target` (the backed-up folder, by its name) is taken apart: its entries move up to `target` */
async function liftSingleFolder (target: string): Promise<void> {
  const entries = await readdir(target)
  if (entries.length !== 1) throw new ResticError(`The snapshot held ${entries.length} entries at its root, where minga's snapshots hold one folder; it was not made by minga`)
  const wrapper = join(target, `.minga-restore-${process.pid}`)
  await rename(join(target, entries[0]), wrapper)
  for (const name of await readdir(wrapper)) await rename(join(wrapper, name), join(target, name))
  await rmdir(wrapper)
}

/** bytes of the regular files under `dir` */
export async function folderBytes (dir: string): Promise<number> {
  let total = 0
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name)
    const info = await lstat(path).catch(() => undefined)
    if (info === undefined) continue
    if (info.isDirectory()) total += await folderBytes(path)
    else if (info.isFile()) total += info.size
  }
  return total
}
