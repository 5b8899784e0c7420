/**
 * The git watcher's in-memory twin of a repository: refs point at commits,
 * each commit is a change set or the problem its files have. For unit tests
 * and the simulator; the real reader runs `git` (node/src/gitops).
 */
import { SourceCheckError, SourceFetchError } from '../../errors.js'
import type { LoadedChangeSet, SourceReader, SourceRef } from './reader.js'

export type MemoryCommit = LoadedChangeSet | { problem: string }

/** repositories by URL: their refs and commits; `unreachable` makes fetches fail */
export class MemorySourceReader implements SourceReader {
  readonly repos = new Map<string, { refs: Map<string, string>, commits: Map<string, MemoryCommit> }>()
  unreachable = false
  fetches = 0
  private counter = 0

  /** a new commit on `ref` of `url`; returns its id */
  commit (url: string, ref: string, content: MemoryCommit): string {
    const repo = this.repos.get(url) ?? { refs: new Map(), commits: new Map() }
    this.repos.set(url, repo)
    const id = (++this.counter).toString(16).padStart(40, '0')
    repo.commits.set(id, content)
    repo.refs.set(ref, id)
    return id
  }

  async fetch (source: SourceRef): Promise<string> {
    this.fetches++
    if (this.unreachable) throw new SourceFetchError(`Cannot fetch ${source.url}: unreachable`)
    const commit = this.repos.get(source.url)?.refs.get(source.ref)
    if (commit === undefined) throw new SourceFetchError(`${source.url} has no ref ${source.ref}`)
    return commit
  }

  async load (source: SourceRef, commit: string): Promise<LoadedChangeSet> {
    const content = this.repos.get(source.url)?.commits.get(commit)
    if (content === undefined) throw new SourceFetchError(`${source.url} has no commit ${commit}`)
    if ('problem' in content) throw new SourceCheckError(content.problem)
    return content
  }
}
