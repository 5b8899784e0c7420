/**
 * What the images room (issue 15) needs of the world, as small interfaces:
 * a store of chunks on this node (`ChunkStore`, on disk in production,
 * in memory for tests and the simulator) and the node's container engine's
 * images (`ImageEngine`: Docker's save, load, inspect and pull; or a model).
 * The room itself (fetching, serving, pushing, pinning) is sans I/O.
 */
import type { Finding } from '@minga/protocol'
import type { AbortOptions } from '../../runtime/types.js'

/**
 * Chunks by the sha256 (hex) of their bytes, and the roots (blob indexes)
 * this node holds whole. A chunk is stored only when its bytes match its
 * name, and read back only when they still do: a damaged copy is dropped and
 * counted, never served
 */
export interface ChunkStore {
  has: (digest: string) => boolean
  /** the chunk's bytes, checked; undefined when missing or found damaged (then dropped) */
  get: (digest: string) => Promise<Uint8Array | undefined>
  /** stores it durably; throws ChunkMismatchError (and stores nothing) when the bytes are not `digest`'s */
  put: (digest: string, bytes: Uint8Array) => Promise<void>
  delete: (digest: string) => Promise<void>
  /** every chunk held */
  digests: () => Iterable<string>
  /** roots whose every chunk is held, as marked */
  roots: () => string[]
  markRoot: (root: string) => Promise<void>
  unmarkRoot: (root: string) => Promise<void>
  usage: () => { chunks: number, bytes: number }
  /** chunks refused because their bytes did not match their digest (on put or on read) */
  readonly refused: number
}

/** an image as the engine knows it */
export interface EngineImage {
  /** `sha256:<hex>`: the sha256 of its config */
  id: string
  /** `repo:tag` references that name it on this engine */
  tags: string[]
  /** `repo@sha256:…` of the registries it came from */
  repoDigests: string[]
  /** diff ids of its layers (`sha256:<hex>`), base first */
  layers: string[]
  /** bytes, as the engine counts them */
  size: number
}

/** one file of `docker save`'s output that makes the image: its config, or a layer's tar */
export interface SavedFile {
  role: 'config' | 'layer'
  name: string
  size: number
  data: AsyncIterable<Uint8Array>
}

/** a file given to the engine to load: its bytes from the store, or absent when the engine has that layer already */
export interface LoadFile {
  digest: string
  size: number
  data?: () => AsyncIterable<Uint8Array>
}

/** the node's container engine, as far as images go */
export interface ImageEngine {
  /** the image that `ref` (a reference or an id) names here, or undefined */
  inspect: (ref: string, options?: AbortOptions) => Promise<EngineImage | undefined>
  /** the image's files as `docker save` writes them, in its order (the config may come after the layers) */
  save: (id: string, options?: AbortOptions) => AsyncIterable<SavedFile>
  /**
   * loads an image made of this config and layers (base first) and tags it;
   * a layer without `data` is one `layerChains` said the engine has
   */
  load: (image: { config: Uint8Array, layers: LoadFile[], tags: string[] }, options?: AbortOptions) => Promise<void>
  /** chain ids (`sha256:<hex>`) of the layer stacks the engine holds */
  layerChains: (options?: AbortOptions) => Promise<Set<string>>
  /** pulls `ref` from its registry; ImageNotFoundError when none serves it */
  pull: (ref: string, options?: AbortOptions) => Promise<EngineImage>
  /** the registry's current digest of `ref` without pulling it, or undefined when no registry answers */
  registryDigest: (ref: string, options?: AbortOptions) => Promise<string | undefined>
}

/** what the reconcile loop asks of the images room before it starts a replica */
export interface ImageHooks {
  /** the spec's pinned image is in the engine: fetched from the mesh and loaded when missing; throws when it cannot be now */
  prepare: (spec: { image: string, imageDigest?: string }, options?: AbortOptions) => Promise<void>
  /** fetches under way, for `minga ps`: the services waiting on each */
  notes: () => Array<{ service: string, text: string }>
}

/** what a scanner found in one image */
export interface ScannerReport {
  /** the scanner and its version, as it says: `trivy 0.50.1` */
  scanner: string
  findings: Finding[]
  /** when its vulnerability database was built, if it says (ms since epoch) */
  dbBuilt?: number
}

/** a vulnerability database carried by the mesh, for the scanner to use */
export interface ScannerDb {
  /** its chunk index */
  root: string
  /** ms since epoch */
  built: number
  /** the file's bytes */
  read: () => AsyncIterable<Uint8Array>
}

/** the scanners this node can run: Trivy or Grype on PATH, or the organization's command */
export interface Scanner {
  /** the kind of scanner that would scan for an org with this command (`trivy`, `grype`, `command`), or undefined: none is configured */
  find: (command?: string) => Promise<'trivy' | 'grype' | 'command' | undefined>
  /** scans the engine's image `id`; throws ScanError saying what failed */
  scan: (id: string, options: AbortOptions & { command?: string, db?: ScannerDb }) => Promise<ScannerReport>
}
