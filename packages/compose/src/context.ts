/**
 * The state of one translation: the project, its files and variables, the
 * problems and warnings found so far (each `path: text`, with the Compose
 * path the user wrote), and, per service, which minga field came from which
 * Compose field, so that minga's own checks report the Compose field.
 */
import type { Lookup } from './interpolate.js'
import type { ProjectFiles } from './project-files.js'

export interface ProjectContext {
  /** the project's minga name */
  name: string
  files: ProjectFiles
  lookup: Lookup
  problems: string[]
  warnings: string[]
  /** top-level `volumes:`, by Compose name */
  volumes: Map<string, unknown>
  /** top-level `configs:` and `secrets:`, by Compose name */
  configs: Map<string, unknown>
  secrets: Map<string, unknown>
}

/**
 * What one service's translation gathers: minga field paths mapped to the Compose fields they came from (so
 * minga's problems are reported where the user wrote them), warnings, and problems
 */
export class Translation {
  /** minga field path (relative to the service) → Compose field path (relative to the service) */
  readonly paths: Array<[string, string]> = []

  constructor (readonly prefix: string, readonly project: ProjectContext) {}

  problem (path: string, text: string): void {
    this.project.problems.push(`${this.at(path)}: ${text}`)
  }

  warn (path: string, text: string): void {
    this.project.warnings.push(`${this.at(path)}: ${text}`)
  }

  /** the minga field `minga` came from the Compose field `compose` */
  map (minga: string, compose: string): void {
    this.paths.push([minga, compose])
  }

  /** a minga path (`update.maxUnavailable`) as the Compose path it came from (`deploy.update_config.parallelism`) */
  composePath (minga: string): string {
    let best: [string, string] | undefined
    for (const pair of this.paths) {
      const [from] = pair
      const fits = minga === from || minga.startsWith(`${from}.`) || minga.startsWith(`${from}[`)
      if (fits && (best === undefined || from.length > best[0].length)) best = pair
    }
    if (best === undefined) return minga
    return best[1] + minga.slice(best[0].length)
  }

  at (path: string): string {
    return path === '' ? this.prefix : `${this.prefix}.${path}`
  }
}
