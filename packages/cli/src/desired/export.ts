/**
 * `minga export DIR`: an organization's services as spec files, one per
 * service (`NAME.yaml`) or per Compose project (`PROJECT.yaml`), config
 * content beside them (`STEM.files/SERVICE/PATH`), never a secret's value
 * (secrets are named in `secretFiles:`; values stay sealed in the mesh).
 * The same services give the same bytes, so a repository of exports
 * changes only where the mesh did. Files of an earlier export that no
 * service needs any more are removed; nothing else in DIR is touched.
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { specFileText, type ServiceRecord, type ServiceSpec } from '@minga/protocol'

/** the first line of every exported file: how a later export knows its own files */
export const EXPORT_MARK = '# minga export'

export interface ExportInput {
  org: string
  records: ServiceRecord[]
  /** the config files of a service (org/name) with their content */
  configFiles: (service: string) => Promise<Array<{ path: string, content: Buffer }>>
}

/** write the folder (see above); returns the files written and removed, relative to `dir` */
export async function exportFolder (dir: string, input: ExportInput): Promise<{ written: string[], removed: string[] }> {
  await mkdir(dir, { recursive: true })
  const groups = new Map<string, ServiceSpec[]>()
  const standalone = new Set(input.records.filter(r => r.spec.project === undefined).map(r => r.spec.name))
  for (const { spec } of input.records) {
    let stem = spec.project ?? spec.name
    if (spec.project !== undefined && standalone.has(spec.project)) stem = `${spec.project}.project`
    groups.set(stem, [...(groups.get(stem) ?? []), spec])
  }
  const written: string[] = []
  const stems = [...groups.keys()].sort()
  for (const stem of stems) {
    const specs = groups.get(stem)!
    const project = specs[0].project
    const header = [
      `${EXPORT_MARK.slice(2)} of ${input.org}: ${project === undefined ? `service ${specs[0].name}` : `Compose project ${project} (${specs.length} service(s))`}`,
      `apply with: minga apply ${dir === '.' ? '.' : 'DIR'} (add --prune to remove what the folder no longer declares)`
    ]
    const files: Array<{ path: string, content: Buffer }> = []
    const text = specFileText(specs, {
      header,
      configSource: (spec, file) => `${stem}.files/${spec.name}${file.path}`
    })
    for (const spec of specs) {
      if ((spec.configs ?? []).length === 0) continue
      for (const file of await input.configFiles(`${spec.org}/${spec.name}`)) files.push({ path: `${stem}.files/${spec.name}${file.path}`, content: file.content })
    }
    await rm(join(dir, `${stem}.files`), { recursive: true, force: true })
    await writeFile(join(dir, `${stem}.yaml`), text)
    written.push(`${stem}.yaml`)
    for (const file of files.sort((a, b) => a.path < b.path ? -1 : 1)) {
      await mkdir(dirname(join(dir, file.path)), { recursive: true })
      await writeFile(join(dir, file.path), file.content)
      written.push(file.path)
    }
  }
  const removed: string[] = []
  for (const name of (await readdir(dir)).sort()) {
    if (!/\.ya?ml$/.test(name) || written.includes(name)) continue
    const first = (await readFile(join(dir, name), 'utf8')).split('\n', 1)[0]
    if (!first.startsWith(EXPORT_MARK)) continue
    const stem = name.replace(/\.ya?ml$/, '')
    await rm(join(dir, name))
    await rm(join(dir, `${stem}.files`), { recursive: true, force: true })
    removed.push(name)
  }
  return { written, removed }
}
