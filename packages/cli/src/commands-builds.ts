/** build verbs: build (from git, tested, into the mesh), build ls, build logs */
import type { Command } from 'commander'
import { statSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import type { BuildBody, BuildView } from '@minga/node/api'
import { IMAGE_TIMEOUT } from './client.js'
import { collect, context, keyValues, type Context } from './context.js'
import { CliError, EXIT } from './errors.js'
import { age, shortId, table } from './format.js'

/** the build verbs on `program` (see above) */
export function buildCommands (program: Command): void {
  const build = program.command('build')
    .description('build an image from a git repository with this node\'s Docker engine (or a builder\'s), run its test, and put it into the mesh only if the test passes')
    .argument('<source>', 'a folder in a git work tree (its commit is built, offline), or a git URL (https://, ssh://, file://)')
    .option('--ref <ref>', 'the branch, tag or commit to build', 'HEAD')
    .option('--file <path>', 'the Dockerfile, relative to the source folder', 'Dockerfile')
    .option('--test <command>', 'run with sh -c in a container of the new image (no network); exit 0 = pass')
    .option('--tag <name>', 'the image\'s tag in the mesh (default: the folder\'s or repository\'s name, :latest)')
    .option('--build-arg <key=value>', 'a build argument (repeatable)', collect)
    .option('--target <stage>', 'the stage of a multi-stage Dockerfile to build')
    .option('--on <org>', 'build on a builder node of this organization (see "minga up --builder")')
    .option('--private', 'only nodes of this organization may fetch the image')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  minga build . --tag acme/web:2 --test "sh test.sh"\n  minga build https://git.example.org/acme/web.git --ref v2 --tag acme/web:2\n  minga build . --on riverside   # on a builder of riverside\n  minga build ls\n  minga build logs 3f9c0a1b2c3d4e5f')
    .action(async (source: string, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const body: BuildBody = {
        source: sourceOf(source),
        tag: options.tag ?? defaultTag(source),
        ref: options.ref,
        file: options.file,
        ...(options.test === undefined ? {} : { test: options.test }),
        ...(options.buildArg === undefined ? {} : { args: keyValues(options.buildArg, 'build-arg') }),
        ...(options.target === undefined ? {} : { target: options.target }),
        ...(options.on === undefined ? {} : { on: options.on }),
        ...(options.private === true ? { private: true } : {})
      }
      const result = await runBuild(ctx, body)
      if (options.json === true) return ctx.json(result)
      ctx.out(describeBuild(result))
    })

  build.command('ls')
    .description('list the builds of this organization (and those it ran for others): status, commit, digest, test exit code')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  minga build ls')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const builds = await ctx.api.get('/v1/builds')
      // `build` has its own --json, which commander gives the parent
      if (options.json === true || cmd.optsWithGlobals().json === true) return ctx.json(builds)
      ctx.out(table(['ID', 'STATUS', 'TAG', 'COMMIT', 'DIGEST', 'TEST', 'BUILT BY', 'TOOK', 'STARTED'], builds.map(b => [
        b.id,
        b.status,
        b.tag ?? '-',
        b.commit?.slice(0, 12) ?? '-',
        b.digest?.slice(0, 19) ?? '-',
        b.testExit === undefined ? '-' : `exit ${b.testExit}`,
        `${b.builderOrg}/${shortId(b.by)}`,
        b.durationMs === undefined ? '-' : `${(b.durationMs / 1000).toFixed(1)}s`,
        age(Date.now() - b.started)
      ])))
    })

  build.command('logs')
    .description('show a build\'s log (the build\'s output, then the test\'s), from any node of the organizations concerned')
    .argument('<id>', 'the build id (minga build ls)')
    .addHelpText('after', '\nExample:\n  minga build logs 3f9c0a1b2c3d4e5f')
    .action(async (id: string, _options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const logs = await ctx.api.get(`/v1/build-logs/${encodeURIComponent(id)}`)
      process.stdout.write(logs.log.endsWith('\n') || logs.log === '' ? logs.log : `${logs.log}\n`)
    })
}

/** runs a build through the node; a failed build is CliError with its log's last lines and the way to the whole log */
export async function runBuild (ctx: Context, body: BuildBody): Promise<BuildView> {
  const result = await ctx.api.post('/v1/builds', body, { timeoutMs: IMAGE_TIMEOUT * 2 })
  if (result.status !== 'passed') {
    const tail = result.tail.trimEnd().split('\n').slice(-20).join('\n')
    throw new CliError(`Build ${result.id} of ${body.tag} failed: ${result.error ?? 'see its log'}\n${tail}\n(the whole log: minga build logs ${result.id})`, EXIT.failure, 'BuildError')
  }
  return result
}

/** a passed build in a line */
export function describeBuild (b: BuildView): string {
  const test = b.testExit === undefined ? 'no test' : `test exit ${b.testExit}`
  const took = b.durationMs === undefined ? '' : `, ${(b.durationMs / 1000).toFixed(1)} s`
  return `build ${b.id} passed: ${b.tag ?? ''} = ${b.digest ?? ''} (commit ${b.commit?.slice(0, 12) ?? '?'}, ${test}${took}, built by ${b.builderOrg}/${shortId(b.by)})${b.dirty === true ? '\n  note: the work tree has uncommitted changes, which were not built' : ''}`
}

/** an existing folder becomes its absolute path (the node reads it); anything else is a git URL */
function sourceOf (source: string): string {
  try {
    if (statSync(source).isDirectory()) return resolve(source)
  } catch {
    // not a folder here: a URL
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(source) || /^[\w.-]+@[\w.-]+:/.test(source)) return source
  throw new CliError(`${source} is neither a folder nor a git URL; give a git repository's folder or its URL`, EXIT.usage)
}

/** the folder's or repository's name, as an image reference: `web:latest` */
function defaultTag (source: string): string {
  const name = basename(source.startsWith('/') || source.startsWith('.') ? resolve(source) : source.replace(/\.git\/?$/, '')).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
  if (name === '') throw new CliError('Give the image\'s tag with --tag NAME (e.g. acme/web:2)', EXIT.usage)
  return `${name}:latest`
}
