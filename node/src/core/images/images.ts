/**
 * The images room (issue 15): images carried by the mesh, pinned by digest.
 *
 * - `push(ref)`: the engine's image is saved, cut into chunks (blob-index.ts)
 *   into this node's store, and announced by signed records: the image
 *   (`image/<org>/<hex>`, with its index root) and its tags
 *   (`tag/<org>/…`). This node then holds it for the mesh.
 * - `ensure(digest)`: the engine has the image with this id, or it is
 *   fetched from the nodes that hold it (several at once, fetcher.ts), every
 *   chunk checked, and loaded — without the layers the engine holds already.
 *   This node then serves it to others (chunk-server.ts).
 * - `resolve(ref)`: what a deploy pins: the org's tag in the mesh, else the
 *   engine's image of that name (pushed into the mesh), else a registry's
 *   (pulled once, pushed into the mesh, so the registry is hit once per mesh).
 *
 * Sans I/O: the store, the engine and the mesh are interfaces; the daemon
 * binds them to the disk, Docker and libp2p (node/src/images), tests to
 * their in-memory twins.
 */
import {
  encodeBlobIndex, keys, messageOf, tagKeyId, withTag,
  type BlobIndex, type ImageRecord, type ImageSource, type IndexedFile, type RecordEntry
} from '@minga/protocol'
import { ForbiddenError, ImageUnavailableError } from '../../errors.js'
import type { AbortOptions } from '../../runtime/types.js'
import type { CoreComponents, LiveSet, ReconcileView } from '../components.js'
import type { Mesh } from '../mesh.js'
import { errorText, type Logger } from '../logger.js'
import { RootAccess } from './access.js'
import { ChunkServer } from './chunk-server.js'
import { ImageCopies } from './copies.js'
import { readFile, readWhole, storeFile } from './chunking.js'
import { chainIds, configDiffIds } from './image-config.js'
import { ChunkFetcher, type FetchProgress } from './fetcher.js'
import { wholeHolders } from './holders.js'
import type { ChunkStore, EngineImage, ImageEngine, ImageHooks, LoadFile } from './types.js'

export interface ImagesComponents extends CoreComponents {
  mesh: Mesh
  store: ChunkStore
  engine: ImageEngine
  liveness: Pick<LiveSet, 'live'>
  /** where services run: the nodes running a pinned image are asked for it first */
  reconcile?: Pick<ReconcileView, 'desired' | 'currentAssignment'>
  /** the fetcher's tuning (tests shorten its waits) */
  fetch?: { window?: number, batch?: number, surveyMs?: number, stallMs?: number }
}

export interface PushOptions {
  private?: boolean
  source?: ImageSource
  /** the build that made it */
  build?: string
  /** tags to record beyond the engine's own for `ref` */
  tags?: string[]
}

export interface PushResult {
  digest: string
  index: string
  size: number
  layers: number
  tags: string[]
  /** chunks written to this node's store (0 when it held them all) */
  stored: number
}

export interface Resolved {
  digest: string
  /** where the tag was found: the org's tag in the mesh, this node's engine, or a registry */
  from: 'mesh' | 'engine' | 'registry' | 'digest'
  pushed?: PushResult
}

/** the images room (see above): `start()` serves chunks to members; `push`, `ensure`, `resolve` */
export class Images implements ImageHooks {
  readonly access: RootAccess
  readonly server: ChunkServer
  readonly fetcher: ChunkFetcher
  /** this node's share of the copies that keep pinned images fetchable when their holders die */
  readonly copies?: ImageCopies
  private readonly log: Logger
  private readonly ensuring = new Map<string, { promise: Promise<void>, progress?: FetchProgress, ref: string }>()
  private readonly pushing = new Map<string, Promise<PushResult>>()

