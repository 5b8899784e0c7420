/** moving a volume's files between folders of one filesystem: renames, never copies */
import { readdir, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { syncDir } from './blob-store.js'

/** moves every entry of folder `from` into folder `to` (both must exist, on one filesystem) */
export async function moveEntries (from: string, to: string): Promise<void> {
  for (const name of await readdir(from)) await rename(join(from, name), join(to, name))
  await syncDir(to)
  await syncDir(from)
}
