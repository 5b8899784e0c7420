/**
 * Files written into a container before it starts (configs and secret
 * files), as the tar archive Docker's `PUT /containers/{id}/archive` takes.
 * Entries are relative to `/`; Docker creates missing parent folders
 * (root-owned, mode 0755).
 */
import { pack } from 'tar-stream'
import type { ContainerFile } from './types.js'

/** the files as one tar archive (paths, modes, owners kept), for Docker's archive API */
export async function tarOf (files: ContainerFile[]): Promise<Buffer> {
  const archive = pack()
  const chunks: Buffer[] = []
  const collected = (async () => { for await (const chunk of archive) chunks.push(chunk as Buffer) })()
  for (const file of files) {
    await new Promise<void>((resolve, reject) => {
      archive.entry({
        name: file.path.replace(/^\/+/, ''),
        type: 'file',
        mode: file.mode,
        uid: file.uid ?? 0,
        gid: file.gid ?? 0,
        // a fixed time: the same files make the same archive
        mtime: new Date(0)
      }, Buffer.from(file.content), (err) => { if (err != null) reject(err); else resolve() })
    })
  }
  archive.finalize()
  await collected
  return Buffer.concat(chunks)
}