  constructor (private readonly init: ImagesComponents) {
    this.log = init.logger.forComponent('images')
    this.access = new RootAccess(init.state)
    const meshId = init.state.meshId
    this.server = new ChunkServer({ mesh: init.mesh, meshId, store: init.store, access: this.access, log: this.log })
    this.fetcher = new ChunkFetcher({
      mesh: init.mesh,
      meshId,
      store: init.store,
      clock: init.clock,
      log: this.log,
      ...init.fetch,
      onRefused: (peer, chunk) => this.emit('image', peer, `refused chunk ${chunk.slice(0, 12)} from ${peer}: its bytes do not match its digest (${this.init.store.refused + this.fetcher.stats.refused} refused so far)`)
    })
    if (init.reconcile !== undefined) this.copies = new ImageCopies({ images: this, store: init.store, liveness: init.liveness, reconcile: init.reconcile, clock: init.clock, log: this.log })
  }

  start (): void {
    this.server.start()
    this.copies?.start()
  }

  get state (): ImagesComponents['state'] {
    return this.init.state
  }

  get identity (): ImagesComponents['identity'] {
    return this.init.identity
  }

  /** now, by the node's clock */
  now (): number {
    return this.init.clock.now()
  }

  /**
   * Stores a file (a scanner database, a git bundle, a build log) as a root
   * of its own in this node's store, for the mesh to fetch once a record
   * names it
   */
  async putFile (data: AsyncIterable<Uint8Array>): Promise<{ root: string, size: number }> {
    const file = await storeFile(this.init.store, 'file', data)
    const encoded = encodeBlobIndex({ kind: 'file', files: [file] })
    await this.init.store.put(encoded.root, encoded.bytes)
    await this.init.store.markRoot(encoded.root)
    return { root: encoded.root, size: file.size }
  }

  /** the root's index, with every chunk it names in this node's store: fetched from live members when missing */
  async fetchRoot (root: string, options: AbortOptions = {}): Promise<BlobIndex> {
    if (this.init.store.roots().includes(root)) {
      const held = await this.indexOf(root)
      if (held !== undefined) return held
    }
    const self = this.init.identity.peerId
    return (await this.fetcher.fetch(root, { signal: options.signal, candidates: () => this.init.liveness.live().filter(p => p !== self) })).index
  }

  /**
   * The nodes (this one included) that hold every chunk of the image
   * `digest` now, and how many could: the live members that may read it.
   * ImageUnavailableError when no record this node may read names it
   */
  async holders (digest: string, options: AbortOptions = {}): Promise<{ holders: string[], eligible: number }> {
    const record = this.readable(digest)[0]
    if (record === undefined) throw new ImageUnavailableError(`No image ${digest.slice(0, 19)} is in the mesh for this node`)
    const { identity, liveness, state, store } = this.init
    const root = record.value.index
    const org = record.key.split('/')[1]
    const self = identity.peerId
    const eligible = liveness.live().filter(p => record.value.private !== true || state.memberOrg(p) === org)
    // the index alone, when this node does not hold it: a few KB
    const index = await this.indexOf(root) ?? (await this.fetcher.fetch(root, { signal: options.signal, candidates: () => eligible.filter(p => p !== self), want: () => [] })).index
    const holders = await wholeHolders({ mesh: this.init.mesh, meshId: state.meshId, clock: this.init.clock }, root, index, eligible.filter(p => p !== self), options)
    return { holders: store.roots().includes(root) ? [self, ...holders] : holders, eligible: new Set([self, ...eligible]).size }
  }

  /** a file root's bytes, chunk by chunk, from this node's store (fetched first when missing) */
  async * readRoot (root: string, options: AbortOptions = {}): AsyncIterable<Uint8Array> {
    const index = await this.fetchRoot(root, options)
    for (const file of index.files) yield * readFile(this.init.store, file)
  }

  stop (): void {
    this.copies?.stop()
    this.access.close()
  }

