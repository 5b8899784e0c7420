/**
 * Volumes as plain folders under one root (`<root>/<name>/_data`, labels in
 * `<root>/<name>/labels.json`): the VolumeHost of the memory runtime and of
 * tests, with the same moves as Docker's (renames within one filesystem).
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AsideInfo, LocalVolume, VolumeHost, VolumeLabels } from '../core/volumes/host.js'
import { moveEntries } from './move.js'

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

export class FolderVolumes implements VolumeHost {
  constructor (readonly root: string) {}

  async list (): Promise<LocalVolume[]> {
    const out: LocalVolume[] = []
    for (const name of (await readdir(this.root).catch(() => [] as string[])).sort()) {
      if (!NAME.test(name)) continue
      const labels = await this.labels(name)
      out.push({ name, ...(labels?.service === undefined ? {} : { service: labels.service, volume: labels.volume }), ...(labels?.info === undefined ? {} : { aside: labels.info }) })
    }
    return out
  }

  async path (name: string): Promise<string | undefined> {
    const data = join(this.root, this.checked(name), '_data')
    return await stat(data).then(() => data, () => undefined)
  }

  async create (name: string, labels: VolumeLabels): Promise<string> {
    const data = join(this.root, this.checked(name), '_data')
    await mkdir(data, { recursive: true })
    if (await this.labels(name) === undefined) await writeFile(join(this.root, name, 'labels.json'), JSON.stringify(labels))
    return data
  }

  async keepAside (name: string, aside: string, labels: VolumeLabels & { info: AsideInfo }): Promise<void> {
    const from = await this.path(name)
    if (from === undefined) return
    const to = join(this.root, this.checked(aside), '_data')
    await mkdir(to, { recursive: true })
    await writeFile(join(this.root, aside, 'labels.json'), JSON.stringify(labels))
    await moveEntries(from, to)
  }

  async remove (name: string): Promise<void> {
    await rm(join(this.root, this.checked(name)), { recursive: true, force: true })
  }

  private async labels (name: string): Promise<(VolumeLabels & { info?: AsideInfo }) | undefined> {
    return await readFile(join(this.root, name, 'labels.json'), 'utf8').then(t => JSON.parse(t), () => undefined)
  }

  private checked (name: string): string {
    if (!NAME.test(name)) throw new Error(`${name} is not a volume name`)
    return name
  }
}
