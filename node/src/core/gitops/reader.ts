/**
 * What the git watcher asks of the world (node/src/gitops binds it to the
 * `git` command and the files of a checkout; `MemorySourceReader` is its
 * twin for tests): the commit a source's ref names now, and the change set
 * that commit declares, its signature checked when the source lists signers.
 */
import type { ServiceSpec, SourceRecord } from '@minga/protocol'

/** a source as the reader needs it: the record and the key of its cache */
export interface SourceRef extends SourceRecord {
  org: string
  name: string
}

/** what one commit declares: its services, their secrets and config content, and the warnings its files gave */
export interface LoadedChangeSet {
  specs: ServiceSpec[]
  secrets: Array<{ service: string, name: string, value: Uint8Array }>
  /** config content to store before the services are declared */
  configs: Array<{ service: string, chunks: Uint8Array[] }>
  warnings: string[]
}

export interface SourceReader {
  /**
   * fetch the source's ref; the full commit id it names now. Throws
   * SourceFetchError (unreachable, no such ref, git missing): the next poll retries
   */
  fetch: (source: SourceRef, options: { signal?: AbortSignal }) => Promise<string>
  /**
   * the change set of `commit` under the source's path, for `org`. Throws
   * SourceCheckError when a file fails its checks or, with signers listed,
   * the commit is not signed by one of them; SourceFetchError when it cannot be read
   */
  load: (source: SourceRef, commit: string, org: string, options: { signal?: AbortSignal }) => Promise<LoadedChangeSet>
}
