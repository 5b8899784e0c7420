/**
 * A container engine's images, modelled: images made of a config and
 * layers (bytes), named by the sha256 of the config as Docker names them,
 * saved and loaded like `docker save` / `docker load` (loading checks every
 * layer against the config's diff ids, and skips layers the engine holds),
 * and a modelled registry to pull from. With a MemoryEngine it also tells
 * the engine which images it has, so replicas start only on images loaded.
 */
import { createHash } from 'node:crypto'
import { sha256Hex } from '@minga/protocol'
import { ImageNotFoundError } from '../../runtime/errors.js'
import type { MemoryEngine } from '../../runtime/memory-engine.js'
import { chainIds, configDiffIds } from './image-config.js'
import type { EngineImage, ImageEngine, LoadFile, SavedFile } from './types.js'

interface Held { id: string, config: Uint8Array, layers: Uint8Array[], tags: Set<string> }

const encoder = new TextEncoder()

/** an image's config as Docker writes it (the parts minga reads: rootfs.diff_ids) */
export function modelConfig (layers: Uint8Array[], label = ''): Uint8Array {
  return encoder.encode(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/bin'], Labels: { 'io.minga.model': label } },
    rootfs: { type: 'layers', diff_ids: layers.map(l => `sha256:${sha256Hex(l)}`) }
  }))
}

/** the images of one modelled engine; `create` builds one (like `docker build`), `publish` puts one in the modelled registry */
export class MemoryImages implements ImageEngine {
  private readonly images = new Map<string, Held>()
  private readonly registry = new Map<string, Held>()
  /** loads done, with the layers given and skipped: tests read what travelled */
  readonly loads: Array<{ id: string, given: number, skipped: number }> = []
  pulls = 0

  constructor (private readonly engine?: MemoryEngine) {}

  /** a new image of these layers, tagged `ref`: its id */
  create (ref: string, layers: Uint8Array[], label = ref): string {
    const held = this.held(layers, label)
    this.add(held, [ref])
    return held.id
  }

  /** an image of these layers in the modelled registry under `ref` (a new push moves the tag) */
  publish (ref: string, layers: Uint8Array[], label = ref): string {
    const held = this.held(layers, label)
    this.registry.set(ref, held)
    return held.id
  }

  /** drops an image, as `docker rmi` would */
  remove (id: string): void {
    const held = this.images.get(id)
    if (held === undefined) return
    this.images.delete(id)
    for (const tag of held.tags) if (this.find(tag) === undefined) this.engine?.removeImage(tag)
    this.engine?.removeImage(id)
  }

  async inspect (ref: string): Promise<EngineImage | undefined> {
    const held = this.find(ref)
    return held === undefined ? undefined : this.describe(held)
  }

  async * save (id: string): AsyncIterable<SavedFile> {
    const held = this.find(id)
    if (held === undefined) throw new ImageNotFoundError(id, 'the engine does not have it')
    for (const layer of held.layers) yield { name: `${sha256Hex(layer)}/layer.tar`, size: layer.length, role: 'layer', data: once(layer) }
    yield { name: `${held.id.slice(7)}.json`, size: held.config.length, role: 'config', data: once(held.config) }
  }

  async load (image: { config: Uint8Array, layers: LoadFile[], tags: string[] }): Promise<void> {
    const diffIds = configDiffIds(image.config)
    if (diffIds.length !== image.layers.length) throw new Error(`invalid manifest, layers length mismatch: expected ${diffIds.length}, got ${image.layers.length}`)
    const chains = chainIds(diffIds)
    const have = await this.layerChains()
    const layers: Uint8Array[] = []
    let skipped = 0
    for (const [i, file] of image.layers.entries()) {
      if (file.data === undefined) {
        if (!have.has(chains[i])) throw new Error(`layer ${diffIds[i]} is not on the engine and was not given`)
        layers.push(this.layerOf(diffIds[i])!)
        skipped++
        continue
      }
      const parts: Uint8Array[] = []
      for await (const part of file.data()) parts.push(part)
      const bytes = Buffer.concat(parts)
      if (`sha256:${sha256Hex(bytes)}` !== diffIds[i]) throw new Error(`invalid diffID for layer ${i}: expected ${diffIds[i]}`)
      layers.push(bytes)
    }
    const held: Held = { id: `sha256:${sha256Hex(image.config)}`, config: image.config, layers, tags: new Set() }
    this.add(held, image.tags)
    this.loads.push({ id: held.id, given: image.layers.length - skipped, skipped })
  }

  async layerChains (): Promise<Set<string>> {
    const out = new Set<string>()
    for (const held of this.images.values()) for (const chain of chainIds(configDiffIds(held.config))) out.add(chain)
    return out
  }

  async pull (ref: string): Promise<EngineImage> {
    const held = this.registry.get(ref)
    if (held === undefined) throw new ImageNotFoundError(ref, 'no registry has it')
    this.pulls++
    this.add({ ...held, tags: new Set() }, [ref])
    return this.describe(this.images.get(held.id)!)
  }

  async registryDigest (ref: string): Promise<string | undefined> {
    const held = this.registry.get(ref)
    return held === undefined ? undefined : registryDigestOf(held.id)
  }

  private held (layers: Uint8Array[], label: string): Held {
    const config = modelConfig(layers, label)
    return { id: `sha256:${sha256Hex(config)}`, config, layers, tags: new Set() }
  }

  private add (held: Held, tags: string[]): void {
    const existing = this.images.get(held.id) ?? held
    this.images.set(held.id, existing)
    for (const tag of tags) {
      // a tag names one image: moving it takes it off the other
      for (const other of this.images.values()) if (other !== existing) other.tags.delete(tag)
      existing.tags.add(tag)
      this.engine?.addImage(tag)
    }
    this.engine?.addImage(held.id)
  }

  private find (ref: string): Held | undefined {
    const byId = this.images.get(ref) ?? this.images.get(`sha256:${ref}`)
    if (byId !== undefined) return byId
    for (const held of this.images.values()) if (held.tags.has(ref)) return held
    return undefined
  }

  private layerOf (diffId: string): Uint8Array | undefined {
    for (const held of this.images.values()) for (const layer of held.layers) if (`sha256:${sha256Hex(layer)}` === diffId) return layer
    return undefined
  }

  private describe (held: Held): EngineImage {
    return {
      id: held.id,
      tags: [...held.tags],
      repoDigests: [...this.registry.entries()].filter(([, h]) => h.id === held.id).map(([ref]) => `${ref.replace(/:[^:/]+$/, '')}@${registryDigestOf(held.id)}`),
      layers: configDiffIds(held.config),
      size: held.layers.reduce((sum, l) => sum + l.length, 0)
    }
  }
}

/** the modelled registry's manifest digest of an image: not its id, as a real registry's is not */
function registryDigestOf (id: string): string {
  return `sha256:${createHash('sha256').update(`manifest ${id}`).digest('hex')}`
}

async function * once (bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes
}
