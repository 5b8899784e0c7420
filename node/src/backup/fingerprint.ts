/**
 * A volume's fingerprint: a hash of every entry's path, type, size, mode and
 * change times (nanoseconds). Any write changes a file's ctime, so two equal
 * fingerprints mean nothing was written in between; that is how a local copy
 * knows whether it was written since its base snapshot, without reading data.
 */
import { createHash } from 'node:crypto'
import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'

export interface Fingerprint {
  hash: string
  files: number
  bytes: number
}

export async function fingerprintFolder (dir: string): Promise<Fingerprint> {
  const digest = createHash('sha256')
  let files = 0
  let bytes = 0
  const walk = async (folder: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(folder)).sort()) {
      const path = join(folder, name)
      const info = await lstat(path, { bigint: true }).catch(() => undefined)
      if (info === undefined) continue
      const kind = info.isDirectory() ? 'd' : info.isFile() ? 'f' : info.isSymbolicLink() ? 'l' : 'o'
      digest.update(`${prefix}${name}\0${kind}\0${info.size}\0${info.mode}\0${info.mtimeNs}\0${info.ctimeNs}\n`)
      if (kind === 'd') await walk(path, `${prefix}${name}/`)
      else if (kind === 'f') { files++; bytes += Number(info.size) }
    }
  }
  await walk(dir, '')
  return { hash: digest.digest('hex'), files, bytes }
}

/** true when the folder has no entry at all */
export async function isEmptyFolder (dir: string): Promise<boolean> {
  return (await readdir(dir)).length === 0
}
