/**
 * What a build needs of the world (issue 15, `minga build`): git (a source
 * resolved to a commit, its context folder) and the engine (`docker build`
 * of that context, the test command in a container of the new image). The
 * daemon binds it to the `git` command and Docker (node/src/images); unit
 * tests to a model (memory-builder.ts).
 */
import type { AbortOptions } from '../../runtime/types.js'

/**
 * where a build's source is: a folder of this node (inside a git work
 * tree), a git URL, or a git bundle carried by the mesh (its chunk root and
 * its bytes)
 */
export type BuildSourceLocation = { dir: string } | { url: string } | { bundle: string, read: () => AsyncIterable<Uint8Array> }

/** a source resolved to a commit, ready to build */
export interface SourceCheckout {
  /** the commit id built */
  commit: string
  /** the context folder in the repository ('' = its top) */
  context: string
  /** the local work tree had uncommitted changes: they are not built */
  dirty?: boolean
}

export interface ImageBuild {
  /** the Dockerfile, relative to the context */
  file: string
  args?: Record<string, string>
  /** the Dockerfile stage to build */
  target?: string
  /** the reference the engine tags the image with */
  tag: string
}

/** git and the engine, for builds (see above); each step writes its output to `log` and throws BuildError saying what failed */
export interface BuildEngine {
  /** resolves `ref` in the source to a commit, fetching it when it is remote */
  checkout: (source: BuildSourceLocation, ref: string, context: string | undefined, options?: AbortOptions) => Promise<SourceCheckout>
  /** a git bundle of `ref` of the local repository at `dir`, to send to a builder elsewhere */
  bundle: (dir: string, ref: string, options?: AbortOptions) => AsyncIterable<Uint8Array>
  /** builds the context of the checkout; the new image's id (`sha256:<hex>`) */
  build: (checkout: SourceCheckout, image: ImageBuild, log: (text: string) => void, options?: AbortOptions) => Promise<string>
  /** runs `command` with `sh -c` in a container of the image, without network; its exit code */
  test: (image: string, command: string, log: (text: string) => void, options?: AbortOptions) => Promise<number>
}