  /** this node's organization */
  get org (): string {
    const org = this.init.state.memberOrg(this.init.identity.peerId)
    if (org === undefined) throw new ForbiddenError('This node is not a member of the mesh yet; run "minga join TOKEN" first')
    return org
  }

  /**
   * Puts the engine's image `ref` into the mesh (see above); resolves once
   * every chunk is stored here and the records are written. Throws
   * ImageUnavailableError when the engine has no such image
   */
  async push (ref: string, options: PushOptions = {}): Promise<PushResult> {
    const image = await this.init.engine.inspect(ref)
    if (image === undefined) throw new ImageUnavailableError(`This node's engine has no image ${ref}; build it (minga build, docker build) or pull it first`)
    const key = `${image.id} ${options.private === true}`
    const under = this.pushing.get(key)
    if (under !== undefined) return await under
    const promise = this.pushImage(image, ref, options).finally(() => this.pushing.delete(key))
    this.pushing.set(key, promise)
    return await promise
  }

  private async pushImage (image: EngineImage, ref: string, options: PushOptions): Promise<PushResult> {
    const { store, state, identity, clock } = this.init
    const org = this.org
    const hex = image.id.slice('sha256:'.length)
    const tags = [...new Set([...(ref.startsWith('sha256:') ? [] : [withTag(ref)]), ...(options.tags ?? [])])]
    const existing = state.value(keys.image(org, hex))
    let root = existing?.index
    let stored = 0
    let index: BlobIndex | undefined
    if (root === undefined || !store.roots().includes(root)) {
      const before = store.usage().chunks
      index = await this.export(image)
      const encoded = encodeBlobIndex(index)
      await store.put(encoded.root, encoded.bytes)
      await store.markRoot(encoded.root)
      root = encoded.root
      stored = store.usage().chunks - before
    }
    const size = index === undefined ? existing!.size : index.files.reduce((sum, f) => sum + f.size, 0)
    const record: ImageRecord = {
      index: root,
      size,
      layers: image.layers.length,
      tags: [...new Set([...(existing?.tags ?? []), ...tags])].slice(-16),
      ...(options.private === true || (existing?.private === true && options.private !== false) ? { private: true as const } : {}),
      source: options.source ?? existing?.source ?? 'push',
      ...(image.repoDigests.length > 0 ? { registry: image.repoDigests[0] } : {}),
      ...(options.build !== undefined ? { build: options.build } : existing?.build !== undefined ? { build: existing.build } : {}),
      pushed: existing?.pushed ?? clock.now()
    }
    await state.write(identity, keys.image(org, hex), record)
    for (const tag of tags) {
      const current = state.value(keys.tag(org, tagKeyId(tag)))
      if (current?.digest !== image.id) await state.write(identity, keys.tag(org, tagKeyId(tag)), { ref: tag, digest: image.id })
    }
    this.emit('image', tags[0] ?? image.id, `${org} pushed ${tags.join(', ') || image.id} (${image.id.slice(0, 19)}, ${mb(size)}, ${image.layers.length} layer(s)) into the mesh${stored === 0 ? '' : `: ${stored} new chunk(s)`}`)
    return { digest: image.id, index: root, size, layers: image.layers.length, tags, stored }
  }

  /** the engine's image as chunks in the store, and its index */
  private async export (image: EngineImage): Promise<BlobIndex> {
    const { store, engine } = this.init
    let config: IndexedFile | undefined
    const layers = new Map<string, IndexedFile>()
    for await (const file of engine.save(image.id)) {
      const stored = await storeFile(store, file.role, file.data)
      if (file.role === 'config') config = stored
      else layers.set(`sha256:${stored.digest}`, stored)
    }
    if (config === undefined || `sha256:${config.digest}` !== image.id) throw new ImageUnavailableError(`The engine saved ${image.id} without its config; try again`)
    const diffIds = configDiffIds(await readWhole(store, config))
    const ordered = diffIds.map((diff) => {
      const layer = layers.get(diff)
      if (layer === undefined) throw new ImageUnavailableError(`The engine saved ${image.id} without its layer ${diff.slice(0, 19)}; try again`)
      return layer
    })
    return { kind: 'image', files: [config, ...ordered] }
  }

