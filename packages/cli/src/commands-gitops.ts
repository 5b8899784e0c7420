/** desired state as files and git: export, diff, apply, sources */
import type { Command } from 'commander'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { context, type Context } from './context.js'
import { planDeploy } from './deploy.js'
import { exportFolder } from './desired/export.js'
import { loadFolder, type FolderSet } from './desired/folder.js'
import { changesAnything, renderPlan, summary } from './desired/plan.js'
import { sendChangeSet, type Declared } from './desired/send.js'
import { CliError, EXIT } from './errors.js'
import { shortId, table } from './format.js'

/** the verbs of desired state as files and git on `program` */
export function gitopsCommands (program: Command): void {
  program.command('export')
    .description('write every service of an organization as spec files (one per service or Compose project), config content beside them, never secret values')
    .argument('<dir>', 'the folder to write (created if missing); files of an earlier export that are no longer needed are removed')
    .option('--org <name>', 'the organization (default: this node\'s)')
    .addHelpText('after', '\nExamples:\n  minga export infra/apps\n  minga export --org riverside /tmp/riverside')
    .action(async (dir, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const org = options.org ?? (await ctx.api.get('/v1/status')).org
      const records = await ctx.api.get(`/v1/records?org=${encodeURIComponent(org)}`)
      const result = await exportFolder(dir, {
        org,
        records,
        configFiles: async (service) => (await ctx.api.get(`/v1/configs/${org}/${service.slice(org.length + 1)}`)).files.map(f => ({ path: f.path, content: Buffer.from(f.content, 'base64') }))
      })
      ctx.out(`${records.length} service(s) of ${org} in ${result.written.length} file(s) under ${dir}${result.removed.length > 0 ? `; removed ${result.removed.join(', ')}` : ''}`)
    })

  program.command('diff')
    .description('show what applying a folder (or one file) would change, service by service and field by field; exit 0: nothing, 1: something would change, 2: bad input')
    .argument('[dir]', 'a folder of spec and Compose files')
    .option('-f, --file <path>', 'one spec or Compose file instead of a folder')
    .option('-p, --project <name>', 'with -f and a Compose file: the project name')
    .option('--prune', 'also show the services of the organization that the folder no longer declares, as removals')
    .option('-v, --verbose', 'list unchanged services too')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  minga diff infra/apps\n  minga diff -f web.yaml\n  minga diff infra/apps --prune && echo "the mesh is as the folder says"')
    .action(async (dir, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const declared = await readDeclared(ctx, dir, options)
      const result = await usageOnRefusal(async () => await sendChangeSet(ctx, declared, { prune: options.prune === true, dryRun: true }))
      if (options.json === true) ctx.json(result)
      else ctx.out(renderPlan(result, { verbose: options.verbose === true }))
      process.exitCode = changesAnything(result) ? 1 : 0
    })

  program.command('apply')
    .description('declare every spec and Compose file of a folder as one change; with --git, follow a repository')
    .argument('[dir]', 'a folder of spec and Compose files')
    .option('--prune', 'remove the organization\'s services the folder no longer declares (with --git: those that came from this source)')
    .option('--dry-run', 'show the plan, change nothing')
    .option('--git <url>', 'a git repository (https://, ssh://, file://, or a path on the node)')
    .option('--ref <ref>', 'with --git: the branch or tag', 'main')
    .option('--path <dir>', 'with --git: the folder of the repository that holds the files', '')
    .option('--watch <interval>', 'with --git: the mesh follows the repository, polling this often (e.g. 1m); one node of the organization watches')
    .option('--name <name>', 'with --git: the source\'s name (default: the repository\'s)')
    .option('--signers <file>', 'with --git --watch: apply only commits signed by one of the SSH public keys in this file (one a line)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  minga apply infra/apps --dry-run\n  minga apply infra/apps --prune\n  minga apply --git https://git.example.org/acme/infra.git --path apps/ --watch 1m --prune')
    .action(async (dir, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      if (options.git !== undefined) return await applyGit(ctx, dir, options)
      if (dir === undefined) throw new CliError('Give a folder (minga apply infra/apps) or a repository (minga apply --git URL --watch 1m)', EXIT.usage)
      for (const flag of ['watch', 'name', 'signers'] as const) if (options[flag] !== undefined) throw new CliError(`--${flag} goes with --git`, EXIT.usage)
      const declared = await readDeclared(ctx, dir, {})
      await report(ctx, await sendChangeSet(ctx, declared, { prune: options.prune === true, dryRun: options.dryRun === true }), options.json === true)
    })

  const sources = program.command('sources')
    .description('the git repositories the mesh follows, the node watching each, and what it did last')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  minga sources\n  minga sources rm infra')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const list = await ctx.api.get('/v1/sources')
      if (options.json === true) return ctx.json(list)
      ctx.out(table(['SOURCE', 'REPOSITORY', 'REF', 'PATH', 'EVERY', 'WATCHER', 'COMMIT', 'PROBLEM'], list.map(s => [
        s.id, s.url, s.ref, s.path === '' ? '/' : s.path, `${Math.round(s.interval / 1000)}s`, s.watcher === undefined ? '-' : shortId(s.watcher),
        s.status?.commit?.slice(0, 12) ?? '-',
        s.status?.rejected !== undefined ? `commit ${s.status.rejected.commit.slice(0, 12)} refused: ${s.status.rejected.error.split('\n')[0]}` : s.status?.error ?? ''
      ])))
      for (const s of list) if (s.status?.rejected !== undefined) ctx.out(`\n${s.id}: commit ${s.status.rejected.commit} was not applied:\n${s.status.rejected.error}`)
    })
  sources.command('rm')
    .description('stop following a source; its services stay as they are')
    .argument('<name>', 'the source\'s name')
    .action(async (name, _options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      await ctx.api.delete(`/v1/sources/${encodeURIComponent(name)}`)
      ctx.out(`${name}: no longer followed`)
    })
}

