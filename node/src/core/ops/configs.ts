/**
 * Config files of services: content written into a service's containers
 * at a path, on whichever node runs them (Compose's `configs:`, and bind
 * mounts of project files). The spec lists each file with the sha256 of each
 * of its chunks (`ConfigFileSpec`); the chunks are entries
 * `config/<org>/<service>/<sha256>` that the deploying node writes before
 * the spec, and every node merges like any entry (records.ts checks that the
 * content matches its digest). A node that starts a replica before a chunk
 * reached it fails that start, and retries with back-off until it arrives.
 *
 * Chunks that no longer back the service's spec (nor the one it replaced,
 * which running replicas may still use) are deleted when the service is
 * deployed again or removed.
 */
import { createHash } from 'node:crypto'
import {
  CONFIG_CHUNK_BYTES, keys, type ConfigChunkRecord, type ConfigFileSpec, type Identity, type ServiceSpec, type State
} from '@minga/protocol'
import type { ContainerFile } from '../../runtime/types.js'
import { BadRequestError, ConfigUnavailableError } from '../../errors.js'

/** the chunk digests a spec's config files need */
export function chunksOf (spec: Pick<ServiceSpec, 'configs'> | undefined): Set<string> {
  return new Set((spec?.configs ?? []).flatMap(file => file.chunks))
}

/** sha256 (hex) of bytes, as chunk keys name them */
export function chunkDigest (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** the files of a spec's configs, with their content from the chunk entries; throws ConfigUnavailableError when one is missing here */
export function configFilesOf (state: State, spec: ServiceSpec): ContainerFile[] {
  return (spec.configs ?? []).map(file => ({ path: file.path, content: contentOf(state, spec, file), mode: file.mode, uid: file.uid, gid: file.gid }))
}

function contentOf (state: State, spec: ServiceSpec, file: ConfigFileSpec): Uint8Array {
  const parts = file.chunks.map(digest => {
    const record = state.value(keys.config(spec.org, spec.name, digest))
    if (record === undefined) throw new ConfigUnavailableError(`Config file ${file.path} of ${spec.org}/${spec.name} has not reached this node yet (chunk ${digest.slice(0, 12)}); it comes with the mesh's state, or deploy the service again`)
    return Buffer.from(record.data, 'base64')
  })
  const content = Buffer.concat(parts)
  if (content.length !== file.size) throw new ConfigUnavailableError(`Config file ${file.path} of ${spec.org}/${spec.name} adds up to ${content.length} bytes, not ${file.size}; deploy the service again`)
  return content
}

/**
 * Write the chunks of one service that the state lacks; each must be base64
 * of at most CONFIG_CHUNK_BYTES. Returns the digests it holds now
 */
export async function storeChunks (state: State, identity: Identity, org: string, service: string, chunks: unknown[]): Promise<{ stored: string[], written: number }> {
  const stored: string[] = []
  let written = 0
  for (const [i, data] of chunks.entries()) {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'base64') : undefined
    if (bytes === undefined || bytes.length === 0 || bytes.length > CONFIG_CHUNK_BYTES || bytes.toString('base64') !== data) {
      throw new BadRequestError(`chunks[${i}] must be base64 of 1 to ${CONFIG_CHUNK_BYTES} bytes`)
    }
    const digest = chunkDigest(bytes)
    const key = keys.config(org, service, digest)
    if (state.value(key) === undefined) {
      await state.write(identity, key, { data } satisfies ConfigChunkRecord)
      written++
    }
    stored.push(digest)
  }
  return { stored, written }
}

/** the chunk digests a spec needs that this node does not hold */
export function missingChunks (state: State, spec: ServiceSpec): string[] {
  return [...chunksOf(spec)].filter(digest => state.value(keys.config(spec.org, spec.name, digest)) === undefined)
}

/** delete the chunks of a service that none of `keep` needs */
export async function dropChunks (state: State, identity: Identity, org: string, service: string, keep: Set<string>): Promise<number> {
  let dropped = 0
  for (const entry of state.records('config', `${org}/${service}/`)) {
    const digest = entry.key.split('/')[3]
    if (keep.has(digest)) continue
    await state.write(identity, entry.key, undefined)
    dropped++
  }
  return dropped
}
