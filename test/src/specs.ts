/** service spec files for tests: written to a temp dir, passed to `minga deploy -f` */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface SpecOptions {
  replicas?: number
  image?: string
  cpu?: string
  memory?: string
  spread?: 'org' | 'node'
  singleton?: boolean
}

/** a minga spec (YAML) for a long-running service in the memory runtime */
export function serviceSpec (name: string, options: SpecOptions = {}): string {
  return [
    `name: ${name}`,
    `image: ${options.image ?? 'minga/busybox:1'}`,
    'command: ["httpd", "-f", "-p", "8080"]',
    `replicas: ${options.replicas ?? 1}`,
    `resources: { cpu: ${options.cpu ?? '100m'}, memory: ${options.memory ?? '32Mi'} }`,
    ...(options.spread !== undefined ? [`spread: ${options.spread}`] : []),
    ...(options.singleton === true ? ['singleton: true'] : []),
    ''
  ].join('\n')
}

/** writes `serviceSpec(name, options)` into `dir` and returns the file's path */
export async function writeSpec (dir: string, name: string, options: SpecOptions = {}): Promise<string> {
  const path = join(dir, `${name}.yaml`)
  await writeFile(path, serviceSpec(name, options))
  return path
}
