/**
 * What minga reads of an image's config (the OCI image spec's
 * `rootfs.diff_ids`) and the chain ids engines hold layer stacks by.
 */
import { createHash } from 'node:crypto'

/** the diff ids (`sha256:<hex>`) a config lists, base first; throws when it is not an image config */
export function configDiffIds (config: Uint8Array): string[] {
  let parsed: { rootfs?: { diff_ids?: unknown } }
  try {
    parsed = JSON.parse(new TextDecoder().decode(config))
  } catch {
    throw new Error('The image config is not JSON')
  }
  const ids = parsed.rootfs?.diff_ids
  if (!Array.isArray(ids) || ids.length > 1024 || !ids.every(d => typeof d === 'string' && /^sha256:[0-9a-f]{64}$/.test(d))) throw new Error('The image config lists no layer diff ids')
  return ids as string[]
}

/** the chain id of each prefix of a layer stack (the OCI image spec's ChainID): what an engine holds layers by */
export function chainIds (diffIds: string[]): string[] {
  const out: string[] = []
  let chain = ''
  for (const diff of diffIds) {
    chain = chain === '' ? diff : `sha256:${createHash('sha256').update(`${chain} ${diff}`).digest('hex')}`
    out.push(chain)
  }
  return out
}
