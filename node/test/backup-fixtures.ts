/**
 * Helpers for the backup tests: a registrar for tests that need restic
 * (skipped without it, failing under CI, as the Docker tests are), and
 * folders with content to back up.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, lstat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type Callback, type Context } from 'uvu'

function resticMissing (): string | undefined {
  try {
    execFileSync('restic', ['version'], { stdio: 'pipe' })
    return undefined
  } catch {
    return 'restic is not installed (apt-get install restic)'
  }
}

const missing = resticMissing()
const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false'
if (missing !== undefined && !ci) console.log(`skipped: ${missing}`)

/** `test`, or without restic a skipped test (a failing one under CI) */
export const resticTest: (name: string, fn: Callback<Context>) => void = missing === undefined
  ? test
  : ci ? (name) => test(name, () => { throw new Error(`${missing}; CI must provide it`) }) : (name, fn) => test.skip(name, fn)

export async function tempDir (label: string): Promise<string> {
  return await mkdtemp(join(tmpdir(), `minga-${label}-`))
}

/** a folder like a small database's: nested files, one larger random file, an empty file, a marker line */
export async function volumeLike (dir: string, marker: string, bigBytes = 3 * 1024 * 1024): Promise<void> {
  await mkdir(join(dir, 'base', '16384'), { recursive: true })
  await writeFile(join(dir, 'base', '16384', 'table'), randomBytes(bigBytes))
  await writeFile(join(dir, 'PG_VERSION'), '16\n')
  await writeFile(join(dir, 'empty'), '')
  await writeFile(join(dir, 'lines.log'), `${marker}\n`)
}

/** the bytes of every regular file under `dir` (searching a holder's store for plaintext) */
export async function filesUnder (dir: string): Promise<Buffer[]> {
  const out: Buffer[] = []
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.push(await readFile(join(entry.parentPath ?? (entry as any).path, entry.name)))
  }
  return out
}

/** path → content of every regular file under `dir`, for comparing two folders */
export async function folderContent (dir: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name)
    const info = await lstat(path)
    if (info.isDirectory()) Object.assign(out, await folderContent(path, `${prefix}${name}/`))
    else if (info.isFile()) out[`${prefix}${name}`] = (await readFile(path)).toString('base64')
  }
  return out
}