async function report (ctx: Context, result: Awaited<ReturnType<typeof sendChangeSet>>, json: boolean): Promise<void> {
  if (json) { ctx.json(result); return }
  ctx.out(result.dryRun ? renderPlan(result) + '\n(dry run: nothing was changed)' : `${renderPlan({ ...result, dryRun: true }).split('\n').slice(0, -1).join('\n')}${summary(result)}`)
}

/** the folder (or -f file) as a change set for this node's organization; bad files are exit 2 */
async function readDeclared (ctx: Context, dir: string | undefined, options: { file?: string, project?: string }): Promise<Declared & { warnings?: string[] }> {
  const org = (await ctx.api.get('/v1/status')).org
  if ((dir === undefined) === (options.file === undefined)) throw new CliError('Give a folder (minga diff infra/apps) or one file (minga diff -f web.yaml)', EXIT.usage)
  if (options.file !== undefined) {
    const plan = await planDeploy({ file: options.file, project: options.project }, async () => org)
    for (const w of plan.warnings) process.stderr.write(`warning: ${w}\n`)
    return plan
  }
  let set: FolderSet
  try {
    set = await loadFolder(dir!, { org })
  } catch (err) {
    if (err instanceof Error && err.name === 'FolderError') throw new CliError(err.message, EXIT.usage)
    throw err
  }
  for (const w of set.warnings) process.stderr.write(`warning: ${w}\n`)
  return set
}

/** a change the node refuses (another org, a project conflict, a bad spec) is bad input to diff: exit 2 */
async function usageOnRefusal<T> (run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (err) {
    if (err instanceof CliError && err.exitCode === EXIT.failure) throw new CliError(err.message, EXIT.usage, err.code)
    throw err
  }
}

const exec = promisify(execFile)

/** `--git URL`: with --watch, record the source for the mesh to follow; without, clone here and apply once */
async function applyGit (ctx: Context, dir: string | undefined, options: Record<string, string | boolean | undefined>): Promise<void> {
  if (dir !== undefined) throw new CliError('Give a folder or --git, not both (--path picks the folder inside the repository)', EXIT.usage)
  const url = options.git as string
  const ref = options.ref as string
  const path = (options.path as string).replace(/^\.?\/+/, '').replace(/\/+$/, '')
  const name = (options.name as string | undefined) ?? sourceName(url)
  if (options.watch !== undefined) {
    if (options.dryRun === true) throw new CliError('--dry-run applies to one apply; to preview a repository, clone it and run minga diff on its folder', EXIT.usage)
    const signers = options.signers === undefined ? undefined : await readSigners(options.signers as string)
    const view = await ctx.api.post('/v1/sources', { name, url, ref, path, interval: options.watch as string, prune: options.prune === true, ...(signers === undefined ? {} : { signers }) })
    if (options.json === true) { ctx.json(view); return }
    ctx.out(`${view.id}: following ${url} (${ref}${path === '' ? '' : `, ${path}`}) every ${Math.round(view.interval / 1000)}s${view.prune ? ', pruning' : ''}; watched by node ${view.watcher === undefined ? '(none live)' : shortId(view.watcher)}. "minga sources" shows what it applied`)
    return
  }
  if (options.signers !== undefined) throw new CliError('--signers goes with --watch (the watching node checks each commit)', EXIT.usage)
  const work = await mkdtemp(join(tmpdir(), 'minga-git-'))
  try {
    await exec('git', ['clone', '--quiet', '--depth=1', '--branch', ref, '--', url, work], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } })
      .catch((err: Error & { stderr?: string }) => { throw new CliError(`Cannot clone ${url} (${ref}): ${(err.stderr ?? err.message).trim()}`, EXIT.failure) })
    const commit = (await exec('git', ['-C', work, 'rev-parse', 'HEAD'])).stdout.trim()
    const declared = await readDeclared(ctx, join(work, path), {})
    await report(ctx, await sendChangeSet(ctx, declared, { prune: options.prune === true, dryRun: options.dryRun === true, source: { name, commit } }), options.json === true)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** `https://host/acme/infra.git` → `infra` */
function sourceName (url: string): string {
  const last = url.replace(/\/+$/, '').split(/[/:]/).at(-1) ?? ''
  const name = last.replace(/\.git$/, '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63)
  return name === '' ? 'source' : name
}

async function readSigners (file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch((err: Error) => { throw new CliError(`Cannot read ${file}: ${err.message}`, EXIT.usage) })
  const keys = text.split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'))
  if (keys.length === 0) throw new CliError(`${file} lists no SSH public key; put one a line (ssh-ed25519 AAAA… name)`, EXIT.usage)
  return keys
}