  /** the image records of `digest` this node may read, its own org's first */
  readable (digest: string): Array<RecordEntry<'image'>> {
    const hex = digest.slice('sha256:'.length)
    const org = this.init.state.memberOrg(this.init.identity.peerId)
    return this.init.state.records('image')
      .filter(e => e.key.endsWith(`/${hex}`) && (e.value.private !== true || e.key.split('/')[1] === org))
      .sort((a, b) => Number(b.key.split('/')[1] === org) - Number(a.key.split('/')[1] === org))
  }

  /**
   * The engine has the image `digest` when this resolves: fetched from the
   * mesh and loaded if it was missing. ImageUnavailableError when no record
   * this node may read names it; ImageFetchError when no holder gives it
   */
  async ensure (digest: string, options: AbortOptions & { ref?: string } = {}): Promise<void> {
    if (await this.init.engine.inspect(digest, options) !== undefined) return
    const under = this.ensuring.get(digest)
    if (under !== undefined) return await under.promise
    const entry: { promise: Promise<void>, progress?: FetchProgress, ref: string } = { promise: Promise.resolve(), ref: options.ref ?? digest }
    entry.promise = this.fetchAndLoad(digest, entry, options).finally(() => this.ensuring.delete(digest))
    this.ensuring.set(digest, entry)
    return await entry.promise
  }

  private async fetchAndLoad (digest: string, entry: { progress?: FetchProgress, ref: string }, options: AbortOptions): Promise<void> {
    const { engine, store, clock } = this.init
    const records = this.readable(digest)
    if (records.length === 0) throw new ImageUnavailableError(`No image ${digest.slice(0, 19)} is in the mesh for this node (none was pushed, or it is private to another organization); push it with "minga image push"`)
    const root = records[0].value.index
    const started = clock.now()
    const chains = await engine.layerChains(options)
    const result = await this.fetcher.fetch(root, {
      signal: options.signal,
      candidates: () => this.candidates(digest, records.map(r => r.author)),
      // the config, and the layers whose stack the engine does not hold
      want: (index) => {
        const layers = index.files.slice(1)
        const stack = chainIds(layers.map(f => `sha256:${f.digest}`))
        return [index.files[0], ...layers.filter((_, i) => !chains.has(stack[i]))].flatMap(f => f.chunks)
      },
      onProgress: (progress) => { entry.progress = progress }
    })
    const index = result.index
    const layerChains = chainIds(index.files.slice(1).map(f => `sha256:${f.digest}`))
    const layers: LoadFile[] = index.files.slice(1).map((file, i) => ({
      digest: file.digest,
      size: file.size,
      ...(chains.has(layerChains[i]) ? {} : { data: () => readFile(store, file) })
    }))
    const tags = this.currentTags(digest)
    await engine.load({ config: await readWhole(store, index.files[0]), layers, tags }, options)
    const seconds = ((clock.now() - started) / 1000).toFixed(1)
    this.emit('image', entry.ref, `fetched ${entry.ref} (${digest.slice(0, 19)}): ${mb(result.bytes)} in ${seconds} s from ${Object.keys(result.from).length} node(s), ${layers.filter(l => l.data === undefined).length} layer(s) already here; loaded`)
  }

  /** tags of readable records whose tag record names this digest now */
  private currentTags (digest: string): string[] {
    const tags = new Set<string>()
    for (const record of this.readable(digest)) {
      const org = record.key.split('/')[1]
      for (const tag of record.value.tags) if (this.init.state.value(keys.tag(org, tagKeyId(tag)))?.digest === digest) tags.add(tag)
    }
    return [...tags]
  }

