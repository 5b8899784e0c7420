/**
 * The files of a Compose project that a translation reads: env files, config
 * and secret files, and the files and folders that bind mounts name. Only
 * what lies inside the project folder (the Compose file's folder), after
 * following links, and within a byte and file budget: minga runs a service
 * on any node, so it carries these files with the service, never a path of
 * this machine.
 */
import { lstatSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'

/** a project file outside the project folder, missing, or over the size limits */
export class ProjectFileError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ProjectFileError'
  }
}

export interface ProjectFile {
  /** path below the folder or file that was asked for ('' for that file itself) */
  relative: string
  content: Buffer
  /** permission bits of the file */
  mode: number
}

/** how a Compose file names something outside its folder: an absolute path, `..`, `~` */
export function isOutside (written: string): boolean {
  return written.startsWith('~') || isAbsolute(written) || written.split(/[/\\]/).includes('..')
}

/** reads files of the project folder only (a path that leaves it is refused), bounded in count and bytes */
export class ProjectFiles {
  readonly dir: string

  /** `dir`: the project folder; undefined when there is none (text given without a file), and then every read fails */
  constructor (dir: string | undefined) {
    this.dir = dir === undefined ? '' : safeRealpath(resolve(dir)) ?? resolve(dir)
  }

  /** the real path of a path written in the Compose file, if it is inside the project folder */
  locate (written: string): { path: string } | { problem: string } {
    if (this.dir === '') return { problem: `${JSON.stringify(written)} cannot be read: the Compose file was given without its folder` }
    const path = written.startsWith('~') ? written : resolve(this.dir, written)
    const real = written.startsWith('~') ? undefined : safeRealpath(path)
    const inside = real !== undefined && (real === this.dir || real.startsWith(this.dir + sep))
    if (real === undefined && !written.startsWith('~') && isInside(this.dir, path)) return { problem: `${JSON.stringify(written)} does not exist in the project folder ${this.dir}` }
    if (!inside) return { problem: `${JSON.stringify(written)} is outside the project folder ${this.dir}; minga runs the service on any node and never mounts a path of this machine` }
    return { path: real }
  }

  /** one file of at most `maxBytes` */
  read (written: string, maxBytes: number): Buffer {
    const found = this.locate(written)
    if ('problem' in found) throw new ProjectFileError(found.problem)
    const info = statSync(found.path)
    if (!info.isFile()) throw new ProjectFileError(`${JSON.stringify(written)} is not a file`)
    if (info.size > maxBytes) throw new ProjectFileError(`${JSON.stringify(written)} is ${info.size} bytes; at most ${maxBytes}`)
    return readFileSync(found.path)
  }

  /**
   * a file, or every file below a folder (links followed, but only within
   * the project), at most `maxFiles` files and `maxBytes` bytes together
   */
  collect (written: string, limits: { maxBytes: number, maxFiles: number }): ProjectFile[] {
    const found = this.locate(written)
    if ('problem' in found) throw new ProjectFileError(found.problem)
    const out: ProjectFile[] = []
    let bytes = 0
    const visit = (path: string, rel: string, depth: number): void => {
      const real = safeRealpath(path)
      if (real === undefined || !isInside(this.dir, real)) throw new ProjectFileError(`${JSON.stringify(join(written, rel))} links outside the project folder`)
      const info = statSync(real)
      if (info.isDirectory()) {
        if (depth > 16) throw new ProjectFileError(`${JSON.stringify(written)} nests folders more than 16 deep`)
        for (const name of readdirSync(real).sort()) visit(join(path, name), rel === '' ? name : `${rel}/${name}`, depth + 1)
        return
      }
      if (!info.isFile()) throw new ProjectFileError(`${JSON.stringify(join(written, rel))} is neither a file nor a folder`)
      if (out.length >= limits.maxFiles) throw new ProjectFileError(`${JSON.stringify(written)} holds more than ${limits.maxFiles} files; a service carries at most ${limits.maxFiles}`)
      bytes += info.size
      if (bytes > limits.maxBytes) throw new ProjectFileError(`${JSON.stringify(written)} holds more than ${limits.maxBytes} bytes; a service carries at most ${limits.maxBytes} bytes of files (put larger content into the image or a volume)`)
      out.push({ relative: rel, content: readFileSync(real), mode: info.mode & 0o7777 })
    }
    visit(found.path, '', 0)
    return out
  }

  /** whether a written path names a folder (false when it cannot be read) */
  isFolder (written: string): boolean {
    const found = this.locate(written)
    return !('problem' in found) && lstatSync(found.path).isDirectory()
  }
}

function isInside (dir: string, path: string): boolean {
  const rel = relative(dir, path)
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
}

function safeRealpath (path: string): string | undefined {
  try {
    return realpathSync(path)
  } catch {
    return undefined
  }
}
