/** Compose test helpers: a project folder with files, translation, and the problems of a file that must not translate */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import * as assert from 'uvu/assert'
import { parseComposeFile, type ComposeOptions, type ComposeProject } from '../src/index.js'

const made: string[] = []
process.once('exit', () => { for (const dir of made) rmSync(dir, { recursive: true, force: true }) })

/** a fresh project folder named `name` holding these files (path → content) */
export function projectDir (files: Record<string, string | Buffer> = {}, name = 'shop'): string {
  const root = mkdtempSync(join(tmpdir(), 'minga-compose-'))
  made.push(root)
  const dir = join(root, name)
  mkdirSync(dir)
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return dir
}

export function translate (text: string, options: ComposeOptions = {}): ComposeProject {
  return parseComposeFile(text, { org: 'acme', dir: options.dir ?? projectDir(), ...options })
}

export function problemsOf (text: string, options: ComposeOptions = {}): string[] {
  try {
    translate(text, options)
  } catch (err: any) {
    assert.is(err.name, 'InvalidSpecError', err.stack)
    return err.problems
  }
  assert.unreachable(`translated, but should not have: ${text.slice(0, 200)}`)
  return []
}

/** the one spec named `name` (minga's name, project-service) */
export function specOf (project: ComposeProject, name: string): ComposeProject['specs'][number] {
  const spec = project.specs.find(s => s.name === name)
  assert.ok(spec, `no service ${name} among ${project.specs.map(s => s.name).join(', ')}`)
  return spec
}
