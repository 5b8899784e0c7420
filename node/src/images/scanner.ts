/**
 * The scanners a node runs (core/images/types.ts `Scanner`): the
 * organization's command when its policy names one, else Trivy, else Grype,
 * found on PATH. The image is given to the scanner as a `docker save` tar
 * written to a private temporary directory:
 * - the org's command runs under `sh -c`, with the tar's path as `$1` and in
 *   `MINGA_IMAGE_TAR` (a command that names neither gets it as its last
 *   argument), the image id in `MINGA_IMAGE_ID`, and the scanner
 *   database from the mesh (when the org pushed one) in `MINGA_SCANNER_DB`;
 *   it prints Trivy's or Grype's JSON report (scan-report.ts);
 * - `trivy image --input TAR --format json`, offline: the database (a
 *   `db.tar.gz` as Trivy publishes it: trivy.db and metadata.json) is
 *   unpacked into a cache directory of its own (`--cache-dir`,
 *   `--skip-db-update`, `--offline-scan`);
 * - `grype docker-archive:TAR -o json`, offline: the database archive is
 *   imported (`grype db import`) into a cache directory of its own
 *   (`GRYPE_DB_CACHE_DIR`, `GRYPE_DB_AUTO_UPDATE=false`).
 * A scan may run 10 minutes and print 64 MiB; past either it fails (ScanError).
 */
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { access, constants, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { messageOf } from '@minga/protocol'
import { ScanError } from '../errors.js'
import type { AbortOptions } from '../runtime/types.js'
import type { Scanner, ScannerDb, ScannerReport } from '../core/images/types.js'
import { parseScanReport } from './scan-report.js'

/** how long one scan may take */
export const SCAN_TIMEOUT_MS = 10 * 60_000
/** the most a scanner may print */
export const SCAN_OUTPUT_MAX = 64 * 1024 * 1024

export interface CommandScannerInit {
  /** writes the engine's image `id` as a `docker save` tar to `path` */
  saveTar: (id: string, path: string, options: AbortOptions) => Promise<void>
  /** where temporary directories go (default the OS's) */
  tmp?: string
  /** PATH to search for trivy and grype (default process.env.PATH) */
  path?: string
  timeoutMs?: number
}

type Kind = 'trivy' | 'grype' | 'command'

/** the node's scanners (see above) */
export class CommandScanner implements Scanner {
  constructor (private readonly init: CommandScannerInit) {}

  async find (command?: string): Promise<Kind | undefined> {
    if (command !== undefined && command.trim() !== '') return 'command'
    if (await this.which('trivy') !== undefined) return 'trivy'
    if (await this.which('grype') !== undefined) return 'grype'
    return undefined
  }

  async scan (id: string, options: AbortOptions & { command?: string, db?: ScannerDb }): Promise<ScannerReport> {
    const kind = await this.find(options.command)
    if (kind === undefined) throw new ScanError('No scanner is configured: install trivy or grype on this node, or set the org\'s with minga policy set --scanner CMD')
    const dir = await mkdtemp(join(this.init.tmp ?? tmpdir(), 'minga-scan-'))
    try {
      const tar = join(dir, 'image.tar')
      await this.init.saveTar(id, tar, options)
      const dbFile = options.db === undefined ? undefined : join(dir, 'db')
      if (options.db !== undefined) await pipeline(Readable.from(options.db.read()), createWriteStream(dbFile!, { mode: 0o600 }))
      if (kind === 'command') {
        // a command that does not say where the tar goes gets its path as its last argument
        const command = /\$(1|\{1\}|MINGA_IMAGE_TAR|\{MINGA_IMAGE_TAR\})/.test(options.command!) ? options.command! : `${options.command!} "$1"`
        const out = await this.run('sh', ['-c', command, 'minga-scan', tar], { MINGA_IMAGE_TAR: tar, MINGA_IMAGE_ID: id, ...(dbFile === undefined ? {} : { MINGA_SCANNER_DB: dbFile }) }, options)
        return parseScanReport(out, `command: ${options.command!.slice(0, 200)}`)
      }
      const cache = join(dir, 'cache')
      await mkdir(cache)
      if (kind === 'trivy') {
        const offline = dbFile === undefined ? [] : ['--cache-dir', cache, '--skip-db-update', '--offline-scan']
        if (dbFile !== undefined) await mkdir(join(cache, 'db')).then(async () => await this.run('tar', ['-xzf', dbFile, '-C', join(cache, 'db')], {}, options))
        return parseScanReport(await this.run(await this.which('trivy') ?? 'trivy', ['image', '--quiet', '--format', 'json', ...offline, '--input', tar], {}, options), 'trivy')
      }
      const grype = await this.which('grype') ?? 'grype'
      const env: Record<string, string> = dbFile === undefined ? {} : { GRYPE_DB_CACHE_DIR: cache, GRYPE_DB_AUTO_UPDATE: 'false', GRYPE_DB_VALIDATE_AGE: 'false' }
      if (dbFile !== undefined) await this.run(grype, ['db', 'import', dbFile], env, options)
      return parseScanReport(await this.run(grype, [`docker-archive:${tar}`, '-o', 'json', '-q'], env, options), 'grype')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  /** the program's path on PATH, if it is there and executable */
  private async which (name: string): Promise<string | undefined> {
    for (const dir of (this.init.path ?? process.env.PATH ?? '').split(delimiter)) {
      if (dir === '') continue
      const file = join(dir, name)
      if (await access(file, constants.X_OK).then(() => true, () => false)) return file
    }
    return undefined
  }

  /** runs a program in a process group of its own, its stdout (bounded) when it exits 0; ScanError with its stderr's end otherwise */
  private async run (file: string, args: string[], env: Record<string, string>, options: AbortOptions): Promise<string> {
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let stopped: string | undefined
    // the whole group: a shell's children hold its output open after it dies
    const stop = (why: string): void => {
      stopped ??= why
      try { process.kill(-child.pid!, 'SIGKILL') } catch {}
    }
    const timer = setTimeout(() => stop('it ran too long'), this.init.timeoutMs ?? SCAN_TIMEOUT_MS)
    const onAbort = (): void => stop('the scan was cancelled')
    options.signal?.addEventListener('abort', onAbort)
    if (options.signal?.aborted === true) onAbort()
    const out: Buffer[] = []
    let size = 0
    let err = ''
    child.stdout.on('data', (part: Buffer) => {
      size += part.length
      if (size > SCAN_OUTPUT_MAX) stop(`it printed more than ${SCAN_OUTPUT_MAX / 1024 / 1024} MiB`)
      else out.push(part)
    })
    child.stderr.on('data', (part: Buffer) => { err = (err + part.toString()).slice(-2000) })
    const code = await new Promise<number | null>((resolve) => {
      child.once('error', (e) => { err = messageOf(e); resolve(null) })
      child.once('close', (c) => resolve(c))
    }).finally(() => {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
    })
    const name = file === 'sh' ? 'the org\'s scanner command' : file.split('/').pop()!
    if (stopped !== undefined) throw new ScanError(`${name} was stopped: ${stopped}`)
    if (code !== 0) throw new ScanError(`${name} exited with ${code ?? 'an error'}: ${err.trim().split('\n').slice(-3).join(' / ') || 'no message'}`)
    return Buffer.concat(out).toString()
  }
}
