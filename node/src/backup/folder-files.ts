/**
 * A restic repository in a local folder, laid out as restic's own local
 * backend lays it out (`<dir>/config`, `<dir>/<type>/<name>`), behind the
 * REST server's `ResticFiles`. For tests and benchmarks, and the reference
 * the mesh-backed repository is checked against.
 */
import { createReadStream } from 'node:fs'
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { syncDir } from './blob-store.js'
import type { ResticFileInfo, ResticFiles, ResticFileType } from './rest-server.js'

export class FolderFiles implements ResticFiles {
  constructor (readonly dir: string) {}

  async create (): Promise<void> {
    for (const type of ['data', 'keys', 'locks', 'snapshots', 'index']) await mkdir(join(this.dir, type), { recursive: true })
  }

  async list (type: Exclude<ResticFileType, 'config'>): Promise<ResticFileInfo[]> {
    const names = await readdir(join(this.dir, type)).catch(() => [] as string[])
    const out: ResticFileInfo[] = []
    for (const name of names) {
      const size = await this.stat(type, name)
      if (size !== undefined) out.push({ name, size })
    }
    return out
  }

  async stat (type: ResticFileType, name: string): Promise<number | undefined> {
    return await stat(this.pathOf(type, name)).then(s => s.size, () => undefined)
  }

  async read (type: ResticFileType, name: string, range?: { start: number, end?: number }): Promise<{ size: number, body: AsyncIterable<Uint8Array> } | undefined> {
    const size = await this.stat(type, name)
    if (size === undefined) return undefined
    const end = Math.min(range?.end ?? size - 1, size - 1)
    const body: AsyncIterable<Uint8Array> = end < (range?.start ?? 0) ? (async function * () {})() : createReadStream(this.pathOf(type, name), { start: range?.start ?? 0, end })
    return { size, body }
  }

  async write (type: ResticFileType, name: string, path: string, _size: number): Promise<void> {
    const target = this.pathOf(type, name)
    await mkdir(dirname(target), { recursive: true })
    try {
      await rename(path, target)
    } catch {
      await copyFile(path, `${target}.tmp`)
      await rename(`${target}.tmp`, target)
    }
    await syncDir(dirname(target))
  }

  async remove (type: ResticFileType, name: string): Promise<void> {
    await rm(this.pathOf(type, name), { force: true })
  }

  private pathOf (type: ResticFileType, name: string): string {
    return type === 'config' ? join(this.dir, 'config') : join(this.dir, type, name)
  }
}
