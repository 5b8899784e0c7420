/**
 * Each local volume's place in its lineage, on disk: `<dir>/<volume>.json`
 * with the snapshot it matches (`base`) and the fingerprint it had then.
 * Written atomically (temp file, fsync, rename), so a kill -9 leaves either
 * the old record or the new one.
 */
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { LineageRecord, LineageRecords } from '../core/volumes/types.js'
import { syncDir } from './blob-store.js'

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,200}$/

export class LineageStore implements LineageRecords {
  constructor (private readonly dir: string) {}

  async get (name: string): Promise<LineageRecord | undefined> {
    if (!NAME.test(name)) return undefined
    try {
      return JSON.parse(await readFile(join(this.dir, `${name}.json`), 'utf8')) as LineageRecord
    } catch {
      return undefined
    }
  }

  async set (name: string, record: LineageRecord): Promise<void> {
    if (!NAME.test(name)) throw new Error(`${name} is not a volume name`)
    await mkdir(this.dir, { recursive: true })
    const temp = join(this.dir, `.${name}.json.tmp`)
    const file = await open(temp, 'w')
    try {
      await file.writeFile(JSON.stringify(record))
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temp, join(this.dir, `${name}.json`))
    await syncDir(this.dir)
  }

  async delete (name: string): Promise<void> {
    if (NAME.test(name)) await rm(join(this.dir, `${name}.json`), { force: true })
  }

  async list (): Promise<Array<{ name: string, record: LineageRecord }>> {
    const out: Array<{ name: string, record: LineageRecord }> = []
    for (const file of await readdir(this.dir).catch(() => [] as string[])) {
      if (!file.endsWith('.json') || file.startsWith('.')) continue
      const name = file.slice(0, -5)
      const record = await this.get(name)
      if (record !== undefined) out.push({ name, record })
    }
    return out
  }
}