  /** live peers to ask for an image: its pushers, then the nodes assigned a service pinned to it, then the rest */
  private candidates (digest: string, authors: string[]): string[] {
    const self = this.init.identity.peerId
    const live = this.init.liveness.live().filter(p => p !== self)
    const liveSet = new Set(live)
    const first = new Set(authors.filter(a => liveSet.has(a)))
    const reconcile = this.init.reconcile
    if (reconcile !== undefined) {
      const assignment = reconcile.currentAssignment()
      for (const service of reconcile.desired()) {
        if (service.spec.imageDigest !== digest) continue
        for (const node of assignment.services[service.id] ?? []) if (node !== null && liveSet.has(node)) first.add(node)
      }
    }
    return [...first, ...live.filter(p => !first.has(p))]
  }

  /**
   * What a deploy pins `ref` to, for `org` (see above). ImageUnavailableError,
   * saying where it looked, when neither the mesh, nor the engine, nor a registry has it
   */
  async resolve (ref: string, options: AbortOptions & { private?: boolean } = {}): Promise<Resolved> {
    if (/^sha256:[0-9a-f]{64}$/.test(ref)) return { digest: ref, from: 'digest' }
    const org = this.org
    const tag = this.init.state.value(keys.tag(org, tagKeyId(withTag(ref))))
    if (tag !== undefined) return { digest: tag.digest, from: 'mesh' }
    const local = await this.init.engine.inspect(ref, options)
    if (local !== undefined) return { digest: local.id, from: 'engine', pushed: await this.push(ref, { private: options.private }) }
    let pulled: EngineImage
    try {
      pulled = await this.init.engine.pull(ref, options)
    } catch (err) {
      throw new ImageUnavailableError(`Image ${ref} is not in the mesh (no tag of ${org} names it), not on this node's engine, and could not be pulled (${messageOf(err)}); build it (minga build), push it (minga image push), or deploy with --unpinned to let each node pull it by name`)
    }
    return { digest: pulled.id, from: 'registry', pushed: await this.push(ref, { private: options.private, source: 'registry' }) }
  }

  /** ImageHooks: before a start, the pinned image is in the engine (fetched when the mesh has it; else the runtime tries a registry) */
  async prepare (spec: { image: string, imageDigest?: string }, options: AbortOptions = {}): Promise<void> {
    if (spec.imageDigest === undefined) return
    if (this.readable(spec.imageDigest).length === 0) return
    await this.ensure(spec.imageDigest, { ...options, ref: spec.image })
  }

  /** ImageHooks: the fetches under way, by the services waiting on them */
  notes (): Array<{ service: string, text: string }> {
    if (this.ensuring.size === 0) return []
    const out: Array<{ service: string, text: string }> = []
    for (const service of this.init.reconcile?.desired() ?? []) {
      const digest = service.spec.imageDigest
      const fetching = digest === undefined ? undefined : this.ensuring.get(digest)
      if (fetching === undefined) continue
      const p = fetching.progress
      out.push({ service: service.id, text: `fetching image ${service.spec.image} (${digest!.slice(0, 19)}) from the mesh${p === undefined ? '' : `: ${mb(p.doneBytes)} of ${mb(p.bytes)} from ${p.holders} node(s)`}` })
    }
    return out
  }

  /** the index of a root held here, decoded (undefined when this node does not hold it) */
  async indexOf (root: string): Promise<BlobIndex | undefined> {
    try {
      return (await this.server.index(root))?.index
    } catch (err) {
      this.log.error('index %s unreadable: %s', root, errorText(err))
      return undefined
    }
  }

  emit (kind: 'image' | 'build' | 'scan' | 'image-update', subject: string, reason: string): void {
    this.init.events.emit({ time: this.init.clock.now(), node: this.init.identity.peerId, kind, subject, reason })
  }
}

/** bytes as MB with one decimal */
export function mb (bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`
}
