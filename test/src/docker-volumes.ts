/**
 * Helpers for the end-to-end tests of volumes: a journal service that writes
 * numbered lines into a named volume, and reading a volume's files on a
 * node's engine (its folder on this host: the engines run here, as root).
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { DockerCluster } from './docker-cluster.js'

/** a unique line the journal writes into its volume, that no holder may hold in plaintext */
export const MARKER = 'PLAINTEXT-MARKER-7c41d9'

/**
 * A singleton that appends `line N` to /data/lines.log ten times a second,
 * numbering on from the lines it finds (so a restored volume continues
 * where its snapshot ended), and writes MARKER into the volume once
 */
export function journal (options: { name?: string, allowOrgs?: string[], interval?: string } = {}): string {
  const script = `echo ${MARKER} > /data/marker; i=$(cat /data/lines.log 2>/dev/null | wc -l); while true; do i=$((i+1)); echo line $i >> /data/lines.log; sleep 0.1; done`
  return [
    `name: ${options.name ?? 'journal'}`,
    'image: minga/busybox:1',
    `command: ["sh", "-c", "${script}"]`,
    'singleton: true',
    ...(options.allowOrgs === undefined ? [] : [`allowOrgs: [${options.allowOrgs.join(', ')}]`]),
    'resources: { cpu: 50m, memory: 16Mi }',
    'volumes:',
    `  - { name: data, path: /data, backup: { interval: ${options.interval ?? '10m'}, pre: "sync" } }`,
    ''
  ].join('\n')
}

/** the engine's name of a service's named volume */
export function volumeName (org: string, service: string, volume: string): string {
  return `minga-${org}-${service}-${volume}`
}

/** a file of a named volume on a node's engine, or undefined when the volume or the file is not there */
export async function volumeFile (cluster: DockerCluster, index: number, volume: string, file: string): Promise<string | undefined> {
  const found = (await cluster.nodes[index].engine.api.volumes({ name: [volume] })).find(v => v.name === volume)
  if (found === undefined) return undefined
  return await readFile(join(found.mountpoint, file), 'utf8').catch(() => undefined)
}

/** the kept-aside copies of a volume on a node's engine */
export async function asideCopies (cluster: DockerCluster, index: number, volume: string): Promise<Array<{ name: string, mountpoint: string, labels: Record<string, string> }>> {
  return (await cluster.nodes[index].engine.api.volumes({ label: [`io.minga.aside-of=${volume}`] }))
}

/** the numbers of the `line N` lines of a journal */
export function lineNumbers (text: string | undefined): number[] {
  return (text ?? '').split('\n').flatMap(l => /^line (\d+)$/.exec(l) === null ? [] : [Number(/^line (\d+)$/.exec(l)![1])])
}

/** the numbers from 1 to the highest written that are missing (an empty list: nothing lost) */
export function missing (numbers: readonly number[]): number[] {
  const seen = new Set(numbers)
  const max = Math.max(0, ...numbers)
  const out: number[] = []
  for (let n = 1; n <= max; n++) if (!seen.has(n)) out.push(n)
  return out
}

/** the bytes of every file under a folder (a holder's blob store) */
export async function filesUnder (dir: string): Promise<Buffer[]> {
  const out: Buffer[] = []
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (entry.isFile()) out.push(await readFile(join(entry.parentPath ?? (entry as any).path, entry.name)))
  }
  return out
}

/** every blob file of a repository in a node's store, by path */
export async function blobFiles (dataDir: string, repo: string): Promise<string[]> {
  const root = join(dataDir, 'backup', 'blobs', 'repos', repo)
  const out: string[] = []
  for (const prefix of await readdir(root).catch(() => [] as string[])) {
    for (const name of await readdir(join(root, prefix)).catch(() => [] as string[])) out.push(join(root, prefix, name))
  }
  return out
}
